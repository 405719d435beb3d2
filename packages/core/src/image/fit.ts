/**
 * The geometry of fitting an image to a model, shared by the runtimes' image codecs (sharp in Node, canvas in
 * browsers): which part of the source to take and the size to scale it to.
 */
import { InvalidInputError } from '../errors.js';
import type { ImageFit } from './codec.js';

/** Where and how an image is fitted: the source rectangle to take, and the size to scale it to. */
export interface ImageFitPlan {
  /** The source rectangle (the whole image unless `fit: 'crop'` cuts it). */
  readonly crop: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  /** Pixels per row after fitting. */
  readonly width: number;
  /** Rows after fitting. */
  readonly height: number;
}

/**
 * Plans how an image of `width` x `height` is fitted: to the model's fixed size when it has one (`fit: 'resize'`
 * scales to it; other fits leave the size for the caller to check), else to multiples of `multiple` (`'resize'`: the
 * nearest multiple, at least one; `'crop'`: the centre at the largest multiple; `'pad'`: unchanged, padded later).
 *
 * @param name - the image's name, for messages
 * @param fixed - the model's fixed image size, `null` entries where it takes any
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` when `'crop'` would leave nothing
 * @example
 * planImageFit('a.png', 30, 20, { width: null, height: null }, 'crop', 8); // crop { x: 3, y: 2, width: 24, height: 16 }
 */
export function planImageFit(
  name: string,
  width: number,
  height: number,
  fixed: { readonly width: number | null; readonly height: number | null },
  fit: ImageFit,
  multiple: number,
): ImageFitPlan {
  const whole = { x: 0, y: 0, width, height };
  if (fixed.width !== null && fixed.height !== null) {
    return fit === 'resize' ? { crop: whole, width: fixed.width, height: fixed.height } : { crop: whole, width, height };
  }
  const m = multiple;
  if (fit === 'resize' && (width % m !== 0 || height % m !== 0)) {
    return { crop: whole, width: Math.max(m, Math.round(width / m) * m), height: Math.max(m, Math.round(height / m) * m) };
  }
  if (fit === 'crop' && (width % m !== 0 || height % m !== 0)) {
    const w = Math.floor(width / m) * m;
    const h = Math.floor(height / m) * m;
    if (w === 0 || h === 0)
      throw new InvalidInputError(
        'SHAPE_MISMATCH',
        name,
        `${name} is ${width}x${height}, smaller than one ${m}x${m} block, so "fit: 'crop'" leaves nothing; use fit "pad" or "resize".`,
      );
    return { crop: { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: w, height: h }, width: w, height: h };
  }
  return { crop: whole, width, height };
}
