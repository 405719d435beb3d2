import fc from 'fast-check';
import { DEFAULT_TILING_PRESET, TILING_PRESETS, planTiles, rampWeights, tilePlanOf, tileStarts, tiledDecode, tiledEncode } from '../src/index';
import type { TiledMoments } from '../src/index';
import { VaeTensor } from '../src/index';
import { NormalV1 } from '../src/index';
import { ModelMismatchError, VaeError } from '../src/index';
import type { InvalidInputError, InvalidOptionError } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';

// ---- A pure-JS "VAE" made of NCHW operations, written here so the tiling is checked against known maths. ----

const dimsOf = (t: VaeTensor) => t.dims as [number, number, number, number];

function randomTensor(dims: number[], seed: number): VaeTensor {
  return new VaeTensor(new NormalV1(seed).fill(new Float32Array(dims.reduce((a, b) => a * b, 1))), dims);
}

/** Average pooling over f x f blocks: local, so tiles aligned to f see exactly what the whole image sees. */
function averagePool(x: VaeTensor, f: number): VaeTensor {
  const [n, c, h, w] = dimsOf(x);
  const out = new Float32Array(n * c * (h / f) * (w / f));
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h / f; i++) {
      for (let j = 0; j < w / f; j++) {
        let sum = 0;
        for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) sum += x.data[p * h * w + (i * f + a) * w + j * f + b]!;
        out[(p * (h / f) + i) * (w / f) + j] = sum / (f * f);
      }
    }
  }
  return new VaeTensor(out, [n, c, h / f, w / f]);
}

/** Nearest-neighbour upsampling by f. */
function upsample(z: VaeTensor, f: number): VaeTensor {
  const [n, c, h, w] = dimsOf(z);
  const out = new Float32Array(n * c * h * f * w * f);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h * f; i++) {
      for (let j = 0; j < w * f; j++) out[(p * h * f + i) * w * f + j] = z.data[(p * h + Math.floor(i / f)) * w + Math.floor(j / f)]!;
    }
  }
  return new VaeTensor(out, [n, c, h * f, w * f]);
}

/** A 1x1 convolution: out[o] = sum_c matrix[o][c] * in[c] + o / 10, per pixel. */
function mix(x: VaeTensor, matrix: number[][]): VaeTensor {
  const [n, c, h, w] = dimsOf(x);
  const plane = h * w;
  const out = new Float32Array(n * matrix.length * plane);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < matrix.length; o++) {
      for (let p = 0; p < plane; p++) {
        let sum = o / 10;
        for (let k = 0; k < c; k++) sum += matrix[o]![k]! * x.data[(b * c + k) * plane + p]!;
        out[(b * matrix.length + o) * plane + p] = sum;
      }
    }
  }
  return new VaeTensor(out, [n, matrix.length, h, w]);
}

/** A 3x3 box blur with zero padding: not local, so a tile's edge pixels miss their neighbours. */
function blur(z: VaeTensor): VaeTensor {
  const [n, c, h, w] = dimsOf(z);
  const out = new Float32Array(z.size);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let sum = 0;
        for (let a = -1; a <= 1; a++) {
          for (let b = -1; b <= 1; b++) {
            if (i + a >= 0 && i + a < h && j + b >= 0 && j + b < w) sum += z.data[(p * h + i + a) * w + j + b]!;
          }
        }
        out[(p * h + i) * w + j] = sum / 9;
      }
    }
  }
  return new VaeTensor(out, z.dims);
}

const ENCODE_MEAN = [
  [0.5, -0.25, 1],
  [1, 1, 1],
  [-0.3, 0.2, 0.1],
  [0, 2, -1],
];
const ENCODE_LOGVAR = [
  [0.1, 0.2, 0.3],
  [-1, 0, 1],
  [0.5, 0.5, -0.5],
  [2, -2, 0],
];
const DECODE = [
  [1, 0, -0.5, 0.25],
  [0.2, 0.4, 0.6, 0.8],
  [-1, 1, -1, 1],
];

const localEncoder =
  (f: number) =>
  async (x: VaeTensor): Promise<TiledMoments> => {
    const pooled = averagePool(x, f);
    return { mean: mix(pooled, ENCODE_MEAN), logvar: mix(pooled, ENCODE_LOGVAR) };
  };
const localDecoder =
  (f: number) =>
  async (z: VaeTensor): Promise<VaeTensor> =>
    upsample(mix(z, DECODE), f);
const blurDecoder =
  (f: number) =>
  async (z: VaeTensor): Promise<VaeTensor> =>
    upsample(mix(blur(z), DECODE), f);

function maxAbsDiff(a: VaeTensor, b: VaeTensor): number {
  expect(a.dims).toEqual(b.dims);
  let max = 0;
  for (let i = 0; i < a.size; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!));
  return max;
}

async function vaeErrorOf(promise: Promise<unknown>): Promise<VaeError> {
  const error = (await errorOf(promise))?.error;
  if (!VaeError.isInstance(error)) throw new Error(`expected a VaeError, got ${String(error)}`);
  return error;
}

// ---- Planner ----

describe('planTiles', () => {
  const starts = (size: number, tileSize: number, overlap: number, align = 1) => planTiles(size, size, { tileSize, overlap, align }).tops;

  it('gives one tile of the full size when the image is smaller than a tile, per axis', () => {
    const plan = planTiles(40, 24, { tileSize: 64, overlap: 8 });
    expect(plan.tiles).toEqual([{ top: 0, left: 0, height: 40, width: 24 }]);
    const tall = planTiles(200, 24, { tileSize: 64, overlap: 16 });
    expect(tall.tiles).toEqual([0, 48, 96, 136].map((top) => ({ top, left: 0, height: 64, width: 24 })));
    expect(starts(64, 64, 8)).toEqual([0]);
  });

  it('steps by tileSize - overlap; exact multiples of the stride need no moved tile', () => {
    expect(starts(960, 512, 64, 8)).toEqual([0, 448]);
    expect(starts(1408, 512, 64, 8)).toEqual([0, 448, 896]);
    expect(starts(128, 64, 0)).toEqual([0, 64]);
  });

  it('moves the last tile back to end at the far edge (odd sizes), all tiles the same size', () => {
    expect(starts(1024, 512, 64, 8)).toEqual([0, 448, 512]);
    expect(starts(1000, 512, 64, 8)).toEqual([0, 448, 488]);
    expect(starts(37, 16, 4)).toEqual([0, 12, 21]);
    const plan = planTiles(37, 72, { tileSize: 16, overlap: 4 });
    expect(plan.lefts).toEqual([0, 12, 24, 36, 48, 56]);
    expect(plan.tiles).toHaveLength(18);
    expect(plan.tiles[5]).toEqual({ top: 0, left: 56, height: 16, width: 16 });
    expect(plan.tiles[17]).toEqual({ top: 21, left: 56, height: 16, width: 16 });
    expect(plan.tiles.every((t) => t.height === 16 && t.width === 16)).toBe(true);
  });

  it('rejects bad sizes and options, naming the valid range', () => {
    const cases: [() => unknown, string, string][] = [
      [() => planTiles(100, 64, { tileSize: 64, overlap: 8, align: 8 }), 'height', 'Expected "height" to be a positive multiple of 8 but received 100.'],
      [() => planTiles(64, 0, { tileSize: 64, overlap: 8 }), 'width', 'Expected "width" to be a positive multiple of 1 but received 0.'],
      [
        () => planTiles(64, 64, { tileSize: 60, overlap: 8, align: 8 }),
        'tileSize',
        'Expected "tileSize" to be a positive multiple of 8 (pixels) but received 60.',
      ],
      [
        () => planTiles(64, 64, { tileSize: 64, overlap: 64 }),
        'overlap',
        'Expected "overlap" to be an integer from 0 to 63 (below tileSize 64, pixels) but received 64.',
      ],
      [
        () => planTiles(64, 64, { tileSize: 64, overlap: 4, align: 8 }),
        'overlap',
        'Expected "overlap" to be a multiple of 8 from 0 to 56 (below tileSize 64, pixels) but received 4.',
      ],
      [() => planTiles(64, 64, { tileSize: 64, overlap: 8, align: 0 }), 'align', 'Expected "align" to be a positive integer but received 0.'],
    ];
    for (const [run, field, message] of cases) {
      const error = errorOf(run)?.error;
      expect(VaeError.isInstance(error)).toBe(true);
      const e = error as InvalidOptionError & InvalidInputError;
      expect(e.message).toBe(message);
      expect(e.option ?? e.argument).toBe(field);
      expect(e.code).toBe(field === 'height' || field === 'width' ? 'INVALID_INPUT' : 'INVALID_OPTION');
    }
  });

  it('covers every pixel with same-size tiles inside the image, aligned, first at 0 and last at the edge (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat(),
        (align, h, w, t, o) => {
          const [height, width, tileSize] = [h * align, w * align, t * align];
          const overlap = (o % t) * align;
          const plan = planTiles(height, width, { tileSize, overlap, align });
          const cover = new Uint8Array(height * width);
          for (const tile of plan.tiles) {
            const ok =
              tile.height === Math.min(tileSize, height) && tile.width === Math.min(tileSize, width) && tile.top % align === 0 && tile.left % align === 0;
            if (!ok || tile.top + tile.height > height || tile.left + tile.width > width) throw new Error(`bad tile ${JSON.stringify(tile)}`);
            for (let i = tile.top; i < tile.top + tile.height; i++) cover.fill(1, i * width + tile.left, i * width + tile.left + tile.width);
          }
          expect(cover.every((c) => c === 1)).toBe(true);
          for (const [starts, size, length] of [
            [plan.tops, height, plan.tileHeight],
            [plan.lefts, width, plan.tileWidth],
          ] as const) {
            expect(starts[0]).toBe(0);
            expect(starts[starts.length - 1]! + length).toBe(size);
            // Neighbours overlap by at least `overlap` (the moved last tile by more), never by the whole tile.
            for (let k = 1; k < starts.length; k++) expect(starts[k - 1]! + length - starts[k]!).toBeGreaterThanOrEqual(overlap);
            for (let k = 1; k < starts.length; k++) expect(starts[k]!).toBeGreaterThan(starts[k - 1]!);
          }
        },
      ),
    );
  });
});

describe('rampWeights', () => {
  it('ramps linearly across each overlap at pixel centres, 1 on the image edges', () => {
    const [a, b, c] = rampWeights(tileStarts(12, 6, 2), 6);
    expect(tileStarts(12, 6, 2)).toEqual([0, 4, 6]);
    expect(Array.from(a!)).toEqual([1, 1, 1, 1, 0.75, 0.25]);
    // b overlaps a by 2 and the moved last tile c by 4: each ramp spans its whole overlap.
    expect(Array.from(b!)).toEqual([0.25, 0.75, 0.875, 0.625, 0.375, 0.125]);
    expect(Array.from(c!)).toEqual([0.125, 0.375, 0.625, 0.875, 1, 1]);
    expect(Array.from(rampWeights([0], 5)[0]!)).toEqual([1, 1, 1, 1, 1]);
  });

  it('is positive everywhere and sums to 1 where exactly two tiles overlap (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (size, tileSize, o) => {
        const overlap = o % tileSize;
        const starts = tileStarts(size, tileSize, overlap);
        const length = Math.min(size, tileSize);
        const weights = rampWeights(starts, length);
        const sum = new Float64Array(size);
        const count = new Uint8Array(size);
        starts.forEach((start, k) => {
          for (let i = 0; i < length; i++) {
            sum[start + i]! += weights[k]![i]!;
            count[start + i]! += 1;
          }
        });
        expect(weights.every((w) => w.every((v) => v > 0 && v <= 1))).toBe(true);
        expect(count.every((c) => c > 0)).toBe(true);
        // Where three tiles meet (a moved last tile, or overlap > tileSize / 2) the sum is not 1; the blend divides by it.
        for (let p = 0; p < size; p++) if (count[p]! <= 2 && Math.abs(sum[p]! - 1) > 1e-6) throw new Error(`weights sum to ${sum[p]} at ${p}`);
      }),
    );
  });
});

// ---- Blending ----

describe('tiledDecode and tiledEncode with a local model', () => {
  it('decode: tiled equals untiled up to float rounding, for every tiling (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 8 }),
        fc.nat(),
        fc.integer({ min: 1, max: 4 }),
        async (n, h, w, tileSize, o, factor) => {
          const z = randomTensor([n, 4, h, w], h * 100 + w);
          const expected = await localDecoder(factor)(z);
          const tiled = await tiledDecode(localDecoder(factor), z, { tileSize, overlap: o % tileSize, factor });
          expect(maxAbsDiff(tiled, expected)).toBeLessThan(5e-6);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('encode: blended mean and logvar equal the untiled moments up to float rounding', async () => {
    for (const [h, w, tileSize, overlap] of [
      [64, 64, 32, 8],
      [72, 136, 32, 16],
      [24, 40, 64, 8],
      [48, 48, 16, 0],
    ] as const) {
      const x = randomTensor([2, 3, h, w], h + w);
      const expected = await localEncoder(8)(x);
      const tiled = await tiledEncode(localEncoder(8), x, { tileSize, overlap, factor: 8 });
      expect(tiled.mean.dims).toEqual([2, 4, h / 8, w / 8]);
      expect(maxAbsDiff(tiled.mean, expected.mean)).toBeLessThan(5e-6);
      expect(maxAbsDiff(tiled.logvar!, expected.logvar!)).toBeLessThan(5e-6);
    }
  });

  it('keeps a constant input constant (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 10 }),
        fc.nat(),
        fc.double({ min: -100, max: 100, noNaN: true }),
        async (h, w, tileSize, o, value) => {
          const z = new VaeTensor(new Float32Array(h * w).fill(value), [1, 1, h, w]);
          const out = await tiledDecode(async (tile) => upsample(tile, 2), z, { tileSize, overlap: o % tileSize, factor: 2 });
          const v = Math.fround(value);
          let worst = 0;
          for (const got of out.data) worst = Math.max(worst, Math.abs(got - v));
          expect(worst).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('runs tiles and batch items one at a time, each tile of batch 1 and the same size', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: string[] = [];
    const decodeTile = async (tile: VaeTensor) => {
      inFlight++;
      most = Math.max(most, inFlight);
      seen.push(JSON.stringify(tile.dims));
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      return localDecoder(8)(tile);
    };
    const z = randomTensor([3, 4, 20, 12], 1);
    const out = await tiledDecode(decodeTile, z, { tileSize: 8, overlap: 2, factor: 8 });
    expect(most).toBe(1);
    // 20 rows: starts 0, 6, 12; 12 columns: starts 0, 4. Six tiles per item, three items.
    expect(seen).toEqual(new Array(18).fill('[1,4,8,8]'));
    expect(maxAbsDiff(out, await localDecoder(8)(z))).toBeLessThan(5e-6);
  });

  it('passes a deterministic encoder through: logvar null', async () => {
    const x = randomTensor([1, 3, 32, 48], 2);
    const encodeTile = async (tile: VaeTensor) => ({ mean: (await localEncoder(8)(tile)).mean, logvar: null });
    const tiled = await tiledEncode(encodeTile, x, { tileSize: 16, overlap: 8, factor: 8 });
    expect(tiled.logvar).toBeNull();
    expect(maxAbsDiff(tiled.mean, (await localEncoder(8)(x)).mean)).toBeLessThan(5e-6);
  });
});

describe('tiledDecode with a non-local model (3x3 blur)', () => {
  const factor = 4;
  const z = randomTensor([1, 4, 48, 48], 7);
  const tileSize = 16;

  /** Output pixels within one latent pixel (the blur's radius) of a tile edge that is inside the image. */
  function borderMask(starts: readonly number[], length: number): Uint8Array {
    const size = 48 * factor;
    const mask = new Uint8Array(size);
    for (const start of starts) {
      for (const edge of [start, start + length]) {
        if (edge === 0 || edge === 48) continue;
        for (let p = (edge - 1) * factor; p < (edge + 1) * factor; p++) mask[p] = 1;
      }
    }
    return mask;
  }

  interface Errors {
    readonly border: number;
    readonly interior: number;
  }

  async function errors(overlap: number): Promise<Errors> {
    const expected = await blurDecoder(factor)(z);
    const tiled = await tiledDecode(blurDecoder(factor), z, { tileSize, overlap, factor });
    const mask = borderMask(tileStarts(48, tileSize, overlap), tileSize);
    const size = 48 * factor;
    let border = 0;
    let interior = 0;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) {
          const index = (c * size + i) * size + j;
          const error = Math.abs(tiled.data[index]! - expected.data[index]!);
          if (mask[i] || mask[j]) border = Math.max(border, error);
          else interior = Math.max(interior, error);
        }
      }
    }
    return { border, interior };
  }

  it('concentrates the error on tile borders, and wider ramps shrink it', async () => {
    const [hard, two, four, eight] = (await Promise.all([0, 2, 4, 8].map(errors))) as [Errors, Errors, Errors, Errors];
    // Interior pixels see the same neighbourhood in a tile as in the whole image: only rounding remains.
    for (const e of [hard, two, four, eight]) expect(e.interior).toBeLessThan(5e-6);
    expect(hard.border).toBeGreaterThan(0.5);
    // The wrong edge pixels of a tile weigh less as the ramp widens: (i + 0.5) / (overlap * factor) at pixel i.
    expect(two.border).toBeLessThan(hard.border * 0.7);
    expect(four.border).toBeLessThan(two.border * 0.7);
    expect(eight.border).toBeLessThan(four.border * 0.7);
    expect(eight.border).toBeLessThan(hard.border / 4);
  });
});

// ---- Options and errors ----

describe('tiling options', () => {
  it('exposes frozen per-model defaults', () => {
    expect(Object.isFrozen(TILING_PRESETS)).toBe(true);
    expect(Object.isFrozen(TILING_PRESETS.taef2.decode)).toBe(true);
    expect(DEFAULT_TILING_PRESET).toBe('kl-f8');
    expect(TILING_PRESETS['kl-f8']).toEqual({ factor: 8, encode: { tileSize: 512, overlap: 128 }, decode: { tileSize: 64, overlap: 16 } });
    for (const preset of Object.values(TILING_PRESETS)) {
      expect(preset.encode.tileSize % preset.factor).toBe(0);
      expect(preset.encode.overlap % preset.factor).toBe(0);
      expect(preset.decode.overlap).toBeLessThan(preset.decode.tileSize);
    }
  });

  it('uses the preset when sizes are not given', async () => {
    const dims: string[] = [];
    const z = randomTensor([1, 4, 100, 60], 3);
    await tiledDecode(
      async (tile) => {
        dims.push(JSON.stringify(tile.dims));
        return localDecoder(8)(tile);
      },
      z,
      { preset: 'taef2' },
    );
    // 100 rows with 64-tiles and 8 overlap: starts 0, 36; 60 columns: one tile.
    expect(dims).toEqual(['[1,4,64,60]', '[1,4,64,60]']);
  });

  it('takes a VAE preset by its family name, and reports each tile to onProgress', async () => {
    const z2 = randomTensor([2, 4, 100, 60], 3);
    const seen: [number, number][] = [];
    const byFamily = await tiledDecode(localDecoder(8), z2, { preset: 'flux-2-tiny', onProgress: (done, total) => void seen.push([done, total]) });
    expect(seen).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    expect(tilePlanOf('decode', 100, 60, { preset: 'flux-2-tiny' }).tiles.length).toBe(2);
    const byOldName = await tiledDecode(localDecoder(8), z2, { preset: 'taef2' });
    expect(Array.from(byFamily.data)).toEqual(Array.from(byOldName.data));
  });

  const z = randomTensor([1, 4, 16, 16], 4);
  const x = randomTensor([1, 3, 64, 64], 5);
  const decode = localDecoder(8);
  const encode = localEncoder(8);
  const cases: [string, () => Promise<unknown>, string, string][] = [
    [
      'preset',
      () => tiledDecode(decode, z, { preset: 'sd' as 'taef2' }),
      'INVALID_OPTION',
      'Expected "preset" to be one of "sd-1", "sd-2", "sdxl", "sd3", "flux-1", "flux-2-tiny", "taesd", "taesdxl", "taesd3", "taef1", "kl-f8", "taef2" but received "sd".',
    ],
    [
      'layout',
      () => tiledDecode(decode, z, { layout: 'NHWC' }),
      'INVALID_OPTION',
      'Expected "layout" to be "NCHW" (tiling works on [N, C, H, W] tensors only) but received "NHWC"; transpose the data to NCHW or encode and decode without tiling.',
    ],
    [
      'factor',
      () => tiledDecode(decode, z, { factor: 1.5 }),
      'INVALID_OPTION',
      'Expected "factor" to be a positive integer (image pixels per latent pixel, 8 for Stable-Diffusion-style VAEs) but received 1.5.',
    ],
    [
      'decode tileSize',
      () => tiledDecode(decode, z, { tileSize: 0 }),
      'INVALID_OPTION',
      'Expected "tileSize" to be a positive integer (latent pixels) but received 0.',
    ],
    [
      'decode overlap',
      () => tiledDecode(decode, z, { tileSize: 8, overlap: 8 }),
      'INVALID_OPTION',
      'Expected "overlap" to be an integer from 0 to 7 (below tileSize 8, latent pixels) but received 8.',
    ],
    [
      'encode tileSize',
      () => tiledEncode(encode, x, { tileSize: 100 }),
      'INVALID_OPTION',
      'Expected "tileSize" to be a positive multiple of 8 (image pixels) but received 100.',
    ],
    [
      'encode overlap',
      () => tiledEncode(encode, x, { tileSize: 64, overlap: -8 }),
      'INVALID_OPTION',
      'Expected "overlap" to be a multiple of 8 from 0 to 56 (below tileSize 64, image pixels) but received -8.',
    ],
    [
      'encode overlap too big',
      () => tiledEncode(encode, x, { tileSize: 64, overlap: 64 }),
      'INVALID_OPTION',
      'Expected "overlap" to be a multiple of 8 from 0 to 56 (below tileSize 64, image pixels) but received 64.',
    ],
    [
      'z rank',
      () => tiledDecode(decode, new VaeTensor(new Float32Array(16), [1, 16])),
      'SHAPE_MISMATCH',
      'Expected latents "z" of dims [N, C, H, W] but received [1, 16].',
    ],
    [
      'x size',
      () => tiledEncode(encode, randomTensor([1, 3, 60, 64], 6)),
      'SHAPE_MISMATCH',
      'Expected images "x" of dims [N, C, H, W] with H and W multiples of 8 but received [1, 3, 60, 64]; crop or pad the image to a multiple of 8.',
    ],
    [
      'decoder factor',
      () => tiledDecode(localDecoder(4), z, { tileSize: 8, overlap: 2 }),
      'MODEL_MISMATCH',
      'The decoder turned a tile of dims [1, 4, 8, 8] into "output" of dims [1, 3, 32, 32] but tiling expects [1, *, 64, 64]; set "factor" (now 8) to the decoder\'s output/latent size ratio.',
    ],
    [
      'encoder factor',
      () => tiledEncode(localEncoder(4), x, { tileSize: 32, overlap: 8 }),
      'MODEL_MISMATCH',
      'The encoder turned a tile of dims [1, 3, 32, 32] into "mean" of dims [1, 4, 8, 8] but tiling expects [1, *, 4, 4]; set "factor" (now 8) to the encoder\'s image/latent size ratio.',
    ],
  ];
  it.each(cases)('rejects a bad %s', async (_name, run, code, message) => {
    const error = await vaeErrorOf(run());
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it('rejects an encoder that gives a logvar for some tiles only', async () => {
    let calls = 0;
    const encodeTile = async (tile: VaeTensor) => {
      const moments = await encode(tile);
      return calls++ === 0 ? moments : { mean: moments.mean, logvar: null };
    };
    const error = await vaeErrorOf(tiledEncode(encodeTile, x, { tileSize: 32, overlap: 8 }));
    expect(error).toBeInstanceOf(ModelMismatchError);
    expect(error.message).toBe('The encoder gave "logvar" for some tiles but not for others; it must give the same outputs for every tile.');
  });

  it('rejects a tile output whose channels change between tiles', async () => {
    let calls = 0;
    const decodeTile = async (tile: VaeTensor) => (calls++ === 0 ? decode(tile) : upsample(mix(tile, DECODE.slice(0, 2)), 8));
    const error = await vaeErrorOf(tiledDecode(decodeTile, z, { tileSize: 8, overlap: 2 }));
    expect(error.code).toBe('MODEL_MISMATCH');
    expect(error.message).toBe(
      'The decoder turned a tile of dims [1, 4, 8, 8] into "output" of dims [1, 2, 64, 64] but tiling expects [1, 3, 64, 64]; set "factor" (now 8) to the decoder\'s output/latent size ratio.',
    );
  });
});
