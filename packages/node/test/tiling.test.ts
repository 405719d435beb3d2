import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NormalV1, VaeTensor, loadVae, planTiles, tiledDecode, tiledEncode } from '../src/index';
import type { TiledMoments, TilePlan } from '../src/index';
import { MODEL_FIXTURES, testFixtures } from '@onnx-vae/core/testing';

type Vae = Awaited<ReturnType<typeof loadVae>>;

const fixtures = testFixtures(__dirname);
const CONV_MOMENTS = fixtures.model(MODEL_FIXTURES.convMoments);
const TAESD = join(fixtures.sharedModels, 'taesd');

const encodeWith =
  (vae: Vae) =>
  async (tile: VaeTensor): Promise<TiledMoments> => {
    const q = await vae.encode(tile);
    return { mean: q.mean, logvar: q.deterministic ? null : q.logvar };
  };

/** A smooth synthetic image in [low, high]: gradients and a few sinusoids, dims [n, 3, h, w]. */
function smoothImage(n: number, h: number, w: number, [low, high]: readonly [number, number], seed = 0): VaeTensor {
  const data = new Float32Array(n * 3 * h * w);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const u = 0.5 + 0.25 * Math.sin((i * (c + 1)) / 9 + seed + b) * Math.cos(j / (7 + c)) + 0.2 * ((i + j) / (h + w) - 0.5);
          data[((b * 3 + c) * h + i) * w + j] = low + (high - low) * Math.min(1, Math.max(0, u));
        }
      }
    }
  }
  return new VaeTensor(data, [n, 3, h, w]);
}

interface Errors {
  /** Largest |a - b| within `band` pixels of an inner tile edge. */
  readonly borderMax: number;
  readonly borderMean: number;
  /** Largest |a - b| everywhere else. */
  readonly interiorMax: number;
  readonly interiorMean: number;
}

/**
 * Splits |a - b| of two [N, C, H, W] tensors into the pixels within `band` of an inner tile edge (edges of `plan`
 * times `scale`) and the rest.
 */
function splitErrors(a: VaeTensor, b: VaeTensor, plan: TilePlan, scale: number, band: number): Errors {
  expect(a.dims).toEqual(b.dims);
  const [n, c, h, w] = a.dims as [number, number, number, number];
  const mask = (starts: readonly number[], length: number, size: number) => {
    const out = new Uint8Array(size);
    for (const start of starts) {
      for (const edge of [start * scale, (start + length) * scale]) {
        if (edge > 0 && edge < size) out.fill(1, Math.max(0, edge - band), Math.min(size, edge + band));
      }
    }
    return out;
  };
  const rows = mask(plan.tops, plan.tileHeight, h);
  const columns = mask(plan.lefts, plan.tileWidth, w);
  const border = { max: 0, sum: 0, count: 0 };
  const interior = { max: 0, sum: 0, count: 0 };
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const k = (p * h + i) * w + j;
        const error = Math.abs(a.data[k]! - b.data[k]!);
        const into = rows[i] || columns[j] ? border : interior;
        into.max = Math.max(into.max, error);
        into.sum += error;
        into.count++;
      }
    }
  }
  return { borderMax: border.max, borderMean: border.sum / border.count, interiorMax: interior.max, interiorMean: interior.sum / interior.count };
}

describe('tiling on onnxruntime-node: conv-moments fixture (convolutional, factor 4)', () => {
  let vae: Vae;
  beforeAll(async () => {
    vae = await loadVae(CONV_MOMENTS, { intraOpNumThreads: 1 });
  });
  afterAll(() => vae.dispose());

  const factor = 4;
  const x = smoothImage(1, 128, 192, [-1, 1]);
  const decodeTile = (z: VaeTensor) => vae.decode(z);

  it('decode: tiled equals untiled away from tile edges; the ramps shrink the edge error', async () => {
    const z = (await vae.encode(x)).mean;
    expect(z.dims).toEqual([1, 4, 32, 48]);
    const untiled = await vae.decode(z);
    const results: Record<number, Errors> = {};
    for (const overlap of [0, 6]) {
      const tiled = await tiledDecode(decodeTile, z, { tileSize: 16, overlap, factor });
      expect(tiled.dims).toEqual([1, 3, 128, 192]);
      // The decoder sees about 3 latent pixels around each output pixel: band = 3 latent pixels.
      results[overlap] = splitErrors(tiled, untiled, planTiles(32, 48, { tileSize: 16, overlap }), factor, 3 * factor);
    }
    const [hard, ramped] = [results[0]!, results[6]!];
    expect(hard.interiorMax).toBeLessThan(1e-5);
    expect(ramped.interiorMax).toBeLessThan(1e-5);
    expect(hard.borderMax).toBeGreaterThan(1e-3);
    expect(ramped.borderMax).toBeLessThan(hard.borderMax / 2);
    expect(ramped.borderMean).toBeLessThan(hard.borderMean / 2);
  });

  it('encode: the blended posterior equals the untiled one away from tile edges', async () => {
    const untiled = await vae.encode(x);
    const tiled = await tiledEncode(encodeWith(vae), x, { tileSize: 64, overlap: 24, factor });
    expect(tiled.mean.dims).toEqual([1, 4, 32, 48]);
    // The encoder sees 15 input pixels around a latent pixel: band = 2 latent pixels.
    const plan = planTiles(128, 192, { tileSize: 64, overlap: 24, align: factor });
    const latentPlan = { ...plan, tops: plan.tops.map((t) => t / factor), lefts: plan.lefts.map((l) => l / factor), tileHeight: 16, tileWidth: 16 };
    for (const [a, b] of [
      [tiled.mean, untiled.mean],
      [tiled.logvar!, untiled.logvar],
    ] as const) {
      const errors = splitErrors(a, b, latentPlan, 1, 2);
      expect(errors.interiorMax).toBeLessThan(1e-4);
      expect(errors.borderMax).toBeGreaterThan(0);
    }
  });

  it('gives exactly the untiled result when the image fits in one tile', async () => {
    const small = smoothImage(2, 32, 48, [-1, 1], 3);
    const q = await vae.encode(small);
    const tiled = await tiledEncode(encodeWith(vae), small, { tileSize: 64, overlap: 8, factor });
    expect(Array.from(tiled.mean.data)).toEqual(Array.from(q.mean.data));
    expect(Array.from(tiled.logvar!.data)).toEqual(Array.from(q.logvar.data));
    const decoded = await tiledDecode(decodeTile, q.mean, { tileSize: 16, overlap: 4, factor });
    expect(Array.from(decoded.data)).toEqual(Array.from((await vae.decode(q.mean)).data));
  });

  it('tiles a batch item by item: each item as if decoded alone', async () => {
    const z = new VaeTensor(new NormalV1(5).fill(new Float32Array(2 * 4 * 24 * 20)), [2, 4, 24, 20]);
    const options = { tileSize: 12, overlap: 4, factor };
    const both = await tiledDecode(decodeTile, z, options);
    const first = await tiledDecode(decodeTile, z.slice(0, 1), options);
    const second = await tiledDecode(decodeTile, z.slice(1, 2), options);
    expect(Array.from(both.data)).toEqual([...first.data, ...second.data]);
  });
});

const haveTaef2 = existsSync(join(TAESD, 'taef2_encoder.onnx')) && existsSync(join(TAESD, 'taef2_decoder.onnx'));
if (!haveTaef2) console.log(`TAEF2 tiling tests skipped: no taef2_encoder.onnx / taef2_decoder.onnx in ${TAESD}.`);
const describeTaef2 = haveTaef2 ? describe : describe.skip;

describeTaef2('tiling on onnxruntime-node: TAEF2 (real model, GroupNorm inside)', () => {
  let vae: Vae;
  beforeAll(async () => {
    // The export as shipped (no vae.json): its manifest is detected, with the TAEF2 preset.
    vae = await loadVae(TAESD, { preset: 'flux-2-tiny', intraOpNumThreads: 2, enableCpuMemArena: false, enableMemPattern: false });
  });
  afterAll(() => vae?.dispose());

  const x = smoothImage(1, 256, 256, [0, 1]);

  it('encodes 256x256 in 128-pixel tiles: latents close to the untiled ones, and no seam once decoded', async () => {
    const untiled = await vae.encode(x);
    const reference = await vae.decode(untiled.mean);
    const results = [];
    for (const overlap of [0, 32]) {
      const tiled = await tiledEncode(encodeWith(vae), x, { preset: 'taef2', tileSize: 128, overlap });
      expect(tiled.logvar).toBeNull();
      expect(tiled.mean.dims).toEqual([1, 32, 32, 32]);
      const plan = planTiles(256, 256, { tileSize: 128, overlap, align: 8 });
      const latentPlan = { ...plan, tops: plan.tops.map((t) => t / 8), lefts: plan.lefts.map((l) => l / 8), tileHeight: 16, tileWidth: 16 };
      const latent = splitErrors(tiled.mean, untiled.mean, latentPlan, 1, 2);
      const image = splitErrors(await vae.decode(tiled.mean), reference, plan, 1, 16);
      console.log(`TAEF2 tiled vs untiled encode, 256x256, tiles 128/${overlap}: latents ${JSON.stringify(latent)}; decoded ${JSON.stringify(image)}`);
      results.push({ latent, image });
    }
    const [hard, ramped] = results as [{ latent: Errors; image: Errors }, { latent: Errors; image: Errors }];
    // TAEF2 is not local (GroupNorm statistics per tile, a wide receptive field): tiles never match exactly.
    expect(ramped.latent.interiorMean).toBeLessThan(0.2);
    expect(ramped.latent.borderMean).toBeLessThan(hard.latent.borderMean / 2);
    expect(ramped.image.interiorMean).toBeLessThan(0.1);
    expect(hard.image.borderMean).toBeGreaterThan(1.3 * hard.image.interiorMean);
    expect(ramped.image.borderMean).toBeLessThan(1.3 * ramped.image.interiorMean);
  });

  it('decodes in 16-latent-pixel tiles: close to untiled, border error like the interior error with ramps', async () => {
    const z = (await vae.encode(x)).mean;
    const untiled = await vae.decode(z);
    const plan = (overlap: number) => planTiles(32, 32, { tileSize: 16, overlap });
    const hard = splitErrors(await tiledDecode((t) => vae.decode(t), z, { preset: 'taef2', tileSize: 16, overlap: 0 }), untiled, plan(0), 8, 16);
    const ramped = splitErrors(await tiledDecode((t) => vae.decode(t), z, { preset: 'taef2', tileSize: 16, overlap: 4 }), untiled, plan(4), 8, 16);
    console.log(`TAEF2 tiled vs untiled decode, 256x256, tiles 16/0: ${JSON.stringify(hard)}; tiles 16/4: ${JSON.stringify(ramped)}`);
    expect(ramped.interiorMean).toBeLessThan(0.1);
    expect(ramped.borderMean).toBeLessThan(1.5 * ramped.interiorMean);
    expect(ramped.borderMax).toBeLessThan(hard.borderMax);
  });

  it('matches the untiled decode exactly when the latent fits in one tile', async () => {
    const z = (await vae.encode(smoothImage(1, 64, 64, [0, 1], 1))).mean;
    const tiled = await tiledDecode((t) => vae.decode(t), z, { preset: 'taef2' });
    expect(Array.from(tiled.data)).toEqual(Array.from((await vae.decode(z)).data));
  });
});
