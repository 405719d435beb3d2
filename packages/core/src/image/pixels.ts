/**
 * Pixel <-> tensor conversions and image grids. Pure functions over typed arrays (no DOM, no `sharp`, no `fs`), so
 * every runtime package converts images the same way.
 *
 * Conventions:
 * - Pixels are interleaved HWC: row after row, each pixel's channels together. 1 channel is grey, 2 grey + alpha,
 *   3 RGB, 4 RGBA. Alpha is dropped (ignored, not composited).
 * - An integer pixel `p` of a format with maximum `M` (255 for 8 bit, 65535 for 16 bit) maps to
 *   `low + p * (high - low) / M`: exactly `low` at 0 and exactly `high` at `M`.
 * - RGB to grey uses Rec. 601 luma `0.299 R + 0.587 G + 0.114 B` on the integer values, without rounding; a pixel with
 *   R = G = B maps exactly to its grey value. Grey to RGB repeats the value.
 * - A `flat` item of a multi-channel image is in CHW order (what `x.view(N, -1)` gives for a PyTorch NCHW batch).
 * - Back to 8-bit pixels: `Math.round((v - low) * 255 / (high - low))` clamped to [0, 255], so halves round up
 *   (towards +infinity); NaN becomes 0.
 */
import { InvalidInputError, InvalidOptionError, describe } from '../errors.js';
import type { Layout } from '../manifest/types.js';
import { invalidOption } from '../validate.js';

/** Size and channel count of an image. */
export interface ImageGeometry {
  /** Pixels per row. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** Channels: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  readonly channels: number;
}

/** An 8-bit image: interleaved HWC `pixels` and its geometry. */
export interface PixelImage extends ImageGeometry {
  /** `height * width * channels` values, row-major, channels interleaved. */
  readonly pixels: Uint8Array;
}

/** The data format an image is converted to: value range, item layout and channel count. */
export interface TensorFormat {
  /** `[low, high]`: the value of a black and of a full-intensity pixel. */
  readonly range: readonly [number, number];
  /** Item layout: `flat` (CHW order), `NCHW` (`[C, H, W]`) or `NHWC` (`[H, W, C]`). */
  readonly layout: Layout;
  /** Channels of the item, one of {@link TENSOR_CHANNELS}. */
  readonly channels: number;
}

/** Channel counts a tensor item may have when it is converted from or to pixels. */
export const TENSOR_CHANNELS = Object.freeze({
  /** One grey channel. */
  grey: 1,
  /** Red, green, blue. */
  rgb: 3,
} as const);

/** Luma weights of Rec. 601 (R, G, B), used to convert RGB to grey. */
export const REC601_LUMA = Object.freeze([0.299, 0.587, 0.114] as const);

function checkRange(range: readonly [number, number], option: string): void {
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite) || !(range[0] < range[1])) {
    throw invalidOption(option, '[low, high] with finite low < high', range);
  }
}

function checkTensorChannels(channels: number, option: string): void {
  if (!Object.values(TENSOR_CHANNELS).includes(channels as 1 | 3)) {
    throw new InvalidOptionError(
      option,
      `Expected "${option}" to be ${Object.entries(TENSOR_CHANNELS)
        .map(([name, c]) => `${c} (${name})`)
        .join(' or ')} but received ${describe(channels)}; images convert only to grey or RGB items.`,
    );
  }
}

function checkGeometry(geometry: ImageGeometry, argument: string, channelChoices: readonly number[]): void {
  const { width, height, channels } = geometry ?? ({} as ImageGeometry);
  if (!Number.isSafeInteger(width) || width < 1 || !Number.isSafeInteger(height) || height < 1 || !channelChoices.includes(channels)) {
    throw new InvalidOptionError(
      argument,
      `Expected "${argument}" to be { width, height, channels } with positive integer sizes and channels one of ${channelChoices.join(', ')} but received ${JSON.stringify(geometry)}.`,
    );
  }
}

/**
 * Values of every integer pixel 0..maxValue in a data range: `low + p * (high - low) / maxValue`, exactly `low` at 0
 * and exactly `high` at `maxValue`.
 *
 * @param maxValue - 255 for 8-bit pixels, 65535 for 16-bit pixels
 * @param range - `[low, high]`
 * @returns a table of `maxValue + 1` float32 values, indexed by the pixel value
 * @throws {@link InvalidOptionError} for a bad range
 * @example
 * pixelValueTable(255, [-1, 1])[255]; // 1
 */
export function pixelValueTable(maxValue: 255 | 65535, range: readonly [number, number]): Float32Array {
  checkRange(range, 'range');
  const [low, high] = range;
  const table = new Float32Array(maxValue + 1);
  for (let p = 0; p < maxValue; p++) table[p] = low + (p * (high - low)) / maxValue;
  table[maxValue] = high;
  return table;
}

/**
 * Converts interleaved HWC pixels (8 or 16 bit) to one float32 data item.
 *
 * @param pixels - `height * width * channels` integer values; a `Uint16Array` is read as 16-bit
 * @param geometry - the pixels' `width`, `height` and `channels` (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA)
 * @param format - the item's `range`, `layout` and wanted `channels` (1 or 3); grey and RGB convert both ways
 * @param into - where to write the item, e.g. its slot in a batch (`batch.subarray(i * size, (i + 1) * size)`), which
 *   saves allocating and copying one array per image; default a new array
 * @returns `channels * height * width` values in the item layout (`into` when given)
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` when `pixels` or `into` has the wrong length;
 *   {@link InvalidOptionError} for a bad geometry, range or channel count
 * @example
 * const item = pixelsToTensor(rgba, { width: 28, height: 28, channels: 4 }, { range: [0, 1], layout: 'flat', channels: 1 });
 */
export function pixelsToTensor(pixels: Uint8Array | Uint16Array, geometry: ImageGeometry, format: TensorFormat, into?: Float32Array): Float32Array {
  checkGeometry(geometry, 'geometry', [1, 2, 3, 4]);
  checkTensorChannels(format.channels, 'channels');
  const { width, height, channels: source } = geometry;
  if (pixels?.length !== width * height * source) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      'pixels',
      `Expected ${width * height * source} pixel values for a ${width}x${height} image of ${source} channel(s) but received ${pixels?.length}.`,
    );
  }
  const maxValue = pixels.BYTES_PER_ELEMENT === 2 ? 65535 : 255;
  const table = pixelValueTable(maxValue, format.range);
  const [low, high] = format.range;
  const span = high - low;
  const wanted = format.channels;
  if (into !== undefined && (Object.prototype.toString.call(into) !== '[object Float32Array]' || into.length !== wanted * height * width)) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      'into',
      `Expected "into" to be a Float32Array of ${wanted * height * width} values but received ${describe(into)}.`,
    );
  }
  const out = into ?? new Float32Array(wanted * height * width);
  const plane = height * width;
  // Planar layouts (NCHW, flat CHW): channel c of pixel i at c * plane + i; NHWC: at i * wanted + c.
  const planeStride = format.layout === 'NHWC' ? 1 : plane;
  const pixelStride = format.layout === 'NHWC' ? wanted : 1;
  if (source < 3) {
    for (let i = 0; i < plane; i++) {
      const grey = table[pixels[i * source]!]!;
      for (let c = 0; c < wanted; c++) out[c * planeStride + i * pixelStride] = grey;
    }
  } else if (wanted === 3) {
    for (let c = 0; c < 3; c++) {
      const base = c * planeStride;
      for (let i = 0, p = c; i < plane; i++, p += source) out[base + i * pixelStride] = table[pixels[p]!]!;
    }
  } else {
    const [wr, wg, wb] = REC601_LUMA;
    for (let i = 0, p = 0; i < plane; i++, p += source) {
      const r = pixels[p]!;
      const g = pixels[p + 1]!;
      const b = pixels[p + 2]!;
      out[i * pixelStride] = r === g && g === b ? table[r]! : low + ((wr * r + wg * g + wb * b) * span) / maxValue;
    }
  }
  return out;
}

/**
 * Converts one float32 data item to 8-bit interleaved HWC pixels:
 * `Math.round((v - low) * 255 / (high - low))`, clamped to [0, 255] (halves round up; NaN becomes 0).
 *
 * @param data - `channels * height * width` values in the item layout
 * @param geometry - the image's `width`, `height` and `channels` (1 or 3); the pixels get the same channels
 * @param range - `[low, high]` of the data
 * @param layout - the item layout (`flat` items are in CHW order)
 * @returns `height * width * channels` bytes
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` when `data` has the wrong length; {@link InvalidOptionError}
 *   for a bad geometry or range
 * @example
 * const png = tensorToPixels(decoded.data.subarray(0, 784), { width: 28, height: 28, channels: 1 }, [0, 1], 'flat');
 */
export function tensorToPixels(data: ArrayLike<number>, geometry: ImageGeometry, range: readonly [number, number], layout: Layout): Uint8Array {
  checkGeometry(geometry, 'geometry', [1, 3]);
  checkRange(range, 'range');
  const { width, height, channels } = geometry;
  if (data?.length !== width * height * channels) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      'data',
      `Expected ${width * height * channels} values for a ${width}x${height} image of ${channels} channel(s) but received ${data?.length}.`,
    );
  }
  const [low, high] = range;
  const span = high - low;
  const out = new Uint8Array(height * width * channels);
  const plane = height * width;
  const planeStride = layout === 'NHWC' ? 1 : plane;
  const pixelStride = layout === 'NHWC' ? channels : 1;
  for (let c = 0; c < channels; c++) {
    const base = c * planeStride;
    for (let i = 0, o = c; i < plane; i++, o += channels) {
      const level = Math.round(((data[base + i * pixelStride]! - low) * 255) / span);
      // NaN fails both comparisons and is stored as 0 by the Uint8Array.
      out[o] = level < 0 ? 0 : level > 255 ? 255 : level;
    }
  }
  return out;
}
