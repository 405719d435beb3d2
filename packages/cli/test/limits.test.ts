/**
 * The CLI's resource limits: limit flags, LIMIT_EXCEEDED with exit code 2, and the checks on -o and --preset
 * (the API's limits are tested in packages/node/test/limits.test.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { VaeTensor, encodeLatentFile } from '@onnx-vae/core';
import { decoderFingerprint, encodeNpy, loadVae } from '@onnx-vae/node';
import type { NodeVae } from '@onnx-vae/node';
import { runCli } from '../src/run';

const ROOT = resolve(__dirname, '../../..');
const KL_F8 = join(ROOT, 'models/kl-f8');
const MNIST = join(ROOT, 'models/mnist-vae');

async function cli(args: readonly string[]): Promise<{ status: number; stderr: string }> {
  let stderr = '';
  const status = await runCli(args, { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t), isTTY: false } }, '0.0.0');
  return { status, stderr };
}

let dir: string;
let klf8: NodeVae;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-vae-cli-limits-'));
  klf8 = await loadVae(KL_F8, { intraOpNumThreads: 1 });
});
afterAll(async () => {
  await klf8.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('the CLI', () => {
  it.each([
    ['generate -n 1000000000', ['generate', MNIST, '-n', '1000000000', '-o', 'OUT/g.png'], 'maxDraws'],
    ['score --samples 1000000000', ['score', MNIST, 'X', '--samples', '1000000000'], 'maxSamples'],
    ['score --samples 3000000000', ['score', MNIST, 'X', '--samples', '3000000000'], 'maxSamples'],
    ['decompress of the latent bomb without --tile', ['decompress', KL_F8, 'BOMB', '-o', 'OUT/o.png'], 'maxUntiledPixels'],
    [
      'decompress --tile --max-output-pixels 1000',
      ['decompress', KL_F8, 'BOMB', '-o', 'OUT/o.png', '--tile', '--max-output-pixels', '1000'],
      'maxOutputPixels',
    ],
    ['compress --max-pixels 100', ['compress', KL_F8, 'PNG', '-o', 'OUT/o.vlat', '--max-pixels', '100'], 'maxInputPixels'],
    ['compress --max-untiled-pixels 100', ['compress', KL_F8, 'PNG', '-o', 'OUT/o.vlat', '--max-untiled-pixels', '100'], 'maxUntiledPixels'],
  ])('%s exits 2 with LIMIT_EXCEEDED', async (_, args, limit) => {
    const x = join(dir, 'x.npy');
    await writeFile(x, encodeNpy(new VaeTensor(new Float32Array(784).fill(0.5), [1, 784])));
    const bomb = join(dir, 'bomb.vlat');
    await writeFile(
      bomb,
      encodeLatentFile(new VaeTensor(new Float32Array(4 * 512 * 512), [1, 4, 512, 512]), { modelFingerprint: await decoderFingerprint(KL_F8, klf8.manifest) }),
    );
    const png = join(dir, 'in.png');
    await sharp({ create: { width: 40, height: 32, channels: 3, background: { r: 90, g: 120, b: 200 } } })
      .png()
      .toFile(png);
    const { status, stderr } = await cli(args.map((a) => a.replace('OUT', dir).replace(/^X$/, x).replace('BOMB', bomb).replace('PNG', png)));
    expect(stderr).toContain('onnx-vae: error [LIMIT_EXCEEDED]');
    expect(stderr).toContain(limit);
    expect(status).toBe(2);
  });

  it('refuses a bad limit flag, info --preset nope, and -o naming a folder, with exit 2', async () => {
    expect((await cli(['generate', MNIST, '--max-draws', '0', '-o', join(dir, 'g.png')])).stderr).toContain(
      'Expected --max-draws to be a positive integer (draws) or "none" but received "0".',
    );
    const info = await cli(['info', MNIST, '--preset', 'nope']);
    expect(info.status).toBe(2);
    expect(info.stderr).toContain('error [INVALID_OPTION]: Unknown preset "nope"');
    const withManifest = await cli(['info', MNIST, '--preset', 'sd-1']);
    expect(withManifest.stderr).toContain('"preset" describes graphs given without a manifest; this model comes with one.');
    for (const command of ['compress', 'decompress'] as const) {
      const folder = join(dir, command === 'compress' ? 'x.vlat' : 'x.png');
      await mkdir(folder, { recursive: true });
      const run = await cli([command, KL_F8, join(dir, 'whatever'), '-o', folder]);
      expect(run.stderr).toContain(`error [INVALID_OPTION]: Cannot write -o ${folder}: it is a folder; name a file in it instead.`);
      expect(run.status).toBe(2);
    }
  });
});
