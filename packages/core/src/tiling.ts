/**
 * Tiled encoding and decoding of large images (the approach of diffusers' `AutoencoderKL.tiled_encode/decode`): the
 * input is cut into overlapping tiles of one size, each tile runs through the graph on its own, and the tile outputs
 * are blended with linear ramps across the overlaps. The blend is a normalised weighted average written into one
 * preallocated output, so peak memory is one tile's activations plus the output (and a one-channel weight map),
 * whatever the image size or batch. NCHW tensors only.
 */
import { InvalidInputError, InvalidOptionError, ModelMismatchError, describe } from './errors.js';
import type { Layout } from './manifest.js';
import { VaeTensor, toTensor } from './tensor.js';
import type { TensorInput } from './tensor.js';

/** Tile size and overlap along both spatial axes, in the pixels of the tiled tensor. */
export interface TileSettings {
  /** Side of a square tile. */
  readonly tileSize: number;
  /** Pixels shared by neighbouring tiles, blended with linear ramps. */
  readonly overlap: number;
}

/** Tiling defaults of one model family. */
export interface TilingDefaults {
  /** Image pixels per latent pixel along each spatial axis. */
  readonly factor: number;
  /** Encoder tiles, in image pixels. */
  readonly encode: TileSettings;
  /** Decoder tiles, in latent pixels. */
  readonly decode: TileSettings;
}

/**
 * Tiling defaults per model family. Decoder tiles of 64 latent pixels give 512x512 image tiles for factor 8.
 * See docs/tiling.md for the measured seam errors behind the overlaps.
 */
export const TILING_PRESETS = Object.freeze({
  /**
   * Stable Diffusion's kl-f8 VAE (and other diffusers `AutoencoderKL`s): diffusers' own defaults, 25% overlap
   * (`tile_sample_min_size` 512, `tile_overlap_factor` 0.25). Its decoder has GroupNorm and a mid-block attention,
   * so a tile never sees the whole image; the wide overlap hides the difference.
   */
  'kl-f8': Object.freeze({
    factor: 8,
    encode: Object.freeze({ tileSize: 512, overlap: 128 }),
    decode: Object.freeze({ tileSize: 64, overlap: 16 }),
  }),
  /** TAEF2 (madebyollin/taesd, FLUX.2 latents, 32 channels): convolutional, small receptive field. */
  taef2: Object.freeze({
    factor: 8,
    encode: Object.freeze({ tileSize: 512, overlap: 64 }),
    decode: Object.freeze({ tileSize: 64, overlap: 8 }),
  }),
} as const satisfies Record<string, TilingDefaults>);
/** One of {@link TILING_PRESETS}. */
export type TilingPreset = keyof typeof TILING_PRESETS;

/** The preset used when options name none. */
export const DEFAULT_TILING_PRESET: TilingPreset = 'kl-f8';

/** Options shared by {@link tiledEncode} and {@link tiledDecode}. */
export interface TilingOptions {
  /** Where `tileSize`, `overlap` and `factor` default from. Default {@link DEFAULT_TILING_PRESET} (`'kl-f8'`). */
  readonly preset?: TilingPreset;
  /** Image pixels per latent pixel along each axis (8 for Stable-Diffusion-style VAEs). Default: the preset's. */
  readonly factor?: number;
  /** Layout of the tensors; only `'NCHW'` is tiled. Default `'NCHW'`. */
  readonly layout?: Layout;
}

/** Options of {@link tiledDecode}; sizes in latent pixels. */
export interface TiledDecodeOptions extends TilingOptions {
  /** Side of a latent tile, a positive integer. Default: the preset's (64 for `'kl-f8'`: 512x512 image tiles). */
  readonly tileSize?: number;
  /** Latent pixels shared by neighbouring tiles, `0 <= overlap < tileSize`. Default: the preset's (16 for `'kl-f8'`). */
  readonly overlap?: number;
}

/** Options of {@link tiledEncode}; sizes in image pixels. */
export interface TiledEncodeOptions extends TilingOptions {
  /** Side of an image tile, a positive multiple of `factor`. Default: the preset's (512 for `'kl-f8'`). */
  readonly tileSize?: number;
  /** Image pixels shared by neighbouring tiles, a multiple of `factor` below `tileSize`. Default: the preset's (128 for `'kl-f8'`). */
  readonly overlap?: number;
}

/** One tile: a rectangle of the tiled tensor's spatial grid. */
export interface TileRect {
  /** First row. */
  readonly top: number;
  /** First column. */
  readonly left: number;
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
}

/** Options of {@link planTiles}. */
export interface PlanTilesOptions extends TileSettings {
  /** Tile positions, sizes and the overlap are multiples of this (the model's factor for image tiles). Default 1. */
  readonly align?: number;
}

/**
 * A tiling of an `height` x `width` grid: the tiles of one size on a grid of row and column starts. Along each axis
 * the tiles step by `tileSize - overlap`, and the last tile is moved back to end at the far edge, so it may overlap
 * its neighbour by more than `overlap`. An axis shorter than a tile gets one tile of its full length.
 */
export interface TilePlan {
  /** Rows of the grid. */
  readonly height: number;
  /** Columns of the grid. */
  readonly width: number;
  /** Rows of every tile: `min(tileSize, height)`. */
  readonly tileHeight: number;
  /** Columns of every tile: `min(tileSize, width)`. */
  readonly tileWidth: number;
  /** First row of each row of tiles, increasing. */
  readonly tops: readonly number[];
  /** First column of each column of tiles, increasing. */
  readonly lefts: readonly number[];
  /** All tiles, row-major (`tops` outer, `lefts` inner). */
  readonly tiles: readonly TileRect[];
}

/** Runs one tile of latents through the decoder: dims `[1, C, h, w]` in, `[1, C', h * factor, w * factor]` out. */
export type DecodeTile = (z: VaeTensor) => Promise<VaeTensor>;

/** The posterior moments of one tile or one image; `logvar` is `null` for a deterministic encoder. */
export interface TiledMoments {
  /** Posterior mean, dims `[N, C, H / factor, W / factor]`. */
  readonly mean: VaeTensor;
  /** Log-variance, the same dims, or `null` when the encoder gives a point. */
  readonly logvar: VaeTensor | null;
}

/**
 * An input read tile by tile instead of held whole (an image decoded region by region): {@link tiledEncode} asks for
 * the regions of item 0 in row-major order (rows of tiles top to bottom, left to right within a row), then item 1,
 * and so on, so a source can stream.
 */
export interface TileSource {
  /** Dims of the whole input, `[N, C, H, W]`. */
  readonly dims: readonly number[];
  /** The region `rect` of item `item`, dims `[1, C, rect.height, rect.width]`. */
  region(item: number, rect: TileRect): Promise<VaeTensor>;
}

/** Whether a value is a {@link TileSource} (not a tensor). */
export function isTileSource(value: unknown): value is TileSource {
  return typeof value === 'object' && value !== null && typeof (value as TileSource).region === 'function' && Array.isArray((value as TileSource).dims);
}

/** A whole tensor as a {@link TileSource}. */
function tensorSource(input: VaeTensor): TileSource {
  return { dims: input.dims, region: async (item, rect) => extractTile(input, item, rect) };
}

/** Runs one image tile through the encoder: dims `[1, 3, h, w]` in, moments of dims `[1, C, h / factor, w / factor]` out. */
export type EncodeTile = (x: VaeTensor) => Promise<TiledMoments>;

const isPositiveInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Where tiles start along one axis of `size` pixels: every `tileSize - overlap` from 0, the last one moved back to
 * `size - tileSize`; `[0]` when the axis is not longer than a tile. Inputs are trusted (see {@link planTiles}).
 */
export function tileStarts(size: number, tileSize: number, overlap: number): number[] {
  if (size <= tileSize) return [0];
  const stride = tileSize - overlap;
  const starts = [0];
  while (starts[starts.length - 1]! + tileSize < size) starts.push(Math.min(starts[starts.length - 1]! + stride, size - tileSize));
  return starts;
}

/**
 * Plans the tiles covering an `height` x `width` grid.
 *
 * @param height - rows, a positive multiple of `align`
 * @param width - columns, a positive multiple of `align`
 * @param options - `tileSize` (a positive multiple of `align`), `overlap` (a multiple of `align`, `0 <= overlap <
 *   tileSize`), `align` (default 1)
 * @throws {@link InvalidOptionError} for bad options; {@link InvalidInputError} `INVALID_INPUT` for bad sizes
 * @example
 * planTiles(1024, 1024, { tileSize: 512, overlap: 64, align: 8 }).tops; // [0, 448, 512]
 */
export function planTiles(height: number, width: number, options: PlanTilesOptions): TilePlan {
  const align = options.align ?? 1;
  if (!isPositiveInteger(align)) throw new InvalidOptionError('align', `Expected "align" to be a positive integer but received ${describe(options.align)}.`);
  const { tileSize, overlap } = checkTileSettings(options.tileSize, options.overlap, align, 'pixels');
  for (const [argument, size] of [['height', height], ['width', width]] as const) {
    if (!isPositiveInteger(size) || size % align !== 0) {
      throw new InvalidInputError('INVALID_INPUT', argument, `Expected "${argument}" to be a positive multiple of ${align} but received ${describe(size)}.`);
    }
  }
  const tops = tileStarts(height, tileSize, overlap);
  const lefts = tileStarts(width, tileSize, overlap);
  const tileHeight = Math.min(tileSize, height);
  const tileWidth = Math.min(tileSize, width);
  const tiles = tops.flatMap((top) => lefts.map((left) => Object.freeze({ top, left, height: tileHeight, width: tileWidth })));
  return Object.freeze({ height, width, tileHeight, tileWidth, tops: Object.freeze(tops), lefts: Object.freeze(lefts), tiles: Object.freeze(tiles) });
}

/**
 * Blend weights along one axis: for tiles of `length` pixels at `starts`, one array of `length` weights per tile.
 * Across the overlap with each neighbour the weight ramps linearly, sampled at pixel centres (`(i + 0.5) / overlap`
 * up from the near neighbour, the mirror image down towards the far one), so in an overlap of two tiles the weights
 * sum to 1; elsewhere, and on the image's edges, the weight is 1. Where a tile ramps on both sides at once the
 * smaller weight wins. Every weight is in (0, 1].
 *
 * @param starts - first pixel of each tile, increasing (as from {@link tileStarts}); trusted, not checked
 * @param length - pixels of every tile
 */
export function rampWeights(starts: readonly number[], length: number): Float32Array[] {
  return starts.map((start, index) => {
    const weights = new Float32Array(length).fill(1);
    const before = index > 0 ? Math.max(0, Math.min(length, starts[index - 1]! + length - start)) : 0;
    const after = index < starts.length - 1 ? Math.max(0, Math.min(length, start + length - starts[index + 1]!)) : 0;
    for (let i = 0; i < before; i++) weights[i] = (i + 0.5) / before;
    for (let i = length - after; i < length; i++) weights[i] = Math.min(weights[i]!, (length - i - 0.5) / after);
    return weights;
  });
}

function checkTileSettings(tileSize: unknown, overlap: unknown, multiple: number, unit: string): TileSettings {
  if (!isPositiveInteger(tileSize) || tileSize % multiple !== 0) {
    const what = multiple === 1 ? 'a positive integer' : `a positive multiple of ${multiple}`;
    throw new InvalidOptionError('tileSize', `Expected "tileSize" to be ${what} (${unit}) but received ${describe(tileSize)}.`);
  }
  if (!isCount(overlap) || overlap % multiple !== 0 || overlap >= tileSize) {
    const what = multiple === 1 ? 'an integer' : `a multiple of ${multiple}`;
    throw new InvalidOptionError('overlap', `Expected "overlap" to be ${what} from 0 to ${tileSize - multiple} (below tileSize ${tileSize}, ${unit}) but received ${describe(overlap)}.`);
  }
  return { tileSize, overlap };
}

interface Resolved extends TileSettings {
  readonly factor: number;
}

function resolveOptions(options: TiledDecodeOptions | TiledEncodeOptions, stage: 'encode' | 'decode'): Resolved {
  const presetName = options.preset ?? DEFAULT_TILING_PRESET;
  if (typeof presetName !== 'string' || !Object.hasOwn(TILING_PRESETS, presetName)) {
    throw new InvalidOptionError('preset', `Expected "preset" to be one of ${Object.keys(TILING_PRESETS).map((k) => `"${k}"`).join(', ')} but received ${describe(options.preset)}.`);
  }
  const layout = options.layout ?? 'NCHW';
  if (layout !== 'NCHW') {
    throw new InvalidOptionError('layout', `Expected "layout" to be "NCHW" (tiling works on [N, C, H, W] tensors only) but received ${describe(options.layout)}; transpose the data to NCHW or encode and decode without tiling.`);
  }
  const preset: TilingDefaults = TILING_PRESETS[presetName];
  const factor = options.factor ?? preset.factor;
  if (!isPositiveInteger(factor)) throw new InvalidOptionError('factor', `Expected "factor" to be a positive integer (image pixels per latent pixel, 8 for Stable-Diffusion-style VAEs) but received ${describe(options.factor)}.`);
  const defaults = preset[stage];
  // A preset's image tiles are multiples of its own factor; with another factor, explicit sizes are needed.
  const settings =
    stage === 'encode'
      ? checkTileSettings(options.tileSize ?? defaults.tileSize, options.overlap ?? defaults.overlap, factor, 'image pixels')
      : checkTileSettings(options.tileSize ?? defaults.tileSize, options.overlap ?? defaults.overlap, 1, 'latent pixels');
  return { ...settings, factor };
}

function spatialInput(input: TensorInput, argument: string, multiple: number, what: string): VaeTensor {
  const tensor = toTensor(input, argument);
  const dims = tensor.dims;
  if (dims.length !== 4 || dims.some((d) => d < 1) || dims[2]! % multiple !== 0 || dims[3]! % multiple !== 0) {
    const sizes = multiple === 1 ? '' : ` with H and W multiples of ${multiple}`;
    const fix = multiple === 1 ? '' : `; crop or pad the image to a multiple of ${multiple}`;
    throw new InvalidInputError('SHAPE_MISMATCH', argument, `Expected ${what} "${argument}" of dims [N, C, H, W]${sizes} but received ${describe([...dims])}${fix}.`);
  }
  return tensor;
}

function sourceInput(source: TileSource, multiple: number): TileSource {
  const dims = source.dims;
  if (dims.length !== 4 || !dims.every((d) => Number.isSafeInteger(d) && d >= 1) || dims[2]! % multiple !== 0 || dims[3]! % multiple !== 0) {
    throw new InvalidInputError('SHAPE_MISMATCH', 'x', `Expected a tile source of dims [N, C, H, W] with H and W multiples of ${multiple} but received ${describe([...dims])}.`);
  }
  return source;
}

/** Copies tile `rect` of item `item` out of an NCHW tensor into a new `[1, C, h, w]` tensor. */
function extractTile(input: VaeTensor, item: number, rect: TileRect): VaeTensor {
  const [, channels, height, width] = input.dims as [number, number, number, number];
  const out = new Float32Array(channels * rect.height * rect.width);
  const source = input.data;
  for (let c = 0; c < channels; c++) {
    const plane = (item * channels + c) * height * width;
    for (let i = 0; i < rect.height; i++) {
      const from = plane + (rect.top + i) * width + rect.left;
      out.set(source.subarray(from, from + rect.width), (c * rect.height + i) * rect.width);
    }
  }
  return new VaeTensor(out, [1, channels, rect.height, rect.width]);
}

/** The output-side geometry of a plan (every size scaled to the output grid) and its blend weights. */
interface Blend extends Omit<TilePlan, 'tiles'> {
  readonly rowWeights: readonly Float32Array[];
  readonly columnWeights: readonly Float32Array[];
  /** Sum of all tiles' weights per output pixel (one channel). */
  readonly weightSum: Float32Array;
}

/** The output-side blend of a plan whose output is `up / down` times the input. */
function blendOf(plan: TilePlan, up: number, down: number): Blend {
  const scale = (n: number) => (n * up) / down;
  const height = scale(plan.height);
  const width = scale(plan.width);
  const tileHeight = scale(plan.tileHeight);
  const tileWidth = scale(plan.tileWidth);
  const tops = plan.tops.map(scale);
  const lefts = plan.lefts.map(scale);
  const rowWeights = rampWeights(tops, tileHeight);
  const columnWeights = rampWeights(lefts, tileWidth);
  const weightSum = new Float32Array(height * width);
  tops.forEach((top, r) => {
    lefts.forEach((left, c) => {
      const rows = rowWeights[r]!;
      const columns = columnWeights[c]!;
      for (let i = 0; i < tileHeight; i++) {
        const base = (top + i) * width + left;
        for (let j = 0; j < tileWidth; j++) weightSum[base + j]! += rows[i]! * columns[j]!;
      }
    });
  });
  return { height, width, tileHeight, tileWidth, tops, lefts, rowWeights, columnWeights, weightSum };
}

/**
 * Runs every tile of every item through `run` (one at a time) and blends the outputs. `run` returns a fixed list of
 * outputs per tile (an entry may be `null` on every tile, e.g. the logvar of a deterministic encoder).
 */
async function runTiled(
  input: TileSource,
  plan: TilePlan,
  up: number,
  down: number,
  run: (tile: VaeTensor) => Promise<readonly (VaeTensor | null)[]>,
  graph: 'encoder' | 'decoder',
  names: readonly string[],
  hint: string,
): Promise<(VaeTensor | null)[]> {
  const batch = input.dims[0]!;
  const blend = blendOf(plan, up, down);
  const plane = blend.height * blend.width;
  let outputs: (Float32Array | null)[] | null = null;
  let channels: number[] = [];
  for (let item = 0; item < batch; item++) {
    for (let r = 0; r < plan.tops.length; r++) {
      for (let c = 0; c < plan.lefts.length; c++) {
        const rect = plan.tiles[r * plan.lefts.length + c]!;
        const tile = await input.region(item, rect);
        if (tile.dims.length !== 4 || tile.dims[0] !== 1 || tile.dims[1] !== input.dims[1] || tile.dims[2] !== rect.height || tile.dims[3] !== rect.width) {
          throw new InvalidInputError('SHAPE_MISMATCH', 'x', `The tile source gave a region of dims ${describe([...tile.dims])} for ${rect.height}x${rect.width} at (${rect.top}, ${rect.left}); expected [1, ${input.dims[1]}, ${rect.height}, ${rect.width}].`);
        }
        const results = (await run(tile)).map((result) => result ?? null);
        if (outputs === null) {
          channels = results.map((result, k) => (result === null ? 0 : checkTileOutput(result, null, blend, tile, graph, names[k]!, hint)));
          outputs = channels.map((ch, k) => (results[k] === null ? null : new Float32Array(batch * ch * plane)));
        }
        for (let k = 0; k < names.length; k++) {
          const result = results[k]!;
          const target = outputs[k]!;
          if ((result === null) !== (target === null)) {
            throw new ModelMismatchError(graph, `The ${graph} gave "${names[k]}" for some tiles but not for others; it must give the same outputs for every tile.`);
          }
          if (result === null) continue;
          checkTileOutput(result, channels[k]!, blend, tile, graph, names[k]!, hint);
          accumulate(target, item * channels[k]! * plane, channels[k]!, blend, r, c, result.data);
        }
      }
    }
    for (let k = 0; k < names.length; k++) {
      const target = outputs?.[k];
      if (!target) continue;
      const weightSum = blend.weightSum;
      const start = item * channels[k]! * plane;
      for (let ch = 0; ch < channels[k]!; ch++) {
        const base = start + ch * plane;
        for (let p = 0; p < plane; p++) target[base + p]! /= weightSum[p]!;
      }
    }
  }
  return (outputs ?? []).map((data, k) => (data === null ? null : new VaeTensor(data, [batch, channels[k]!, blend.height, blend.width])));
}

function checkTileOutput(result: VaeTensor, channels: number | null, blend: Blend, tile: VaeTensor, graph: 'encoder' | 'decoder', name: string, hint: string): number {
  const dims = result.dims;
  const ok = dims.length === 4 && dims[0] === 1 && dims[1]! >= 1 && (channels === null || dims[1] === channels) && dims[2] === blend.tileHeight && dims[3] === blend.tileWidth;
  if (!ok) {
    const expected = `[1, ${channels ?? '*'}, ${blend.tileHeight}, ${blend.tileWidth}]`;
    throw new ModelMismatchError(graph, `The ${graph} turned a tile of dims ${describe([...tile.dims])} into "${name}" of dims ${describe([...dims])} but tiling expects ${expected}; ${hint}`);
  }
  return dims[1]!;
}

function accumulate(target: Float32Array, offset: number, channels: number, blend: Blend, r: number, c: number, tile: Float32Array): void {
  const { width, tileHeight, tileWidth } = blend;
  const plane = blend.height * width;
  const top = blend.tops[r]!;
  const left = blend.lefts[c]!;
  const rows = blend.rowWeights[r]!;
  const columns = blend.columnWeights[c]!;
  for (let ch = 0; ch < channels; ch++) {
    for (let i = 0; i < tileHeight; i++) {
      const weight = rows[i]!;
      const to = offset + ch * plane + (top + i) * width + left;
      const from = (ch * tileHeight + i) * tileWidth;
      for (let j = 0; j < tileWidth; j++) target[to + j]! += weight * columns[j]! * tile[from + j]!;
    }
  }
}

/**
 * Decodes latents tile by tile and blends the tiles with linear ramps across the overlaps, so memory grows with the
 * tile, not the image: tiles and batch items run one at a time into one preallocated output. Tiles are squares of
 * `tileSize` latent pixels stepping by `tileSize - overlap`; the last one on each axis ends at the far edge.
 *
 * @param decodeTile - decodes one tile, dims `[1, C, h, w]` to `[1, C', h * factor, w * factor]`; called sequentially
 * @param z - latents, dims `[N, C, H, W]` (NCHW)
 * @param options - `preset` (default `'kl-f8'`), `tileSize` and `overlap` in latent pixels (default: the preset's,
 *   64 and 16 for `'kl-f8'`), `factor` (default: the preset's, 8), `layout` (only `'NCHW'`)
 * @returns the blended output, dims `[N, C', H * factor, W * factor]`
 * @throws {@link InvalidOptionError} for bad options, listing the valid range; {@link InvalidInputError}
 *   `SHAPE_MISMATCH` when `z` is not `[N, C, H, W]`; {@link ModelMismatchError} when a tile's output is not
 *   `factor` times its input
 * @example
 * const image = await tiledDecode((tile) => vae.decode(tile), z, { preset: 'taef2' });
 */
export async function tiledDecode(decodeTile: DecodeTile, z: TensorInput, options: TiledDecodeOptions = {}): Promise<VaeTensor> {
  if (typeof decodeTile !== 'function') throw new InvalidOptionError('decodeTile', `Expected "decodeTile" to be a function but received ${describe(decodeTile)}.`);
  const { tileSize, overlap, factor } = resolveOptions(options, 'decode');
  const latent = spatialInput(z, 'z', 1, 'latents');
  const plan = planTiles(latent.dims[2]!, latent.dims[3]!, { tileSize, overlap });
  const hint = `set "factor" (now ${factor}) to the decoder's output/latent size ratio.`;
  const [image] = await runTiled(tensorSource(latent), plan, factor, 1, async (tile) => [await decodeTile(tile)], 'decoder', ['output'], hint);
  return image!;
}

/**
 * Encodes images tile by tile and blends the tiles' posterior moments (mean and logvar, as diffusers does) with
 * linear ramps across the overlaps. Tiles and batch items run one at a time into preallocated outputs. Tiles are
 * squares of `tileSize` image pixels stepping by `tileSize - overlap`; the last one on each axis ends at the far edge.
 *
 * @param encodeTile - encodes one tile, dims `[1, C, h, w]` to moments of dims `[1, C', h / factor, w / factor]`;
 *   called sequentially
 * @param x - images, dims `[N, C, H, W]` (NCHW), H and W multiples of `factor`; or a {@link TileSource} of such
 *   dims, read region by region (peak memory is then one tile plus the outputs, whatever the image size)
 * @param options - `preset` (default `'kl-f8'`), `tileSize` and `overlap` in image pixels, multiples of `factor`
 *   (default: the preset's, 512 and 128 for `'kl-f8'`), `factor` (default: the preset's, 8), `layout` (only `'NCHW'`)
 * @returns blended `mean` and `logvar` (`null` when every tile's is), dims `[N, C', H / factor, W / factor]`
 * @throws {@link InvalidOptionError} for bad options, listing the valid range; {@link InvalidInputError}
 *   `SHAPE_MISMATCH` when `x` is not `[N, C, H, W]` with H and W multiples of `factor`; {@link ModelMismatchError}
 *   when a tile's moments are not `1 / factor` of its size
 * @example
 * const { mean, logvar } = await tiledEncode(async (tile) => {
 *   const q = await vae.encode(tile);
 *   return { mean: q.mean, logvar: q.deterministic ? null : q.logvar };
 * }, x, { preset: 'taef2' });
 */
export async function tiledEncode(encodeTile: EncodeTile, x: TensorInput | TileSource, options: TiledEncodeOptions = {}): Promise<TiledMoments> {
  if (typeof encodeTile !== 'function') throw new InvalidOptionError('encodeTile', `Expected "encodeTile" to be a function but received ${describe(encodeTile)}.`);
  const { tileSize, overlap, factor } = resolveOptions(options, 'encode');
  const data = isTileSource(x) ? sourceInput(x, factor) : tensorSource(spatialInput(x, 'x', factor, 'images'));
  const plan = planTiles(data.dims[2]!, data.dims[3]!, { tileSize, overlap, align: factor });
  const hint = `set "factor" (now ${factor}) to the encoder's image/latent size ratio.`;
  const [mean, logvar] = await runTiled(
    data,
    plan,
    1,
    factor,
    async (tile) => {
      const moments = await encodeTile(tile);
      return [moments.mean, moments.logvar];
    },
    'encoder',
    ['mean', 'logvar'],
    hint,
  );
  return { mean: mean!, logvar: logvar ?? null };
}
