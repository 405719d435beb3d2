// The browser tests (packages/web/test/browser/run.mjs: the contract suite, mnist-vae, fetch loading and the canvas codec in
// headless Debian Chromium, on wasm and on WebGPU/SwiftShader) as part of `pnpm test`. They skip, saying so, where
// /usr/bin/chromium is missing (CI: apt-get install -y chromium).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);

interface Result {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped' | 'known-failure';
  readonly error?: string;
}
interface Run {
  readonly device: string;
  readonly results: readonly Result[];
}

if (!available) {
  console.warn(`Browser tests skipped: ${CHROMIUM} is missing. Install Debian's chromium (apt-get install -y chromium) to run @onnx-vae/web in a real browser on wasm and WebGPU.`);
}

(available ? describe : describe.skip)('@onnx-vae/web in headless Chromium (packages/web/test/browser/run.mjs)', () => {
  let runs: Run[] = [];
  let output = '';
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-vae-browser-'));
    const file = join(dir, 'results.json');
    try {
      output = await new Promise<string>((resolve) => {
        execFile(process.execPath, [join(ROOT, 'packages', 'web', 'test', 'browser', 'run.mjs'), '--json', file], { cwd: ROOT, timeout: 420_000, maxBuffer: 16 << 20 }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`));
      });
      runs = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).runs ?? []) : [];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 430_000);

  it.each(['wasm', 'webgpu'])('%s: the contract suite, mnist-vae and the page checks pass', (device) => {
    const run = runs.find((r) => r.device === device);
    if (!run) throw new Error(`no results from the ${device} page; the runner said:\n${output.slice(-4000)}`);
    const failed = run.results.filter((r) => r.status === 'failed').map((r) => `${r.name}: ${r.error}`);
    expect(failed).toEqual([]);
    expect(run.results.filter((r) => r.status === 'passed').length).toBeGreaterThan(20);
  });
});
