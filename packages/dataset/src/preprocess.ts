/**
 * Training-pipeline preprocessing with sharp: decode (EXIF-rotated), composite alpha over white, bring to `size` x
 * `size` by centre crop, resize or pad, and give 8-bit RGB pixels with the original size.
 */
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { ITEM_ERRORS, ItemFailure } from './item-errors.js';

/** How an image is brought to `size` x `size`. */
export const FITS = Object.freeze({
  /** Scale the shorter side to `size`, then cut the centre square (what most training pipelines do). */
  crop: { fit: 'cover' },
  /** Scale both sides to `size`, changing the aspect ratio. */
  resize: { fit: 'fill' },
  /** Scale the longer side to `size`, then pad the rest with white (letterbox). */
  pad: { fit: 'contain' },
} as const);
/** One of {@link FITS}. */
export type Fit = keyof typeof FITS;

/** A preprocessed image. */
export interface PreparedImage {
  /** `size * size * 3` 8-bit RGB values, row-major. */
  readonly pixels: Uint8Array;
  /** Width and height before preprocessing (after EXIF rotation). */
  readonly originalSize: readonly [number, number];
}

/** Options of {@link prepareImage}. */
export interface PrepareOptions {
  /** Output width and height. */
  readonly size: number;
  /** Default `'crop'`. */
  readonly fit?: Fit;
  /** Images whose shorter side is below this are refused with `TOO_SMALL`. Default 1. */
  readonly minSize?: number;
}

/**
 * Decodes and fits one image.
 *
 * @param bytes - the encoded image
 * @param source - its name, for messages
 * @param options - `size`, `fit` (default `'crop'`), `minSize` (default 1)
 * @throws {@link ItemFailure} `CORRUPT` for bytes sharp cannot decode, `TOO_SMALL` for an image under `minSize`
 */
export async function prepareImage(bytes: Uint8Array, source: string, options: PrepareOptions): Promise<PreparedImage> {
  let width: number;
  let height: number;
  let image: Sharp;
  try {
    image = sharp(bytes, { failOn: 'error' }).autoOrient();
    const meta = await image.metadata();
    width = meta.autoOrient?.width ?? meta.width!;
    height = meta.autoOrient?.height ?? meta.height!;
  } catch (error) {
    throw new ItemFailure(ITEM_ERRORS.CORRUPT, `Cannot decode ${source} as an image: ${(error as Error).message}.`, { cause: error });
  }
  const minSize = options.minSize ?? 1;
  if (Math.min(width, height) < minSize) {
    throw new ItemFailure(
      ITEM_ERRORS.TOO_SMALL,
      `${source} is ${width}x${height}, smaller than the minimum of ${minSize} pixels on its shorter side (--min-size).`,
    );
  }
  const { size } = options;
  try {
    const { data } = await image
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(size, size, { fit: FITS[options.fit ?? 'crop'].fit, position: 'centre', background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), originalSize: [width, height] };
  } catch (error) {
    throw new ItemFailure(ITEM_ERRORS.CORRUPT, `Cannot decode ${source} as an image: ${(error as Error).message}.`, { cause: error });
  }
}
