/**
 * The checks of {@link LIMITS} that the `Vae` methods make before they allocate or run anything, and the checks of
 * the `tiling` and `size` options. Pure functions of the manifest and dims, so they are tested without a runtime.
 *
 * @internal
 */
import { InvalidOptionError, describe } from '../errors.js';
import { checkLimit } from '../limits.js';
import type { ResolvedLimits } from '../limits.js';
import type { Manifest } from '../manifest/types.js';
import type { SpatialSize } from '../tensor/spatial.js';

/** Height x width of one item of dims `[N, ...item]` in a spatial layout; `null` for flat data. */
function itemPixels(manifest: Manifest, dims: readonly number[]): number | null {
  const layout = manifest.data.layout;
  if (layout === 'flat' || dims.length !== 4) return null;
  return layout === 'NCHW' ? dims[2]! * dims[3]! : dims[1]! * dims[2]!;
}

/**
 * Items of one input.
 *
 * @throws {@link LimitExceededError} `maxBatchItems`
 */
export function checkBatchItems(limits: ResolvedLimits, dims: readonly number[], argument: string): void {
  if (dims.length > 0) checkLimit(limits, 'maxBatchItems', dims[0]!, () => `The batch "${argument}" of dims ${describe([...dims])}`);
}

/**
 * Image data that an encoder runs on whole (no tiling): items x height x width.
 *
 * @throws {@link LimitExceededError} `maxUntiledPixels`
 */
export function checkUntiledInput(limits: ResolvedLimits, manifest: Manifest, dims: readonly number[]): void {
  const pixels = itemPixels(manifest, dims);
  if (pixels !== null) checkLimit(limits, 'maxUntiledPixels', dims[0]! * pixels, () => `The input of dims ${describe([...dims])} for an encode without tiling`);
}

/** Pixels (items x height x width) a decode of latents of these dims produces; `null` for flat data. */
export function decodedPixels(manifest: Manifest, latentDims: readonly number[]): number | null {
  const pixels = itemPixels(manifest, latentDims);
  if (pixels === null) return null;
  const factor = manifest.latent.spatialFactor ?? 1;
  return latentDims[0]! * pixels * factor * factor;
}

/**
 * The output of a decode, before the decoder runs: `maxUntiledPixels` without tiling, `maxOutputPixels` always.
 *
 * @throws {@link LimitExceededError}
 */
export function checkDecodeOutput(limits: ResolvedLimits, manifest: Manifest, latentDims: readonly number[], tiled: boolean): void {
  const pixels = decodedPixels(manifest, latentDims);
  if (pixels === null) return;
  const what = (): string => `The decoded output of latents ${describe([...latentDims])}`;
  checkLimit(limits, 'maxOutputPixels', pixels, what);
  if (!tiled) checkLimit(limits, 'maxUntiledPixels', pixels, () => `${what()} without tiling`);
}

/**
 * Prior draws: `n`, and that the draws could be decoded at all.
 *
 * @throws {@link LimitExceededError} `maxDraws`, `maxOutputPixels`
 */
export function checkDraws(limits: ResolvedLimits, manifest: Manifest, n: number, itemShape: readonly number[]): void {
  checkLimit(limits, 'maxDraws', n, `"n"`);
  const pixels = decodedPixels(manifest, [n, ...itemShape]);
  if (pixels !== null) checkLimit(limits, 'maxOutputPixels', pixels, () => `The decoded size of ${n} draws of latent shape ${describe([...itemShape])}`);
}

/**
 * Work of one `score` call: k, and k x N decoder rows.
 *
 * @throws {@link LimitExceededError} `maxSamples`, `maxScoreRows`
 */
export function checkScoreWork(limits: ResolvedLimits, samples: number, batch: number): void {
  checkLimit(limits, 'maxSamples', samples, '"samples"');
  checkLimit(limits, 'maxScoreRows', samples * batch, `"samples" x items (${samples} x ${batch})`);
}

/**
 * A `tiling` option: `undefined`, a boolean or a plain object of settings (`"yes"` or `1` are refused).
 *
 * @throws {@link InvalidOptionError}
 */
export function checkTilingOption(value: unknown, option = 'tiling'): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(
      option,
      `Expected "${option}" to be true, false or an object of tile settings ({ tileSize, overlap }) but received ${describe(value)}.`,
    );
  }
}

/**
 * The `size` option of `decode` (crop): positive integer `height` and `width`.
 *
 * @throws {@link InvalidOptionError}
 */
export function checkSizeOption(value: unknown): asserts value is SpatialSize | undefined {
  if (value === undefined) return;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    [(value as SpatialSize).height, (value as SpatialSize).width].every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1);
  if (!ok) {
    const shown =
      typeof value === 'object' && value !== null
        ? `{ height: ${describe((value as SpatialSize).height)}, width: ${describe((value as SpatialSize).width)} }`
        : describe(value);
    throw new InvalidOptionError(
      'size',
      `Expected "size" to be { height, width } with positive integers (the crop of the decoded images) but received ${shown}.`,
    );
  }
}
