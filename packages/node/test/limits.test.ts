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
import { errorOf } from '@onnx-vae/core/testing';
import { loadVae } from '../src/load';
import { nodeImageCodec, readImageSize } from '../src/image-codec';
import { readInputFile } from '../src/image-io';
import { writeFileAtomic } from '../src/files';
import { decoderFingerprint } from '../src/fingerprint';
import type { NodeVae } from '../src/load';

const ROOT = resolve(__dirname, '../../..');
const KL_F8 = join(ROOT, 'models/kl-f8');
const MNIST = join(ROOT, 'models/mnist-vae');
const MLP = join(ROOT, 'models/fixtures/mlp-probs');

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
    expect((await errorOf(loadVae(MLP, { limits: { maxDraws: -1 } })))?.code).toBe('INVALID_OPTION');
    expect((await errorOf(loadVae(MLP, { limits: { nope: 1 } as never })))?.message).toContain('Unknown limit "nope"');
  });

  it('refuses an image over maxInputPixels from its header, before decoding it', async () => {
    const png = await sharp(pattern(64, 48), { raw: { width: 64, height: 48, channels: 3 } })
      .png()
      .toBuffer();
    const error = await errorOf(klf8.encode(png, { limits: { maxInputPixels: 1000 } }));
    expect(error?.code).toBe('LIMIT_EXCEEDED');
    expect(error?.message).toBe(
      'The image image 0 (64x48) is 3,072 pixels, over the limit maxInputPixels of 1,000; raise it with the "limits.maxInputPixels" option (CLI --max-pixels).',
    );
    expect((await errorOf(klf8.reconstruct(png, { tiling: true, limits: { maxInputPixels: 1000 } })))?.code).toBe('LIMIT_EXCEEDED');
    expect((await klf8.encode(png, { limits: { maxInputPixels: 3072 } })).mean.dims).toEqual([1, 4, 6, 8]);
  });

  it('refuses an untiled encode over maxUntiledPixels and points to tiling, which then runs', async () => {
    const png = await sharp(pattern(64, 64), { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    const error = await errorOf(klf8.encode(png, { limits: { maxUntiledPixels: 1024 } }));
    expect(error?.code).toBe('LIMIT_EXCEEDED');
    expect((error?.error as LimitExceededError).limit).toBe('maxUntiledPixels');
    expect(error?.message).toContain('tile it (`tiling: true`, CLI `--tile`)');
    const tensor = new VaeTensor(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]);
    expect((await errorOf(klf8.encode(tensor, { limits: { maxUntiledPixels: 1024 } })))?.code).toBe('LIMIT_EXCEEDED');
    const tiled = await klf8.encode(png, { tiling: { tileSize: 32, overlap: 8 }, limits: { maxUntiledPixels: 1024 } });
    expect(tiled.mean.dims).toEqual([1, 4, 8, 8]);
  });

  it('refuses the latent bomb: an untiled decode of [1, 4, 512, 512] before the decoder runs, naming tiling', async () => {
    const started = Date.now();
    const error = await errorOf(klf8.decode(new VaeTensor(new Float32Array(4 * 512 * 512), [1, 4, 512, 512])));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error?.message).toBe(
      'The decoded output of latents [1, 4, 512, 512] without tiling is 16,777,216 pixels, over the limit maxUntiledPixels of 4,194,304; tile it (`tiling: true`, CLI `--tile`), or raise it with the "limits.maxUntiledPixels" option (CLI --max-untiled-pixels).',
    );
    const tiledError = await errorOf(
      klf8.decode(new VaeTensor(new Float32Array(4 * 64 * 64), [1, 4, 64, 64]), { tiling: true, limits: { maxOutputPixels: 1000 } }),
    );
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
      const error = await errorOf(Promise.resolve().then(call as () => unknown));
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
    const error = await errorOf(klf8.decode(z, { size } as never));
    expect(error?.code).toBe('INVALID_OPTION');
    expect(error?.message).toContain('Expected "size" to be { height, width } with positive integers');
  });

  it.each([['encode'], ['decode'], ['reconstruct']] as const)('%s refuses tiling: "yes" with INVALID_OPTION', async (method) => {
    const input = method === 'decode' ? new VaeTensor(new Float32Array(4 * 16), [1, 4, 4, 4]) : new VaeTensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
    const error = await errorOf((klf8[method] as (x: unknown, o: unknown) => Promise<unknown>).call(klf8, input, { tiling: 'yes' }));
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
    'an 8-bit RGB PNG': () =>
      sharp(pattern(W, H), { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toBuffer(),
    'an EXIF-rotated JPEG': () =>
      sharp(pattern(W, H), { raw: { width: W, height: H, channels: 3 } })
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    'a 16-bit PNG': () =>
      sharp(pattern(W, H), { raw: { width: W, height: H, channels: 3 } })
        .toColourspace('rgb16')
        .png()
        .toBuffer(),
    'a grey PNG with alpha': () =>
      sharp(pattern(W, H), { raw: { width: W, height: H, channels: 3 } })
        .toColourspace('b-w')
        .ensureAlpha(0.5)
        .png()
        .toBuffer(),
  };
  it.each(Object.keys(images).flatMap((name) => (['pad', 'crop', 'resize'] as const).map((fit) => [name, fit] as const)))(
    'equal the whole-image read for %s with fit %s',
    async (name, fit) => {
      const bytes = await images[name]!();
      const streamed = await klf8.encode(bytes, { fit, tiling });
      expect(Array.from(streamed.mean.data)).toEqual(Array.from(await reference(bytes, fit)));
    },
  );

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
    const error = await errorOf(readInputFile(path, { ...klf8.limits, maxFileBytes: 1000 }));
    expect(error?.message).toBe(
      `The input file ${path} is 4,096 bytes, over the limit maxFileBytes of 1,000; raise it with the "limits.maxFileBytes" option (CLI --max-file-bytes).`,
    );
    const zero = await errorOf(readInputFile('/dev/zero', { ...klf8.limits, maxFileBytes: 3 << 20 }));
    expect(zero?.code).toBe('LIMIT_EXCEEDED');
    expect(zero?.message).toContain('(not a regular file; read so far)');
  });

  it('loadVae refuses a manifest over maxManifestBytes or nested 200,000 levels, and a graph over maxGraphBytes', async () => {
    const model = join(dir, 'model');
    await cp(MLP, model, { recursive: true });
    expect((await errorOf(loadVae(model, { limits: { maxGraphBytes: 100 } })))?.message).toContain('over the limit maxGraphBytes of 100');
    expect((await errorOf(loadVae(model, { limits: { maxManifestBytes: 100 } })))?.message).toContain('over the limit maxManifestBytes of 100');
    const manifest = JSON.parse(await readFile(join(model, 'vae.json'), 'utf8'));
    await writeFile(join(model, 'vae.json'), JSON.stringify(manifest).replace(/"name":"[^"]*"/, `"name":${'['.repeat(200000)}${']'.repeat(200000)}`));
    const deep = await errorOf(loadVae(model, { limits: { maxManifestBytes: 1e6 } }));
    expect(deep?.code).toBe('LIMIT_EXCEEDED');
    expect((deep?.error as LimitExceededError).limit).toBe('maxJsonDepth');
  });

  it('decodeLatentFile bounds the inflated payload with maxFileBytes', async () => {
    const fingerprint = await decoderFingerprint(KL_F8, klf8.manifest);
    const file = encodeLatentFile(new VaeTensor(new Float32Array(4 * 512 * 512), [1, 4, 512, 512]), { modelFingerprint: fingerprint });
    expect(file.length).toBeLessThan(4000);
    const error = await errorOf(Promise.resolve().then(() => decodeLatentFile(file, { limits: { maxFileBytes: 1 << 20 } })));
    expect(error?.message).toBe(
      'The decompressed payload of the .vlat file is 2,097,152 bytes, over the limit maxFileBytes of 1,048,576; raise it with the "limits.maxFileBytes" option (CLI --max-file-bytes).',
    );
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
