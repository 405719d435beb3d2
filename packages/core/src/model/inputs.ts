/**
 * Checks at the boundary of the {@link Vae} API: data and latent tensors against the manifest, images read through
 * the runtime's codec, and image-model inputs fitted to the spatial factor.
 */
import { InvalidInputError, InvalidOptionError, describe } from '../errors.js';
import { ALPHA_MODES, IMAGE_FITS } from '../image/codec.js';
import type { ImageCodec, ImageReadOptions, ImageTileSource } from '../image/codec.js';
import { checkLimit } from '../limits.js';
import type { ResolvedLimits } from '../limits.js';
import type { Dim, Manifest } from '../manifest/types.js';
import { padToMultiple } from '../tensor/spatial.js';
import type { SpatialSize } from '../tensor/spatial.js';
import { VaeTensor, assertFinite, toTensor } from '../tensor/tensor.js';
import type { TensorInput } from '../tensor/tensor.js';
import { optionChoice } from '../validate.js';
import { checkBatchItems, checkUntiledInput } from './limit-checks.js';

/** Data ready for the encoder, and the size before padding (`null` when nothing was padded). @internal */
export interface Prepared {
  readonly tensor: VaeTensor;
  readonly original: SpatialSize | null;
}

/**
 * Checks dims `[N, ...itemShape]` (`null` entries take any size).
 *
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH`
 * @internal
 */
export function checkShape(dims: readonly number[], itemShape: readonly Dim[], argument: string, what: string, modelName: string, hint = ''): void {
  const ok = dims.length === itemShape.length + 1 && dims[0]! >= 1 && itemShape.every((d, i) => (d === null ? dims[i + 1]! >= 1 : d === dims[i + 1]));
  if (!ok) {
    const expected = `[N, ${itemShape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      argument,
      `Expected ${what} "${argument}" of shape ${expected} for model "${modelName}" but received ${describe([...dims])}${hint}.`,
    );
  }
}

/**
 * The tensor with values of its own where they are still the caller's buffer: copied at call time (synchronously,
 * before the call's first await), so a caller that reuses or pools its Float32Array after calling cannot change the
 * result. Costs one memcpy of the input (`node bench/input-copy.mjs`: about 0.4 ms for 256 MNIST items or one
 * 512x512 RGB image, 2% and 0.05% of their encode calls on onnxruntime-node). Images read by the codec are not
 * copied again.
 *
 * @internal
 */
export function ownValues(tensor: VaeTensor, given: unknown): VaeTensor {
  const buffer = (given as { readonly data?: { readonly buffer?: unknown } } | null | undefined)?.data?.buffer;
  return buffer === tensor.data.buffer ? new VaeTensor(tensor.data.slice(), tensor.dims) : tensor;
}

/** A data tensor of the manifest's shape, finite, with values of its own (see {@link ownValues}). @internal */
export function dataInput(manifest: Manifest, x: TensorInput, argument: string): VaeTensor {
  const tensor = toTensor(x, argument);
  const image = manifest.data.image;
  const hint =
    image && manifest.data.layout === 'flat'
      ? `; flatten each ${image.height}x${image.width} image to ${image.channels * image.height * image.width} values`
      : '';
  checkShape(tensor.dims, manifest.data.shape, argument, 'data', manifest.name, hint);
  assertFinite(tensor, argument);
  return ownValues(tensor, x);
}

/** A latent tensor of the manifest's latent shape, finite, with values of its own (see {@link ownValues}). @internal */
export function latentInput(manifest: Manifest, z: TensorInput, argument: string): VaeTensor {
  const tensor = toTensor(z, argument);
  checkShape(tensor.dims, manifest.latent.shape, argument, 'latent', manifest.name);
  assertFinite(tensor, argument);
  return ownValues(tensor, z);
}

/**
 * The latent item shape to draw: the manifest's, or `given` where the manifest leaves sizes open.
 *
 * @throws {@link InvalidOptionError} `latentShape`
 * @internal
 */
export function latentItemShape(manifest: Manifest, given: readonly number[] | undefined): number[] {
  const shape = manifest.latent.shape;
  if (given === undefined) {
    if (shape.includes(null)) {
      throw new InvalidOptionError(
        'latentShape',
        `Model "${manifest.name}" leaves latent sizes open (${describe([...shape])}); pass "latentShape" with the sizes to draw.`,
      );
    }
    return shape as number[];
  }
  const ok =
    Array.isArray(given) && given.length === shape.length && given.every((d, i) => Number.isSafeInteger(d) && d >= 1 && (shape[i] === null || shape[i] === d));
  if (!ok)
    throw new InvalidOptionError(
      'latentShape',
      `Expected "latentShape" to fit the manifest's latent shape ${describe([...shape])} but received ${describe(given)}.`,
    );
  return [...given];
}

/**
 * The spatial factor of an image model, for an option that needs one.
 *
 * @throws {@link InvalidOptionError} for a model that is not an NCHW image model with `latent.spatialFactor`
 * @internal
 */
export function spatialFactor(manifest: Manifest, option: string): number {
  const factor = manifest.latent.spatialFactor;
  if (factor === undefined || manifest.data.layout !== 'NCHW') {
    throw new InvalidOptionError(
      option,
      `"${option}" needs an image model with an NCHW layout and latent.spatialFactor in its manifest; model "${manifest.name}" has layout "${manifest.data.layout}"${factor === undefined ? ' and no spatialFactor' : ''}.`,
    );
  }
  return factor;
}

function fitToFactor(manifest: Manifest, tensor: VaeTensor, padding: 'pad' | 'refuse'): Prepared {
  const factor = manifest.latent.spatialFactor ?? 1;
  const layout = manifest.data.layout;
  if (factor === 1 || layout === 'flat') return { tensor, original: null };
  const padded = padToMultiple(tensor, factor, layout);
  if (padded.tensor === tensor) return { tensor, original: null };
  if (padding === 'refuse') {
    const { height, width } = padded.original;
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      'x',
      `Model "${manifest.name}" needs heights and widths that are multiples of ${factor} here, but "x" is ${width}x${height}; padding would change the likelihood, so crop or resize it (images: fit "crop" or "resize").`,
    );
  }
  return { tensor: padded.tensor, original: padded.original };
}

/**
 * Data for the graphs from tensors or images: images read by the runtime's codec, shapes and values checked, and
 * image-model inputs padded to the spatial factor (`'pad'`) or refused when they are not multiples (`'refuse'`).
 * Always asynchronous (one code path for tensors and images).
 *
 * @internal
 */
export async function prepareInput<I>(
  manifest: Manifest,
  codec: ImageCodec<I, unknown, unknown> | null,
  x: unknown,
  options: ImageReadOptions,
  padding: 'pad' | 'refuse',
  limits: ResolvedLimits,
  untiled: boolean,
): Promise<Prepared> {
  const fit = optionChoice(options.fit, 'fit', IMAGE_FITS, 'pad');
  optionChoice(options.alpha, 'alpha', ALPHA_MODES);
  if (codec !== null) {
    const list = Array.isArray(x) ? (x as unknown[]) : [x];
    if (list.length > 0 && list.every((item) => codec.isImage(item))) {
      const multiple = manifest.latent.spatialFactor ?? 1;
      checkLimit(limits, 'maxBatchItems', list.length, 'The list of images "x"');
      const tensor = await codec.read(list as I[], manifest, { ...options, fit, multiple, limits, untiled });
      return checkedFit(manifest, dataInput(manifest, tensor, 'x'), padding, limits, untiled);
    }
  }
  if (fit !== 'pad') throw new InvalidOptionError('fit', `"fit: '${fit}'" applies to images; tensors are padded ("fit: 'pad'") or must already fit.`);
  return checkedFit(manifest, dataInput(manifest, x as TensorInput, 'x'), padding, limits, untiled);
}

/** {@link fitToFactor} with the limits on items and, for a graph run on the whole input, its pixels. */
function checkedFit(manifest: Manifest, tensor: VaeTensor, padding: 'pad' | 'refuse', limits: ResolvedLimits, untiled: boolean): Prepared {
  checkBatchItems(limits, tensor.dims, 'x');
  const prepared = fitToFactor(manifest, tensor, padding);
  if (untiled) checkUntiledInput(limits, manifest, prepared.tensor.dims);
  return prepared;
}

/**
 * Images opened for a tiled encode, read region by region, where the codec can (`openTiles`); `null` otherwise
 * (tensors, a flat model, or a codec that reads images whole).
 *
 * @internal
 */
export async function openImageTiles<I>(
  manifest: Manifest,
  codec: ImageCodec<I, unknown, unknown> | null,
  x: unknown,
  options: ImageReadOptions,
  limits: ResolvedLimits,
): Promise<ImageTileSource | null> {
  if (codec === null || codec.openTiles === undefined || manifest.data.layout !== 'NCHW') return null;
  const list = Array.isArray(x) ? (x as unknown[]) : [x];
  if (list.length === 0 || !list.every((item) => codec.isImage(item))) return null;
  const fit = optionChoice(options.fit, 'fit', IMAGE_FITS, 'pad');
  optionChoice(options.alpha, 'alpha', ALPHA_MODES);
  checkLimit(limits, 'maxBatchItems', list.length, 'The list of images "x"');
  return codec.openTiles(list as I[], manifest, { ...options, fit, multiple: spatialFactor(manifest, 'tiling'), limits });
}
