/**
 * Resource limits in Node: loadVae and per-call `limits`, the image pixel limits (sharp and the decoded size), file
 * size limits, the latent bomb, work limits (n, samples), the option checks of issue 10, and the CLI's flags and exit
 * codes. The memory-bounded bomb runs are in bombs.test.ts.
 */
import { constants } from 'node:fs';
import { access, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { LimitExceededError, VaeTensor, decodeLatentFile, encodeLatentFile, padToMultiple } from '@onnx-vae/core';
import { rejectionOf } from '../../core/test/error-of';
import { loadVae } from '../src/load';
import { nodeImageCodec, readImageSize } from '../src/image-codec';
import { readInputFile } from '../src/image-io';
import { writeFileAtomic } from '../src/files';
import { decoderFingerprint } from '../src/fingerprint';
import { runCli } from '../src/cli/run';
import type { NodeVae } from '../src/load';

const ROOT = resolve(__dirname, '../../..');
const KL_F8 = join(ROOT, 'models/kl-f8');
const MNIST = join(ROOT, 'models/mnist-vae');
const MLP = join(ROOT, 'models/fixtures/mlp-probs');

async function cli(args: readonly string[]): Promise<{ status: number; stderr: string }> {
  let stderr = '';
  const status = await runCli(args, { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t), isTTY: false } }, '0.0.0');
  return { status, stderr };
}

function pattern(width: number, height: number, channels: 1 | 3 = 3): Buffer {
  const raw = Buffer.alloc(width * height * channels);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37 + (i >> 7)) & 255;
  return raw;
}

let dir: string;
let klf8: NodeVae;
let mnist: NodeVae;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-vae-limits-'));
  [klf8, mnist] = await Promise.all([loadVae(KL_F8, { intraOpNumThreads: 1 }), loadVae(MNIST, { intraOpNumThreads: 1 })]);
});
afterAll(async () => {
  await Promise.all([klf8.dispose(), mnist.dispose()]);
  await rm(dir, { recursive: true, force: true });
});

describe('limits on the API', () => {
  it('loadVae takes limits and refuses bad ones with INVALID_OPTION', async () => {
    const vae = await loadVae(MLP, { limits: { maxDraws: 3 } });
    expect(vae.limits.maxDraws).toBe(3);
    expect(() => vae.sample({ n: 4 })).toThrow(LimitExceededError);
    expect(vae.sample({ n: 4, limits: { maxDraws: 4 } }).dims).toEqual([4, 2]);
    await vae.dispose();
    expect((await rejectionOf(loadVae(MLP, { limits: { maxDraws: -1 } })))?.code).toBe('INVALID_OPTION');
    expect((await rejectionOf(loadVae(MLP, { limits: { nope: 1 } as never })))?.message).toContain('Unknown limit "nope"');
  });

  it('refuses an image over maxInputPixels from its header, before decoding it', async () => {
    const png = await sharp(pattern(64, 48), { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer();
    const error = await rejectionOf(klf8.encode(png, { limits: { maxInputPixels: 1000 } }));
    expect(error?.code).toBe('LIMIT_EXCEEDED');
    expect(error?.message).toBe('The image image 0 (64x48) is 3,072 pixels, over the limit maxInputPixels of 1,000; raise it with the "limits.maxInputPixels" option (CLI --max-pixels).');
    expect((await rejectionOf(klf8.reconstruct(png, { tiling: true, limits: { maxInputPixels: 1000 } })))?.code).toBe('LIMIT_EXCEEDED');
    expect((await klf8.encode(png, { limits: { maxInputPixels: 3072 } })).mean.dims).toEqual([1, 4, 6, 8]);
  });

  it('refuses an untiled encode over maxUntiledPixels and points to tiling, which then runs', async () => {
    const png = await sharp(pattern(64, 64), { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
    const error = await rejectionOf(klf8.encode(png, { limits: { maxUntiledPixels: 1024 } }));
    expect(error?.code).toBe('LIMIT_EXCEEDED');
    expect((error?.error as LimitExceededError).limit).toBe('maxUntiledPixels');
    expect(error?.message).toContain('tile it (`tiling: true`, CLI `--tile`)');
    const tensor = new VaeTensor(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]);
    expect((await rejectionOf(klf8.encode(tensor, { limits: { maxUntiledPixels: 1024 } })))?.code).toBe('LIMIT_EXCEEDED');
    const tiled = await klf8.encode(png, { tiling: { tileSize: 32, overlap: 8 }, limits: { maxUntiledPixels: 1024 } });
    expect(tiled.mean.dims).toEqual([1, 4, 8, 8]);
  });

  it('refuses the latent bomb: an untiled decode of [1, 4, 512, 512] before the decoder runs, naming tiling', async () => {
    const started = Date.now();
    const error = await rejectionOf(klf8.decode(new VaeTensor(new Float32Array(4 * 512 * 512), [1, 4, 512, 512])));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error?.message).toBe(
      'The decoded output of latents [1, 4, 512, 512] without tiling is 16,777,216 pixels, over the limit maxUntiledPixels of 4,194,304; tile it (`tiling: true`, CLI `--tile`), or raise it with the "limits.maxUntiledPixels" option (CLI --max-untiled-pixels).',
    );
    const tiledError = await rejectionOf(klf8.decode(new VaeTensor(new Float32Array(4 * 64 * 64), [1, 4, 64, 64]), { tiling: true, limits: { maxOutputPixels: 1000 } }));
    expect((tiledError?.error as LimitExceededError).limit).toBe('maxOutputPixels');
  });

  it('bounds n, samples and batch items with LIMIT_EXCEEDED, never a RangeError', async () => {
    const x = new VaeTensor(new Float32Array(784).fill(0.5), [1, 784]);
    for (const [call, limit] of [
      [() => mnist.sample({ n: 1e9 }), 'maxDraws'],
      [() => mnist.generate({ n: 1e9 }), 'maxDraws'],
      [() => mnist.score(x, { samples: 1e9 }), 'maxSamples'],
      [() => mnist.score(x, { samples: 2 ** 31 }), 'maxSamples'],
      [() => mnist.score(x, { samples: 2 ** 40 }), 'maxSamples'],
      [() => mnist.score(new VaeTensor(new Float32Array(784 * 2).fill(0.5), [2, 784]), { samples: 3, limits: { maxScoreRows: 5 } }), 'maxScoreRows'],
      [() => mnist.encode(new VaeTensor(new Float32Array(784 * 4), [4, 784]), { limits: { maxBatchItems: 3 } }), 'maxBatchItems'],
      [() => mnist.decode(new VaeTensor(new Float32Array(50 * 4), [4, 50]), { limits: { maxBatchItems: 3 } }), 'maxBatchItems'],
    ] as const) {
      const error = await rejectionOf(Promise.resolve().then(call as () => unknown));
      expect(error?.error).toBeInstanceOf(LimitExceededError);
      expect((error?.error as LimitExceededError).limit).toBe(limit);
    }
  });

  it.each([
    ['{ height: -1, width: -1 }', { height: -1, width: -1 }],
    ['{ height: 1.5, width: 2 }', { height: 1.5, width: 2 }],
    ['"big"', 'big'],
  ])('decode refuses size %s with INVALID_OPTION', async (_, size) => {
    const z = new VaeTensor(new Float32Array(4 * 4 * 4), [1, 4, 4, 4]);
    const error = await rejectionOf(klf8.decode(z, { size } as never));
    expect(error?.code).toBe('INVALID_OPTION');
    expect(error?.message).toContain('Expected "size" to be { height, width } with positive integers');
  });

  it.each([['encode'], ['decode'], ['reconstruct']] as const)('%s refuses tiling: "yes" with INVALID_OPTION', async (method) => {
    const input = method === 'decode' ? new VaeTensor(new Float32Array(4 * 16), [1, 4, 4, 4]) : new VaeTensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
    const error = await rejectionOf((klf8[method] as (x: unknown, o: unknown) => Promise<unknown>).call(klf8, input, { tiling: 'yes' }));
    expect(error?.code).toBe('INVALID_OPTION');
    expect(error?.message).toContain('Expected "tiling" to be true, false or an object of tile settings');
  });
});

describe('streamed tiled reads', () => {
  const tiling = { tileSize: 64, overlap: 16 };
  async function reference(bytes: Buffer, fit: 'pad' | 'crop' | 'resize'): Promise<Float32Array> {
    const tensor = await nodeImageCodec.read([bytes], klf8.manifest, { fit, multiple: 8 });
    return (await klf8.encode(padToMultiple(tensor, 8, 'NCHW').tensor, { tiling })).mean.data;
  }
  const W = 203;
  const H = 157;
  const images: Record<string, () => Promise<Buffer>> = {
    'an 8-bit RGB PNG': () => sharp(pattern(W, H), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer(),
    'an EXIF-rotated JPEG': () => sharp(pattern(W, H), { raw: { width: W, height: H, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    'a 16-bit PNG': () => sharp(pattern(W, H), { raw: { width: W, height: H, channels: 3 } }).toColourspace('rgb16').png().toBuffer(),
    'a grey PNG with alpha': () => sharp(pattern(W, H), { raw: { width: W, height: H, channels: 3 } }).toColourspace('b-w').ensureAlpha(0.5).png().toBuffer(),
  };
  it.each(Object.keys(images).flatMap((name) => (['pad', 'crop', 'resize'] as const).map((fit) => [name, fit] as const)))('equal the whole-image read for %s with fit %s', async (name, fit) => {
    const bytes = await images[name]!();
    const streamed = await klf8.encode(bytes, { fit, tiling });
    expect(Array.from(streamed.mean.data)).toEqual(Array.from(await reference(bytes, fit)));
  });

  it('crop a padded image back in reconstruct, and read a batch of images one by one', async () => {
    const bytes = await images['an 8-bit RGB PNG']!();
    const x = await klf8.reconstruct([bytes, bytes], { tiling: true });
    expect(x.dims).toEqual([2, 3, H, W]);
    expect(await readImageSize(bytes)).toEqual({ width: W, height: H });
  });
});

describe('file size limits', () => {
  it('readInputFile refuses a file over maxFileBytes, and reads a device only up to the limit', async () => {
    const path = join(dir, 'big.npy');
    await writeFile(path, Buffer.alloc(4096));
    const error = await rejectionOf(readInputFile(path, { ...klf8.limits, maxFileBytes: 1000 }));
    expect(error?.message).toBe(`The input file ${path} is 4,096 bytes, over the limit maxFileBytes of 1,000; raise it with the "limits.maxFileBytes" option (CLI --max-file-bytes).`);
    const zero = await rejectionOf(readInputFile('/dev/zero', { ...klf8.limits, maxFileBytes: 3 << 20 }));
    expect(zero?.code).toBe('LIMIT_EXCEEDED');
    expect(zero?.message).toContain('(not a regular file; read so far)');
  });

  it('loadVae refuses a manifest over maxManifestBytes or nested 200,000 levels, and a graph over maxGraphBytes', async () => {
    const model = join(dir, 'model');
    await cp(MLP, model, { recursive: true });
    expect((await rejectionOf(loadVae(model, { limits: { maxGraphBytes: 100 } })))?.message).toContain('over the limit maxGraphBytes of 100');
    expect((await rejectionOf(loadVae(model, { limits: { maxManifestBytes: 100 } })))?.message).toContain('over the limit maxManifestBytes of 100');
    const manifest = JSON.parse(await readFile(join(model, 'vae.json'), 'utf8'));
    await writeFile(join(model, 'vae.json'), JSON.stringify(manifest).replace(/"name":"[^"]*"/, `"name":${'['.repeat(200000)}${']'.repeat(200000)}`));
    const deep = await rejectionOf(loadVae(model, { limits: { maxManifestBytes: 1e6 } }));
    expect(deep?.code).toBe('LIMIT_EXCEEDED');
    expect((deep?.error as LimitExceededError).limit).toBe('maxJsonDepth');
  });

  it('decodeLatentFile bounds the inflated payload with maxFileBytes', async () => {
    const fingerprint = await decoderFingerprint(KL_F8, klf8.manifest);
    const file = encodeLatentFile(new VaeTensor(new Float32Array(4 * 512 * 512), [1, 4, 512, 512]), { modelFingerprint: fingerprint });
    expect(file.length).toBeLessThan(4000);
    const error = await rejectionOf(Promise.resolve().then(() => decodeLatentFile(file, { limits: { maxFileBytes: 1 << 20 } })));
    expect(error?.message).toBe('The decompressed payload of the .vlat file is 2,097,152 bytes, over the limit maxFileBytes of 1,048,576; raise it with the "limits.maxFileBytes" option (CLI --max-file-bytes).');
  });
});

describe('the CLI', () => {
  it.each([
    ['generate -n 1000000000', ['generate', MNIST, '-n', '1000000000', '-o', 'OUT/g.png'], 'maxDraws'],
    ['score --samples 1000000000', ['score', MNIST, 'X', '--samples', '1000000000'], 'maxSamples'],
    ['score --samples 3000000000', ['score', MNIST, 'X', '--samples', '3000000000'], 'maxSamples'],
    ['decompress of the latent bomb without --tile', ['decompress', KL_F8, 'BOMB', '-o', 'OUT/o.png'], 'maxUntiledPixels'],
    ['decompress --tile --max-output-pixels 1000', ['decompress', KL_F8, 'BOMB', '-o', 'OUT/o.png', '--tile', '--max-output-pixels', '1000'], 'maxOutputPixels'],
    ['compress --max-pixels 100', ['compress', KL_F8, 'PNG', '-o', 'OUT/o.vlat', '--max-pixels', '100'], 'maxInputPixels'],
    ['compress --max-untiled-pixels 100', ['compress', KL_F8, 'PNG', '-o', 'OUT/o.vlat', '--max-untiled-pixels', '100'], 'maxUntiledPixels'],
  ])('%s exits 2 with LIMIT_EXCEEDED', async (_, args, limit) => {
    const x = join(dir, 'x.npy');
    const { encodeNpy } = await import('../src/npy');
    await writeFile(x, encodeNpy(new VaeTensor(new Float32Array(784).fill(0.5), [1, 784])));
    const bomb = join(dir, 'bomb.vlat');
    await writeFile(bomb, encodeLatentFile(new VaeTensor(new Float32Array(4 * 512 * 512), [1, 4, 512, 512]), { modelFingerprint: await decoderFingerprint(KL_F8, klf8.manifest) }));
    const png = join(dir, 'in.png');
    await sharp(pattern(40, 32), { raw: { width: 40, height: 32, channels: 3 } }).png().toFile(png);
    const { status, stderr } = await cli(args.map((a) => a.replace('OUT', dir).replace(/^X$/, x).replace('BOMB', bomb).replace('PNG', png)));
    expect(stderr).toContain('onnx-vae: error [LIMIT_EXCEEDED]');
    expect(stderr).toContain(limit);
    expect(status).toBe(2);
  });

  it('refuses a bad limit flag, info --preset nope, and -o naming a folder, with exit 2', async () => {
    expect((await cli(['generate', MNIST, '--max-draws', '0', '-o', join(dir, 'g.png')])).stderr).toContain('Expected --max-draws to be a positive integer (draws) or "none" but received "0".');
    const info = await cli(['info', MNIST, '--preset', 'nope']);
    expect(info.status).toBe(2);
    expect(info.stderr).toContain('error [INVALID_OPTION]: Unknown preset "nope"');
    const withManifest = await cli(['info', MNIST, '--preset', 'sd-1']);
    expect(withManifest.stderr).toContain('"preset" applies to exports without vae.json');
    for (const command of ['compress', 'decompress'] as const) {
      const folder = join(dir, command === 'compress' ? 'x.vlat' : 'x.png');
      await mkdir(folder, { recursive: true });
      const run = await cli([command, KL_F8, join(dir, 'whatever'), '-o', folder]);
      expect(run.stderr).toContain(`error [INVALID_OPTION]: Cannot write -o ${folder}: it is a folder; name a file in it instead.`);
      expect(run.status).toBe(2);
    }
  });
});

describe('writeFileAtomic after a SIGKILL', () => {
  it('removes the temporary files of writers that are gone, and keeps those of live ones', async () => {
    const folder = join(dir, 'atomic');
    await mkdir(folder);
    const dead = join(folder, '.out.png.999999999.0123456789ab.tmp');
    const live = join(folder, `.out.png.${process.ppid}.0123456789ab.tmp`);
    await writeFile(dead, 'partial');
    await writeFile(live, 'partial');
    await writeFileAtomic(join(folder, 'out.png'), 'done');
    expect((await readdir(folder)).sort()).toEqual(['.out.png.' + process.ppid + '.0123456789ab.tmp', 'out.png']);
    await expect(access(dead, constants.F_OK)).rejects.toThrow();
  });
});
