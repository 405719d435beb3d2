// Images in and out of a real model through onnxruntime-node and sharp: formats, bit depths, alpha, EXIF
// orientation, grey to RGB, fitting to the spatial factor (reflect padding cropped back, resize, crop), and images
// written back. Expected tensors are computed here independently of the codec (pixel / maxValue scaled to the range).
import { mkdtemp, cp, readFile, writeFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODEL_FIXTURES, testFixtures } from '@onnx-vae/core/testing';
import { loadVae, VaeError } from '../src/index';
import type { NodeVae } from '../src/index';
import type SharpFunction from 'sharp';

const sharp = createRequire(join(__dirname, '..', 'package.json'))('sharp') as typeof SharpFunction;
const FIXTURE = testFixtures(__dirname).model(MODEL_FIXTURES.convMoments);

/** NCHW float in [-1, 1] from HWC integer pixels, computed directly. */
function expectedTensor(pixels: ArrayLike<number>, width: number, height: number, channels: number, max: number): Float32Array {
  const out = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = pixels[(y * width + x) * channels + (channels === 1 ? 0 : c)]!;
        out[(c * height + y) * width + x] = Math.fround(-1 + (2 * v) / max);
      }
    }
  }
  return out;
}

/** Bottom/right reflect padding of NCHW data, written independently of core's. */
function reflectPad(data: Float32Array, c: number, h: number, w: number, H: number, W: number): Float32Array {
  const mirror = (i: number, n: number) => (i < n ? i : 2 * (n - 1) - i);
  const out = new Float32Array(c * H * W);
  for (let k = 0; k < c; k++)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[(k * H + y) * W + x] = data[(k * h + mirror(y, h)) * w + mirror(x, w)]!;
  return out;
}

function pattern(width: number, height: number, channels: number, max: number, seed = 1): Uint8Array | Uint16Array {
  const out = max > 255 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s % (max + 1);
  }
  return out;
}

async function code(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return VaeError.isInstance(error) ? `${error.code}: ${error.message}` : `not a VaeError: ${String(error)}`;
}

describe('images through @onnx-vae/node', () => {
  let dir: string;
  let vae: NodeVae;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-images-'));
    await cp(FIXTURE, join(dir, 'model'), { recursive: true });
    const manifest = JSON.parse(await readFile(join(dir, 'model', 'vae.json'), 'utf8'));
    manifest.latent.spatialFactor = 4;
    await writeFile(join(dir, 'model', 'vae.json'), JSON.stringify(manifest));
    vae = await loadVae(join(dir, 'model'), { intraOpNumThreads: 1 });
  });
  afterAll(async () => {
    await vae?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a PNG by path and by bytes into the model range', async () => {
    const pixels = pattern(8, 12, 3, 255);
    const png = await sharp(pixels, { raw: { width: 8, height: 12, channels: 3 } })
      .png()
      .toBuffer();
    await writeFile(join(dir, 'a.png'), png);
    const fromPath = await vae.encode(join(dir, 'a.png'));
    const fromTensor = await vae.encode({ data: expectedTensor(pixels, 8, 12, 3, 255), dims: [1, 3, 12, 8] });
    expect(Array.from(fromPath.mean.data)).toEqual(Array.from(fromTensor.mean.data));
    const fromBytes = await vae.encode(png);
    expect(Array.from(fromBytes.mean.data)).toEqual(Array.from(fromTensor.mean.data));
  });

  it.each([
    ['webp (lossless)', (s: import('sharp').Sharp) => s.webp({ lossless: true })],
    ['tiff', (s: import('sharp').Sharp) => s.tiff()],
    ['avif (lossless)', (s: import('sharp').Sharp) => s.avif({ lossless: true })],
  ])('reads %s exactly', async (_name, encodeAs) => {
    const pixels = pattern(8, 8, 3, 255, 7);
    const bytes = await encodeAs(sharp(pixels, { raw: { width: 8, height: 8, channels: 3 } })).toBuffer();
    const { data } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    const q = await vae.encode(bytes);
    const expected = await vae.encode({ data: expectedTensor(data, 8, 8, 3, 255), dims: [1, 3, 8, 8] });
    expect(Array.from(q.mean.data)).toEqual(Array.from(expected.mean.data));
  });

  it('reads JPEG within its decoder and applies the EXIF orientation', async () => {
    const pixels = pattern(8, 4, 3, 255, 3);
    const rotated = await sharp(pixels, { raw: { width: 8, height: 4, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const q = await vae.encode(rotated);
    // Orientation 6: displayed rotated 90 degrees clockwise, so 4 wide and 8 high.
    expect(q.mean.dims).toEqual([1, 4, 2, 1]);
  });

  it('reads 16-bit PNGs at full precision', async () => {
    const pixels = pattern(4, 4, 3, 65535, 11) as Uint16Array;
    const png = await sharp(pixels, { raw: { width: 4, height: 4, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const q = await vae.encode(png);
    const expected = await vae.encode({ data: expectedTensor(pixels, 4, 4, 3, 65535), dims: [1, 3, 4, 4] });
    expect(Array.from(q.mean.data)).toEqual(Array.from(expected.mean.data));
  });

  it('expands grey images to RGB, and composites or drops alpha', async () => {
    const grey = pattern(4, 4, 1, 255, 5);
    const greyPng = await sharp(grey, { raw: { width: 4, height: 4, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const q = await vae.encode(greyPng);
    expect(Array.from(q.mean.data)).toEqual(Array.from((await vae.encode({ data: expectedTensor(grey, 4, 4, 1, 255), dims: [1, 3, 4, 4] })).mean.data));

    const rgba = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) rgba.set([10, 20, 30, i % 2 === 0 ? 0 : 255], i * 4);
    const png = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } })
      .png()
      .toBuffer();
    const composite = new Uint8Array(16 * 3);
    const dropped = new Uint8Array(16 * 3);
    for (let i = 0; i < 16; i++) {
      composite.set(i % 2 === 0 ? [0, 0, 0] : [10, 20, 30], i * 3);
      dropped.set([10, 20, 30], i * 3);
    }
    const overBlack = await vae.encode(png, { alpha: 'composite', background: [0, 0, 0] });
    expect(Array.from(overBlack.mean.data)).toEqual(
      Array.from((await vae.encode({ data: expectedTensor(composite, 4, 4, 3, 255), dims: [1, 3, 4, 4] })).mean.data),
    );
    const drop = await vae.encode(png, { alpha: 'drop' });
    expect(Array.from(drop.mean.data)).toEqual(Array.from((await vae.encode({ data: expectedTensor(dropped, 4, 4, 3, 255), dims: [1, 3, 4, 4] })).mean.data));
  });

  it('pads odd sizes by reflection and crops the reconstruction back', async () => {
    const pixels = pattern(13, 10, 3, 255, 9);
    const png = await sharp(pixels, { raw: { width: 13, height: 10, channels: 3 } })
      .png()
      .toBuffer();
    const q = await vae.encode(png);
    expect(q.mean.dims).toEqual([1, 4, 3, 4]); // 12x16 padded, factor 4
    const padded = reflectPad(expectedTensor(pixels, 13, 10, 3, 255), 3, 10, 13, 12, 16);
    const direct = await vae.encode({ data: padded, dims: [1, 3, 12, 16] });
    expect(Array.from(q.mean.data)).toEqual(Array.from(direct.mean.data));
    const reconstruction = await vae.reconstruct(png);
    expect(reconstruction.dims).toEqual([1, 3, 10, 13]);
    const full = await vae.decode(direct.mean);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 10; y++) for (let x = 0; x < 13; x++) expect(reconstruction.data[(c * 10 + y) * 13 + x]).toBe(full.data[(c * 12 + y) * 16 + x]);
  });

  it('resizes or centre-crops to the spatial factor when asked', async () => {
    const png = await sharp(pattern(14, 9, 3, 255, 2), { raw: { width: 14, height: 9, channels: 3 } })
      .png()
      .toBuffer();
    expect((await vae.encode(png, { fit: 'resize' })).mean.dims).toEqual([1, 4, 2, 4]); // 16x8
    expect((await vae.encode(png, { fit: 'crop' })).mean.dims).toEqual([1, 4, 2, 3]); // 12x8
  });

  it('writes decoded images as PNG, JPEG and WebP of the right size and pixels', async () => {
    const z = vae.sample({ n: 2, seed: 1, latentShape: [4, 2, 3] });
    const data = await vae.decode(z);
    const [png0, png1] = await vae.decodeImages(z, { format: 'png' });
    const { data: raw, info } = await sharp(png1!).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([12, 8, 3]);
    for (let i = 0; i < 12 * 8 * 3; i += 37) {
      const c = i % 3;
      const p = Math.floor(i / 3);
      const v = data.data[12 * 8 * 3 + c * 96 + p]!;
      expect(raw[i]).toBe(Math.round(Math.min(1, Math.max(-1, v)) * 127.5 + 127.5));
    }
    expect(png0!.subarray(1, 4).toString()).toBe('PNG');
    for (const format of ['jpeg', 'webp'] as const) {
      const [bytes] = await vae.toImages(data, { format, quality: 80 });
      const meta = await sharp(bytes!).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([format, 12, 8]);
    }
  });

  it('writes PNGs when toImages and decodeImages get no options', async () => {
    const z = vae.sample({ n: 2, seed: 1, latentShape: [4, 2, 3] });
    const expected = await vae.decodeImages(z, { format: 'png' });
    expect(await vae.decodeImages(z)).toEqual(expected);
    expect(await vae.toImages(await vae.decode(z))).toEqual(expected);
  });

  it('refuses bad image inputs with typed errors', async () => {
    expect(await code(vae.encode(join(dir, 'missing.png')))).toBe(`INVALID_INPUT: ${join(dir, 'missing.png')}: file not found.`);
    expect(await code(vae.encode(new TextEncoder().encode('not an image')))).toMatch(/^INVALID_INPUT: Cannot read image 0 as an image: .+\. Inputs are images/);
    const a = await sharp(pattern(8, 8, 3, 255), { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toBuffer();
    const b = await sharp(pattern(8, 4, 3, 255), { raw: { width: 8, height: 4, channels: 3 } })
      .png()
      .toBuffer();
    expect(await code(vae.encode([a, b]))).toBe(
      'SHAPE_MISMATCH: Images in one call must have one size, but image 0 is 8x8 and image 1 is 8x4; pass them in separate calls, or resize them.',
    );
    expect(await code(vae.encode(a, { fit: 'stretch' as 'pad' }))).toBe(
      'INVALID_OPTION: Expected "fit" to be one of "pad", "resize", "crop" but received "stretch".',
    );
    expect(await code(vae.toImages({ data: new Float32Array(12), dims: [1, 12] }, {}))).toMatch(/^SHAPE_MISMATCH: /);
    expect(await code(vae.decodeImages(vae.sample({ n: 1, seed: 0, latentShape: [4, 1, 1] }), { format: 'gif' as 'png' }))).toBe(
      'INVALID_OPTION: Expected "format" to be one of "png", "jpeg", "webp" but received "gif".',
    );
  });

  it('wires tiling into encode, decode and reconstruct', async () => {
    const x = { data: expectedTensor(pattern(16, 16, 3, 255, 4), 16, 16, 3, 255), dims: [1, 3, 16, 16] };
    const plain = await vae.encode(x);
    // One tile covering the image is the untiled computation.
    expect(Array.from((await vae.encode(x, { tiling: { tileSize: 16, overlap: 4 } })).mean.data)).toEqual(Array.from(plain.mean.data));
    const tiled = await vae.encode(x, { tiling: { tileSize: 8, overlap: 4 } });
    expect(tiled.mean.dims).toEqual(plain.mean.dims);
    expect(Array.from(tiled.mean.data)).not.toEqual(Array.from(plain.mean.data));
    const decoded = await vae.decode(plain.mean, { tiling: { tileSize: 2, overlap: 1 } });
    expect(decoded.dims).toEqual([1, 3, 16, 16]);
    const r = await vae.reconstruct(x, { tiling: { encode: { tileSize: 8, overlap: 4 }, decode: { tileSize: 2, overlap: 1 } } });
    expect(r.dims).toEqual([1, 3, 16, 16]);
    const flat = await loadVae(join(__dirname, '..', '..', '..', 'models', 'fixtures', 'mlp-probs'));
    try {
      expect(await code(flat.decode({ data: new Float32Array(2), dims: [1, 2] }, { tiling: true }))).toBe(
        'INVALID_OPTION: "tiling" needs an image model with an NCHW layout and latent.spatialFactor in its manifest; model "mlp-probs" has layout "flat" and no spatialFactor.',
      );
    } finally {
      await flat.dispose();
    }
  });

  it('score refuses to pad (padding would enter the likelihood)', async () => {
    const png = await sharp(pattern(13, 10, 3, 255), { raw: { width: 13, height: 10, channels: 3 } })
      .png()
      .toBuffer();
    expect(await code(vae.score(png))).toBe(
      'SHAPE_MISMATCH: Model "conv-moments" needs heights and widths that are multiples of 4 here, but "x" is 13x10; padding would change the likelihood, so crop or resize it (images: fit "crop" or "resize").',
    );
    expect((await vae.score(png, { fit: 'crop', seed: 0 })).elbo!.length).toBe(1);
  });
});
