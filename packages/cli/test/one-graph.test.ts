// The CLI on a decoder-only model (kl-f8's decoder.onnx with a manifest without "encoder"): info says which graphs
// exist, decode works, and encode fails with exit 2 and the typed GRAPH_MISSING error.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaeTensor } from '@onnx-vae/core';
import { encodeNpy, readNpy } from '@onnx-vae/node';
import { testFixtures } from '@onnx-vae/core/testing';
import { runCli } from '../src/run';

const KL_F8 = testFixtures(__dirname).model('kl-f8');

async function run(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(
    args,
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t), isTTY: false } },
    '0.1.0',
  );
  return { status, stdout, stderr };
}

describe('the CLI on a decoder-only model', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-cli-one-graph-'));
    model = join(dir, 'decoder-only');
    const manifest = JSON.parse(await readFile(join(KL_F8, 'vae.json'), 'utf8')) as Record<string, unknown>;
    delete manifest.encoder;
    await mkdir(model);
    await writeFile(join(model, 'vae.json'), JSON.stringify(manifest));
    await copyFile(join(KL_F8, 'decoder.onnx'), join(model, 'decoder.onnx'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('info says the encoder is missing and what works; --json has graphs.encoder null', async () => {
    const text = await run(['info', model, '--threads', '1']);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(
      '\nencoder     none: a decoder-only model (decode and generate work; encode, reconstruct, score and compress need an encoder)\n',
    );
    expect(text.stdout).toMatch(/\ndecoder {5}decoder\.onnx, /);
    expect(text.stdout).toContain('check       the manifest matches the graphs');
    const json = await run(['info', model, '--json', '--threads', '1']);
    const info = JSON.parse(json.stdout) as { graphs: { encoder: unknown; decoder: { file: string } } };
    expect(info.graphs.encoder).toBeNull();
    expect(info.graphs.decoder.file).toBe('decoder.onnx');
  });

  it('decodes, and encode exits 2 with GRAPH_MISSING', async () => {
    const z = join(dir, 'z.npy');
    await writeFile(z, encodeNpy(new VaeTensor(new Float32Array(4 * 2 * 2).fill(0.1), [1, 4, 2, 2])));
    const decoded = await run(['decode', model, z, '-o', join(dir, 'x.npy'), '--threads', '1']);
    expect(decoded.status).toBe(0);
    expect(readNpy(await readFile(join(dir, 'x.npy'))).dims).toEqual([1, 3, 16, 16]);
    const encoded = await run(['encode', model, join(dir, 'x.npy'), '-o', join(dir, 'z2.npy'), '--threads', '1']);
    expect(encoded.status).toBe(2);
    expect(encoded.stderr).toMatch(
      /^onnx-vae: error \[GRAPH_MISSING\]: encode\(\) needs the encoder, but the model "kl-f8" has no encoder \(a decoder-only model/,
    );
    expect(encoded.stderr).not.toMatch(/\n\s+at /);
  });
});
