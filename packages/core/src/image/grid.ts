/** Image grids: images of one size laid out on one canvas, as torchvision's `make_grid`. */
import { InvalidInputError, InvalidOptionError, describe } from '../errors.js';
import { invalidOption, isCount, isPositiveInteger } from '../validate.js';
import type { PixelImage } from './pixels.js';

/**
 * Columns and rows of a grid of `count` tiles.
 *
 * @param count - number of tiles, at least 1
 * @param cols - wanted columns; default `ceil(sqrt(count))`; at most `count` are used
 * @throws {@link InvalidOptionError} for a count or cols that is not a positive integer
 * @example
 * gridLayout(10); // { cols: 4, rows: 3 }
 */
export function gridLayout(count: number, cols?: number): { cols: number; rows: number } {
  if (!isPositiveInteger(count)) throw new InvalidOptionError('count', `Expected a grid of at least 1 tile but received ${describe(count)}.`);
  if (cols !== undefined && !isPositiveInteger(cols)) throw invalidOption('cols', 'a positive integer', cols);
  const columns = Math.min(count, cols ?? Math.ceil(Math.sqrt(count)));
  return { cols: columns, rows: Math.ceil(count / columns) };
}

/**
 * Lays images of one geometry out on one canvas (an image grid), row by row, with `pad` pixels of `background` around every tile
 * (as torchvision's `make_grid`): `cols * width + (cols + 1) * pad` wide.
 *
 * @param images - the tiles in reading order; `null` leaves a cell empty
 * @param cols - columns, at least 1; the rows follow from the number of tiles
 * @param pad - padding in pixels, default 2
 * @param background - value (0-255) of the padding and of empty cells in every channel, default 0
 * @returns one HWC image with the tiles' channel count
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` when the tiles differ in size or channels, `INVALID_INPUT`
 *   when there is no tile; {@link InvalidOptionError} for bad `cols`, `pad` or `background`
 * @example
 * const grid = imageGrid(images, 8); // 8 columns, 2 px black padding
 */
export function imageGrid(images: readonly (PixelImage | null)[], cols: number, pad = 2, background = 0): PixelImage {
  const first = images.find((image) => image !== null);
  if (!first) throw new InvalidInputError('INVALID_INPUT', 'images', 'Expected at least one image to tile but received none.');
  if (!isPositiveInteger(cols)) throw invalidOption('cols', 'a positive integer', cols);
  if (!isCount(pad)) throw invalidOption('pad', 'a non-negative integer', pad);
  if (!Number.isInteger(background) || background < 0 || background > 255) throw invalidOption('background', 'an integer in [0, 255]', background);
  const { width, height, channels } = first;
  images.forEach((image, i) => {
    if (image === null) return;
    if (image.width !== width || image.height !== height || image.channels !== channels || image.pixels.length !== width * height * channels) {
      throw new InvalidInputError(
        'SHAPE_MISMATCH',
        'images',
        `Expected every tile to be ${width}x${height} with ${channels} channel(s), like the first, but tile ${i} is ${image.width}x${image.height} with ${image.channels} (${image.pixels.length} values).`,
      );
    }
  });
  const rows = Math.ceil(images.length / cols);
  const canvasWidth = cols * width + (cols + 1) * pad;
  const canvasHeight = rows * height + (rows + 1) * pad;
  const pixels = new Uint8Array(canvasWidth * canvasHeight * channels).fill(background);
  const rowBytes = width * channels;
  images.forEach((image, i) => {
    if (image === null) return;
    const left = pad + (i % cols) * (width + pad);
    const top = pad + Math.floor(i / cols) * (height + pad);
    for (let y = 0; y < height; y++) {
      pixels.set(image.pixels.subarray(y * rowBytes, (y + 1) * rowBytes), ((top + y) * canvasWidth + left) * channels);
    }
  });
  return { pixels, width: canvasWidth, height: canvasHeight, channels };
}

/**
 * The old name of {@link imageGrid} (it lays images out in a grid; it has nothing to do with tiled encoding).
 *
 * @deprecated Use {@link imageGrid}.
 */
export const tileImages: typeof imageGrid = imageGrid;
