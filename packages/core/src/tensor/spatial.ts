/**
 * Spatial helpers for image-shaped tensors (NCHW or NHWC): reflect padding to a multiple of a model's spatial factor,
 * and cropping back.
 */
import { InvalidInputError, describe } from '../errors.js';
import type { Layout } from '../manifest/types.js';
import { VaeTensor } from './tensor.js';

/** Height and width of an image. */
export interface SpatialSize {
  readonly height: number;
  readonly width: number;
}

function axes(layout: Layout): { h: number; w: number; c: number } {
  if (layout === 'NCHW') return { c: 1, h: 2, w: 3 };
  if (layout === 'NHWC') return { h: 1, w: 2, c: 3 };
  throw new InvalidInputError('INVALID_INPUT', 'layout', `Spatial padding and cropping need an NCHW or NHWC layout, not ${describe(layout)}.`);
}

/** Height and width of an NCHW or NHWC tensor. */
export function spatialSize(tensor: VaeTensor, layout: Layout): SpatialSize {
  const a = axes(layout);
  return { height: tensor.dims[a.h]!, width: tensor.dims[a.w]! };
}

/**
 * Index of a reflect-padded position: mirrors without repeating the edge (`dcb|abcd|cba`), periodic for any pad.
 *
 * @param index - the position on the padded axis
 * @param size - the axis length before padding
 */
export function reflectIndex(index: number, size: number): number {
  if (size === 1) return 0;
  const period = 2 * (size - 1);
  const m = ((index % period) + period) % period;
  return m < size ? m : period - m;
}

/**
 * Pads the bottom and right of each image by reflection so that height and width become multiples of `factor`.
 *
 * @returns the padded tensor (the input itself when nothing is needed) and the original size
 */
export function padToMultiple(tensor: VaeTensor, factor: number, layout: Layout): { tensor: VaeTensor; original: SpatialSize } {
  const original = spatialSize(tensor, layout);
  const height = Math.ceil(original.height / factor) * factor;
  const width = Math.ceil(original.width / factor) * factor;
  if (height === original.height && width === original.width) return { tensor, original };
  return {
    tensor: resample(
      tensor,
      layout,
      height,
      width,
      (y) => reflectIndex(y, original.height),
      (x) => reflectIndex(x, original.width),
    ),
    original,
  };
}

/**
 * Crops each image to its top-left `height` x `width` (undoing {@link padToMultiple}).
 *
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` when the tensor is smaller than the crop
 */
export function cropTo(tensor: VaeTensor, size: SpatialSize, layout: Layout): VaeTensor {
  const current = spatialSize(tensor, layout);
  if (current.height === size.height && current.width === size.width) return tensor;
  if (current.height < size.height || current.width < size.width) {
    throw new InvalidInputError('SHAPE_MISMATCH', 'tensor', `Cannot crop a ${current.width}x${current.height} image to ${size.width}x${size.height}.`);
  }
  return resample(
    tensor,
    layout,
    size.height,
    size.width,
    (y) => y,
    (x) => x,
  );
}

function resample(tensor: VaeTensor, layout: Layout, height: number, width: number, rowOf: (y: number) => number, colOf: (x: number) => number): VaeTensor {
  const a = axes(layout);
  const dims = [...tensor.dims];
  const batch = dims[0]!;
  const channels = dims[a.c]!;
  const inH = dims[a.h]!;
  const inW = dims[a.w]!;
  dims[a.h] = height;
  dims[a.w] = width;
  const out = new Float32Array(batch * channels * height * width);
  const src = tensor.data;
  const cols = Int32Array.from({ length: width }, (_, x) => colOf(x));
  if (layout === 'NCHW') {
    for (let plane = 0; plane < batch * channels; plane++) {
      const inBase = plane * inH * inW;
      const outBase = plane * height * width;
      for (let y = 0; y < height; y++) {
        const inRow = inBase + rowOf(y) * inW;
        const outRow = outBase + y * width;
        for (let x = 0; x < width; x++) out[outRow + x] = src[inRow + cols[x]!]!;
      }
    }
  } else {
    for (let n = 0; n < batch; n++) {
      for (let y = 0; y < height; y++) {
        const inRow = (n * inH + rowOf(y)) * inW;
        const outRow = (n * height + y) * width;
        for (let x = 0; x < width; x++) {
          const i = (inRow + cols[x]!) * channels;
          out.set(src.subarray(i, i + channels), (outRow + x) * channels);
        }
      }
    }
  }
  return new VaeTensor(out, dims);
}
