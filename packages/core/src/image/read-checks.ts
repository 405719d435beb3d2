/**
 * The checks every image codec makes when it reads images into model data (Node's sharp codec and tile reader, the
 * browser's canvas codec), with one set of messages.
 */
import { InvalidInputError, describe } from '../errors.js';
import { checkLimit } from '../limits.js';
import type { ResolvedLimits } from '../limits.js';
import type { Manifest } from '../manifest/types.js';
import { dataImageShape } from './geometry.js';
import type { ImageShape } from './geometry.js';

/** An image by its label and size. */
export interface SizedImage {
  readonly name: string;
  readonly width: number;
  readonly height: number;
}

/**
 * The image shape of a model's data items, when images can be read into them: items with an image geometry, of 1
 * (grey) or 3 (RGB) channels.
 *
 * @param name - the label of the first image, for the message
 * @param instead - what the caller can pass instead, e.g. `"pass tensors instead"`
 * @throws {@link InvalidInputError} `INVALID_INPUT` for flat items without `data.image`, or other channel counts
 */
export function readableImageShape(manifest: Manifest, name: string, instead: string): ImageShape & { readonly channels: 1 | 3 } {
  const shape = dataImageShape(manifest.data);
  if (shape === null) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      name,
      `Model "${manifest.name}" takes flat items without an image geometry (no data.image in its manifest), so it cannot read the image ${name}; ${instead}.`,
    );
  }
  if (shape.channels !== 1 && shape.channels !== 3) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      name,
      `Model "${manifest.name}" takes items of ${describe(shape.channels)} channels; images convert to 1 (grey) or 3 (RGB) channels only.`,
    );
  }
  return shape as ImageShape & { readonly channels: 1 | 3 };
}

/**
 * The limit on the images of one read, counted up to `image` (`pixels` in all, `count` images in the call): the
 * whole data goes into one graph run without tiling (`maxUntiledPixels`), or is held whole (`maxOutputPixels`).
 *
 * @throws {@link LimitExceededError}
 */
export function checkImagesRead(limits: ResolvedLimits, untiled: boolean, pixels: number, count: number, image: SizedImage): void {
  const what = (how: string) => (): string => `The image${count > 1 ? `s up to ${image.name}` : ` ${image.name}`} (${image.width}x${image.height}) ${how}`;
  if (untiled) checkLimit(limits, 'maxUntiledPixels', pixels, what('for a graph run without tiling'));
  else checkLimit(limits, 'maxOutputPixels', pixels, what('read whole'));
}

/**
 * Refuses an image of another size than a model of fixed image size takes.
 *
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH`
 */
export function checkModelImageSize(manifest: Manifest, shape: ImageShape, image: SizedImage): void {
  if (shape.width !== null && shape.height !== null && (image.width !== shape.width || image.height !== shape.height)) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      image.name,
      `Image ${image.name} is ${image.width}x${image.height} (width x height) but model "${manifest.name}" takes ${shape.width}x${shape.height} images; resize it (fit "resize").`,
    );
  }
}

/**
 * Refuses images of different sizes in one call (they would not fit one batch).
 *
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` naming the first image and the first that differs
 */
export function checkOneSize(images: readonly SizedImage[]): void {
  const first = images[0];
  if (first === undefined) return;
  for (const image of images) {
    if (image.width !== first.width || image.height !== first.height) {
      throw new InvalidInputError(
        'SHAPE_MISMATCH',
        image.name,
        `Images in one call must have one size, but ${first.name} is ${first.width}x${first.height} and ${image.name} is ${image.width}x${image.height}; pass them in separate calls, or resize them.`,
      );
    }
  }
}
