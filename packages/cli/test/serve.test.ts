// `onnx-vae serve` through the real executable: help, then a server on 127.0.0.1 that answers, and on SIGTERM
// finishes the requests in flight and exits 0.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { runCli } from '../src/run';

const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'packages/cli/dist/main.js');
const KL_F8 = join(ROOT, 'models/kl-f8');

describe('onnx-vae serve', () => {
  it('lists its options in its help', async () => {
    let out = '';
    const code = await runCli(['serve', '--help'], { stdout: { write: (text: string) => (out += text) }, stderr: { write: () => true } }, '0.1.0');
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: onnx-vae serve <model> \[--port 8080\]/);
    for (const option of ['--port N', '--host HOST', '--workers N', '--max-delay-ms MS', '--max-queue N', '--timeout-ms MS', '--max-batch N'])
      expect(out).toContain(option);
  });

  it('serves, and on SIGTERM finishes the requests in flight and exits 0', async () => {
    const args = [MAIN, 'serve', KL_F8, '--port', '0', '--workers', '1', '--threads', '1', '--max-batch', '1', '--log-level', 'warn'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((done, fail) => {
        let text = '';
        const timer = setTimeout(() => fail(new Error(`no URL within 30 s: ${text}`)), 30_000);
        child.stderr.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /serving "kl-f8" at (http:\/\/127\.0\.0\.1:\d+) on onnxruntime-node \(cpu\) in 1 worker thread x 1 intra-op thread/.exec(text);
          if (match) {
            clearTimeout(timer);
            done(match[1]!);
          }
        });
      });
      // 192x192 decodes: long enough that the three requests are all in before the first is answered.
      const body = JSON.stringify({ data: Array.from({ length: 4 * 24 * 24 }, (_, i) => Math.sin(i)), dims: [1, 4, 24, 24] });
      const inFlight = Array.from({ length: 3 }, () =>
        fetch(`${url}/v1/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.status),
      );
      // One decode runs and two wait in the queue: all three are in flight.
      const queued = async (): Promise<number> => ((await (await fetch(`${url}/readyz`)).json()) as { queued: number }).queued;
      for (let waited = 0; (await queued()) !== 2; waited += 10) {
        if (waited > 10_000) throw new Error('the requests did not reach the queue within 10 s');
        await new Promise((done) => setTimeout(done, 10));
      }
      const exit = new Promise<number | null>((done) => child.once('exit', done));
      child.kill('SIGTERM');
      expect(await Promise.all(inFlight)).toEqual([200, 200, 200]);
      expect(await exit).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
