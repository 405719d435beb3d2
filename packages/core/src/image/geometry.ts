import type { Dim, Layout, Manifest } from '../manifest/types.js';
import type { ImageGeometry } from './pixels.js';

/** Image sizes of a manifest's data items; `null` where the manifest leaves a size to the input. */
export interface ImageShape {
  /** Channels. */
  readonly channels: Dim;
  /** Rows. */
  readonly height: Dim;
  /** Pixels per row. */
  readonly width: Dim;
}

/**
 * The image sizes of a manifest's data items: from `data.image` for a `flat` layout, from `data.shape` for
 * `NCHW` (`[C, H, W]`) and `NHWC` (`[H, W, C]`).
 *
 * @returns the sizes (`null` where the manifest leaves one open), or `null` when the items are not images
 *   (a `flat` layout without `data.image`)
 */
export function dataImageShape(data: Manifest['data']): ImageShape | null {
  const shape = data.shape;
  if (data.layout === 'NCHW') return { channels: shape[0]!, height: shape[1]!, width: shape[2]! };
  if (data.layout === 'NHWC') return { channels: shape[2]!, height: shape[0]!, width: shape[1]! };
  return data.image ? { ...data.image } : null;
}

/**
 * Dims of one data item holding an image of the given geometry: `[C * H * W]` (`flat`), `[C, H, W]` (`NCHW`) or
 * `[H, W, C]` (`NHWC`).
 */
export function imageItemDims(layout: Layout, geometry: ImageGeometry): number[] {
  const { channels, height, width } = geometry;
  if (layout === 'NCHW') return [channels, height, width];
  if (layout === 'NHWC') return [height, width, channels];
  return [channels * height * width];
}

/**
 * The image geometry of a concrete data item, from the item's dims and the manifest.
 *
 * @param data - the manifest's `data` section
 * @param itemDims - dims of one item, without the batch axis
 * @returns the geometry, or `null` when the items are not images or the dims do not fit the manifest
 */
export function itemImageGeometry(data: Manifest['data'], itemDims: readonly number[]): ImageGeometry | null {
  const shape = dataImageShape(data);
  if (shape === null) return null;
  if (data.layout === 'flat') {
    const { channels, height, width } = shape as ImageGeometry;
    return itemDims.length === 1 && itemDims[0] === channels * height * width ? { channels, height, width } : null;
  }
  if (itemDims.length !== 3) return null;
  const geometry =
    data.layout === 'NCHW'
      ? { channels: itemDims[0]!, height: itemDims[1]!, width: itemDims[2]! }
      : { channels: itemDims[2]!, height: itemDims[0]!, width: itemDims[1]! };
  const fits = (want: Dim, have: number): boolean => want === null || want === have;
  return fits(shape.channels, geometry.channels) && fits(shape.height, geometry.height) && fits(shape.width, geometry.width) ? geometry : null;
}
