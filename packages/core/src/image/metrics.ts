/**
 * Full-reference image quality metrics: PSNR and SSIM (Wang, Bovik, Sheikh and Simoncelli 2004). Pure functions over
 * interleaved HWC pixel arrays, computed in float64.
 */
import { InvalidInputError, describe } from '../errors.js';
import { REC601_LUMA } from './pixels.js';
import { invalidOption } from '../validate.js';

/**
 * The SSIM constants: an 11x11 Gaussian window of standard deviation 1.5 (radius `round(3.5 * 1.5)` = 5, as
 * scipy's `gaussian_filter` with its default `truncate=3.5`), `K1 = 0.01`, `K2 = 0.03` and the 8-bit dynamic range
 * `L = 255`, so `C1 = (K1 L)^2` and `C2 = (K2 L)^2`.
 */
export const SSIM_CONSTANTS = Object.freeze({
  /** Window side in pixels. */
  windowSize: 11,
  /** Standard deviation of the Gaussian window, pixels. */
  sigma: 1.5,
  /** Luminance stabiliser factor. */
  k1: 0.01,
  /** Contrast stabiliser factor. */
  k2: 0.03,
  /** Dynamic range L of the pixel values. */
  dataRange: 255,
} as const);

/** Channel counts {@link ssim} accepts: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (alpha ignored). */
const SSIM_CHANNELS = Object.freeze([1, 2, 3, 4] as const);

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>): void {
  for (const [argument, value] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (typeof value !== 'object' || value === null || typeof value.length !== 'number') {
      throw new InvalidInputError(
        'INVALID_INPUT',
        argument,
        `Expected "${argument}" to be an array of pixel values (e.g. a Uint8Array) but received ${describe(value)}.`,
      );
    }
  }
  if (a.length !== b.length) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      'b',
      `Expected two images of the same size but "a" has ${a.length} values and "b" has ${b.length}; compare an image with its reconstruction at the same size and channel count.`,
    );
  }
  if (a.length === 0) throw new InvalidInputError('INVALID_INPUT', 'a', 'Expected images with at least one value but received empty arrays.');
}

/**
 * Mean squared error between two arrays of the same length, in float64.
 *
 * @param a - values, e.g. 8-bit HWC pixels
 * @param b - values of the same length
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` for different lengths, `INVALID_INPUT` for empty arrays or
 * non-arrays, `NON_FINITE_INPUT` for NaN or infinities
 * @example
 * mse(Uint8Array.of(0, 10), Uint8Array.of(2, 10)); // 2
 */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d - d !== 0) {
      const argument = Number.isFinite(a[i]) ? 'b' : 'a';
      throw new InvalidInputError(
        'NON_FINITE_INPUT',
        argument,
        `"${argument}" holds ${argument === 'a' ? a[i] : b[i]} at index ${i}; pixel values must be finite.`,
      );
    }
    sum += d * d;
  }
  return sum / a.length;
}

/**
 * Peak signal-to-noise ratio `10 log10(peak^2 / MSE)` in decibels, with the MSE taken over every value (all pixels
 * and all channels: the "RGB PSNR" of an RGB image).
 *
 * @param a - reference values, e.g. 8-bit HWC pixels (`Uint8Array`) or floats
 * @param b - distorted values, same length and layout
 * @param peak - the largest possible value, default 255 (8-bit); 1 for floats in [0, 1], 2 for floats in [-1, 1]
 * @returns decibels; `Infinity` for identical inputs
 * @throws {@link InvalidOptionError} for a peak that is not a positive finite number; the errors of {@link mse}
 * @example
 * psnr(original.pixels, reconstruction.pixels); // e.g. 31.2
 * psnr(x.data, xr.data, 2); // float images in [-1, 1]
 */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak = 255): number {
  if (typeof peak !== 'number' || !Number.isFinite(peak) || peak <= 0) {
    throw invalidOption('peak', "a positive finite number (255 for 8-bit pixels, the range's width for floats)", peak);
  }
  const error = mse(a, b);
  return error === 0 ? Infinity : 10 * Math.log10((peak * peak) / error);
}

/** Gaussian weights of the SSIM window, normalised to sum 1 (as scipy's `gaussian_filter`). */
function gaussianWindow(): Float64Array {
  const { windowSize, sigma } = SSIM_CONSTANTS;
  const radius = (windowSize - 1) / 2;
  const weights = new Float64Array(windowSize);
  let sum = 0;
  for (let i = 0; i < windowSize; i++) {
    const x = i - radius;
    weights[i] = Math.exp((-0.5 * x * x) / (sigma * sigma));
    sum += weights[i]!;
  }
  for (let i = 0; i < windowSize; i++) weights[i]! /= sum;
  return weights;
}

/** The plane SSIM is computed on: the values for grey, Rec. 601 luma `0.299 R + 0.587 G + 0.114 B` (not rounded) for colour. */
function lumaPlane(pixels: ArrayLike<number>, count: number, channels: number): Float64Array {
  const out = new Float64Array(count);
  if (channels <= 2) {
    for (let i = 0; i < count; i++) out[i] = pixels[i * channels]!;
  } else {
    const [wr, wg, wb] = REC601_LUMA;
    for (let i = 0; i < count; i++) {
      const p = i * channels;
      out[i] = wr * pixels[p]! + wg * pixels[p + 1]! + wb * pixels[p + 2]!;
    }
  }
  return out;
}

/**
 * Gaussian-weighted local means of x, y, x^2, y^2 and xy at every position where the whole window fits ("valid"),
 * by a horizontal then a vertical pass.
 */
function localMoments(x: Float64Array, y: Float64Array, width: number, height: number, window: Float64Array): Float64Array[] {
  const size = window.length;
  const outWidth = width - size + 1;
  const outHeight = height - size + 1;
  const rows = Array.from({ length: 5 }, () => new Float64Array(height * outWidth));
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < outWidth; c++) {
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let k = 0; k < size; k++) {
        const i = r * width + c + k;
        const w = window[k]!;
        const vx = x[i]!;
        const vy = y[i]!;
        sx += w * vx;
        sy += w * vy;
        sxx += w * (vx * vx);
        syy += w * (vy * vy);
        sxy += w * (vx * vy); // w (x y), not (w x) y, like x^2 and y^2: ssim(a, b) === ssim(b, a) and ssim(a, a) === 1 bit for bit
      }
      const o = r * outWidth + c;
      rows[0]![o] = sx;
      rows[1]![o] = sy;
      rows[2]![o] = sxx;
      rows[3]![o] = syy;
      rows[4]![o] = sxy;
    }
  }
  return rows.map((plane) => {
    const out = new Float64Array(outHeight * outWidth);
    for (let r = 0; r < outHeight; r++) {
      for (let c = 0; c < outWidth; c++) {
        let s = 0;
        for (let k = 0; k < size; k++) s += window[k]! * plane[(r + k) * outWidth + c]!;
        out[r * outWidth + c] = s;
      }
    }
    return out;
  });
}

/**
 * Mean structural similarity (SSIM, Wang et al. 2004) of two 8-bit images: Gaussian window 11x11 with sigma 1.5,
 * `K1 = 0.01`, `K2 = 0.03`, `L = 255` (see {@link SSIM_CONSTANTS}), population (not sample) covariances, averaged
 * over every position where the window fits inside the image (no padding). RGB(A) images are compared on their
 * Rec. 601 luma `Y = 0.299 R + 0.587 G + 0.114 B` (unrounded floats on the 0-255 scale); alpha is ignored.
 *
 * This equals scikit-image's `structural_similarity(Y1, Y2, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=255)` on the luma planes (the test suite checks it to 1e-6). Note that
 * scikit-image's own `rgb2gray` uses Rec. 709 weights, so pass it Rec. 601 luma to compare.
 *
 * @param a - reference pixels, interleaved HWC, values on the 0-255 scale (a `Uint8Array`, or floats)
 * @param b - distorted pixels, same geometry
 * @param width - pixels per row, at least 11
 * @param height - rows, at least 11
 * @param channels - 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
 * @returns the mean SSIM, at most 1 (exactly 1 for identical images)
 * @throws {@link InvalidOptionError} for a size that is not an integer of at least 11 or an unknown channel count;
 * {@link InvalidInputError} `SHAPE_MISMATCH` when the arrays do not hold `width * height * channels` values
 * @example
 * const score = ssim(original.pixels, reconstruction.pixels, 512, 512, 3); // e.g. 0.87
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, width: number, height: number, channels: number): number {
  const { windowSize, k1, k2, dataRange } = SSIM_CONSTANTS;
  for (const [option, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < windowSize) {
      throw invalidOption(option, `an integer of at least ${windowSize} (the SSIM window)`, value);
    }
  }
  if (!SSIM_CHANNELS.includes(channels as 1)) {
    throw invalidOption('channels', `one of ${SSIM_CHANNELS.join(', ')} (grey, grey + alpha, RGB, RGBA)`, channels);
  }
  checkPair(a, b);
  const count = width * height;
  if (a.length !== count * channels) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      'a',
      `Expected ${count * channels} values for a ${width}x${height} image of ${channels} channel(s) but received ${a.length}.`,
    );
  }
  const window = gaussianWindow();
  const [mx, my, mxx, myy, mxy] = localMoments(lumaPlane(a, count, channels), lumaPlane(b, count, channels), width, height, window);
  const c1 = (k1 * dataRange) ** 2;
  const c2 = (k2 * dataRange) ** 2;
  let sum = 0;
  const n = mx!.length;
  for (let i = 0; i < n; i++) {
    const ux = mx![i]!;
    const uy = my![i]!;
    const vx = mxx![i]! - ux * ux;
    const vy = myy![i]! - uy * uy;
    const vxy = mxy![i]! - ux * uy;
    sum += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return sum / n;
}
