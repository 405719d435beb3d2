/**
 * Tiled encoding and decoding of large images (the approach of diffusers' `AutoencoderKL.tiled_encode/decode`): the
 * input is cut into overlapping tiles of one size, each tile runs through the graph on its own, and the tile outputs
 * are blended with linear ramps across the overlaps. The blend is a normalised weighted average written into one
 * preallocated output, so peak memory is one tile's activations plus the output (and a one-channel weight map),
 * whatever the image size or batch. NCHW tensors only.
 */
import { InvalidInputError, describe } from '../errors.js';
import { PRESETS } from '../manifest/presets.js';
import type { PresetName } from '../manifest/presets.js';
import type { Layout } from '../manifest/types.js';
import { toTensor } from '../tensor/tensor.js';
import type { TensorInput, VaeTensor } from '../tensor/tensor.js';
import { choiceList, functionOption, invalidOption, isPositiveInteger } from '../validate.js';
import { runTiled } from './blend.js';
import { TILING_PRESETS } from './defaults.js';
import type { TilingDefaults } from './defaults.js';
import { checkTileSettings, planTiles } from './plan.js';
import type { TilePlan, TileSettings } from './plan.js';
import { isTileSource, tensorSource } from './source.js';
import type { TileSource } from './source.js';

/** Names {@link TilingOptions.preset} takes: a VAE preset (`PRESETS`), or the older `'kl-f8'` / `'taef2'`. */
export type TilingPreset = PresetName | keyof typeof TILING_PRESETS;

/** The preset used when options name none (the defaults of diffusers' `AutoencoderKL`). */
export const DEFAULT_TILING_PRESET: TilingPreset = 'kl-f8';

/**
 * The tiling defaults of a preset name: a VAE preset's, or one of the older {@link TILING_PRESETS}.
 *
 * @throws {@link InvalidOptionError} listing the valid names
 */
export function tilingDefaults(preset: unknown): TilingDefaults {
  if (typeof preset === 'string' && Object.hasOwn(PRESETS, preset)) return PRESETS[preset as PresetName].tiling;
  if (typeof preset === 'string' && Object.hasOwn(TILING_PRESETS, preset)) return TILING_PRESETS[preset as keyof typeof TILING_PRESETS];
  throw invalidOption('preset', `one of ${choiceList({ ...PRESETS, ...TILING_PRESETS })}`, preset);
}

/** Called after each tile with the tiles done and the total (batch items x tiles per item). */
export type TileProgress = (done: number, total: number) => void;
/** Options shared by {@link tiledEncode} and {@link tiledDecode}. */
export interface TilingOptions {
  /** Where `tileSize`, `overlap` and `factor` default from. Default {@link DEFAULT_TILING_PRESET} (`'kl-f8'`). */
  readonly preset?: TilingPreset;
  /** Image pixels per latent pixel along each axis (8 for Stable-Diffusion-style VAEs). Default: the preset's. */
  readonly factor?: number;
  /** Layout of the tensors; only `'NCHW'` is tiled. Default `'NCHW'`. */
  readonly layout?: Layout;
  /** Called after each tile with the tiles done and the total. */
  readonly onProgress?: TileProgress;
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

/** Runs one tile of latents through the decoder: dims `[1, C, h, w]` in, `[1, C', h * factor, w * factor]` out. */
export type DecodeTile = (z: VaeTensor) => Promise<VaeTensor>;

/** The posterior moments of one tile or one image; `logvar` is `null` for a deterministic encoder. */
export interface TiledMoments {
  /** Posterior mean, dims `[N, C, H / factor, W / factor]`. */
  readonly mean: VaeTensor;
  /** Log-variance, the same dims, or `null` when the encoder gives a point. */
  readonly logvar: VaeTensor | null;
}

/** Runs one image tile through the encoder: dims `[1, 3, h, w]` in, moments of dims `[1, C, h / factor, w / factor]` out. */
export type EncodeTile = (x: VaeTensor) => Promise<TiledMoments>;

interface Resolved extends TileSettings {
  readonly factor: number;
}

function resolveOptions(options: TiledDecodeOptions | TiledEncodeOptions, stage: 'encode' | 'decode'): Resolved {
  const preset = tilingDefaults(options.preset ?? DEFAULT_TILING_PRESET);
  const layout = options.layout ?? 'NCHW';
  if (layout !== 'NCHW') {
    throw invalidOption(
      'layout',
      '"NCHW" (tiling works on [N, C, H, W] tensors only)',
      options.layout,
      'transpose the data to NCHW or encode and decode without tiling',
    );
  }
  const factor = options.factor ?? preset.factor;
  if (!isPositiveInteger(factor))
    throw invalidOption('factor', 'a positive integer (image pixels per latent pixel, 8 for Stable-Diffusion-style VAEs)', options.factor);
  functionOption(options.onProgress, 'onProgress');
  const defaults = preset[stage];
  // A preset's image tiles are multiples of its own factor; with another factor, explicit sizes are needed.
  const settings =
    stage === 'encode'
      ? checkTileSettings(options.tileSize ?? defaults.tileSize, options.overlap ?? defaults.overlap, factor, 'image pixels')
      : checkTileSettings(options.tileSize ?? defaults.tileSize, options.overlap ?? defaults.overlap, 1, 'latent pixels');
  return { ...settings, factor };
}

/**
 * The tile plan that {@link tiledEncode} (`'encode'`, sizes in image pixels) or {@link tiledDecode} (`'decode'`, in
 * latent pixels) uses for a grid of `height` x `width`, e.g. to count the graph runs ahead.
 *
 * @throws {@link InvalidOptionError} for bad options
 */
export function tilePlanOf(stage: 'encode' | 'decode', height: number, width: number, options: TiledEncodeOptions | TiledDecodeOptions = {}): TilePlan {
  const { tileSize, overlap, factor } = resolveOptions(options, stage);
  return planTiles(height, width, stage === 'encode' ? { tileSize, overlap, align: factor } : { tileSize, overlap });
}

function spatialInput(input: TensorInput, argument: string, multiple: number, what: string): VaeTensor {
  const tensor = toTensor(input, argument);
  const dims = tensor.dims;
  if (dims.length !== 4 || dims.some((d) => d < 1) || dims[2]! % multiple !== 0 || dims[3]! % multiple !== 0) {
    const sizes = multiple === 1 ? '' : ` with H and W multiples of ${multiple}`;
    const fix = multiple === 1 ? '' : `; crop or pad the image to a multiple of ${multiple}`;
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      argument,
      `Expected ${what} "${argument}" of dims [N, C, H, W]${sizes} but received ${describe([...dims])}${fix}.`,
    );
  }
  return tensor;
}

function sourceInput(source: TileSource, multiple: number): TileSource {
  const dims = source.dims;
  if (dims.length !== 4 || !dims.every((d) => Number.isSafeInteger(d) && d >= 1) || dims[2]! % multiple !== 0 || dims[3]! % multiple !== 0) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      'x',
      `Expected a tile source of dims [N, C, H, W] with H and W multiples of ${multiple} but received ${describe([...dims])}.`,
    );
  }
  return source;
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
  if (typeof decodeTile !== 'function') throw invalidOption('decodeTile', 'a function', decodeTile);
  const { tileSize, overlap, factor } = resolveOptions(options, 'decode');
  const latent = spatialInput(z, 'z', 1, 'latents');
  const plan = planTiles(latent.dims[2]!, latent.dims[3]!, { tileSize, overlap });
  const hint = `set "factor" (now ${factor}) to the decoder's output/latent size ratio.`;
  const [image] = await runTiled(
    tensorSource(latent),
    plan,
    factor,
    1,
    async (tile) => [await decodeTile(tile)],
    'decoder',
    ['output'],
    hint,
    options.onProgress,
  );
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
  if (typeof encodeTile !== 'function') throw invalidOption('encodeTile', 'a function', encodeTile);
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
    options.onProgress,
  );
  return { mean: mean!, logvar: logvar ?? null };
}
