/**
 * Images read region by region for a tiled encode: the codec's `openTiles`. Each row of tiles is one band of the
 * image, cut out by sharp (`extract` after orientation and fitting), so the decoded pixels in memory are one band
 * (tile height x image width), never the whole image; reflection padding to the spatial factor is applied to the
 * band's rows and columns, with the same indices as core's `padToMultiple`.
 *
 * @internal
 */
import { VaeTensor, checkOneSize, pixelsToTensor, readableImageShape, reflectIndex } from '@onnx-vae/core';
import type { ImageReadOptions, ImageTileSource, Manifest, ResolvedLimits, TileRect } from '@onnx-vae/core';
import type { NodeImageInput } from './image-codec.js';
import { label, openImage, rawPixels } from './image-open.js';
import type { OpenedImage } from './image-open.js';

interface Band {
  readonly item: number;
  readonly top: number;
  readonly height: number;
  /** First source row held. */
  readonly first: number;
  readonly pixels: Uint8Array | Uint16Array;
  readonly channels: number;
}

/**
 * Opens images for a tiled encode (see `ImageCodec.openTiles`): headers are read and the limits checked now; pixels
 * are decoded band by band as the tiles are asked for.
 *
 * @throws {@link InvalidInputError} for unreadable images or images of different sizes; {@link LimitExceededError}
 *   for an image over `maxInputPixels`
 */
export async function openImageTiles(
  inputs: readonly NodeImageInput[],
  manifest: Manifest,
  options: ImageReadOptions & { readonly multiple: number; readonly limits: ResolvedLimits },
): Promise<ImageTileSource> {
  const shape = readableImageShape(manifest, label(inputs[0]!, 0), 'pass tensors (or .npy arrays) instead');
  const channels = shape.channels;
  const opened: OpenedImage[] = [];
  for (let i = 0; i < inputs.length; i++) opened.push(await openImage(inputs[i]!, i, { width: shape.width, height: shape.height }, options));
  checkOneSize(opened);
  const first = opened[0]!;
  const { width, height } = first;
  const m = options.multiple;
  const paddedHeight = Math.ceil(height / m) * m;
  const paddedWidth = Math.ceil(width / m) * m;
  const columns = Int32Array.from({ length: paddedWidth }, (_, x) => reflectIndex(x, width));
  let band: Band | null = null;
  let whole: Band | null = null;

  async function loadBand(item: number, top: number, rows: number): Promise<Band> {
    let low = Infinity;
    let high = -1;
    for (let y = top; y < top + rows; y++) {
      const row = reflectIndex(y, height);
      low = Math.min(low, row);
      high = Math.max(high, row);
    }
    const image = opened[item]!;
    if (!image.bands) {
      // Decoded whole once (8 or 16 bits a sample, not float32), then cut in memory.
      if (whole === null || whole.item !== item) {
        whole = null;
        const raw = await rawPixels(image.build(), image.sixteen, image.name);
        whole = { item, top: 0, height, first: 0, pixels: raw.pixels, channels: raw.channels };
      }
      return { ...whole, top, height: rows };
    }
    const raw = await rawPixels(image.build().extract({ left: 0, top: low, width, height: high - low + 1 }), image.sixteen, image.name);
    return { item, top, height: rows, first: low, pixels: raw.pixels, channels: raw.channels };
  }

  return {
    dims: Object.freeze([opened.length, channels, paddedHeight, paddedWidth]),
    original: paddedHeight === height && paddedWidth === width ? null : Object.freeze({ height, width }),
    async region(item: number, rect: TileRect): Promise<VaeTensor> {
      if (band === null || band.item !== item || band.top !== rect.top || band.height !== rect.height) {
        band = null; // the old band is garbage before the new one is decoded
        band = await loadBand(item, rect.top, rect.height);
      }
      const { pixels, channels: source, first: firstRow } = band;
      const tile = pixels instanceof Uint16Array ? new Uint16Array(rect.height * rect.width * source) : new Uint8Array(rect.height * rect.width * source);
      for (let i = 0; i < rect.height; i++) {
        const from = (reflectIndex(rect.top + i, height) - firstRow) * width;
        const to = i * rect.width;
        for (let j = 0; j < rect.width; j++) {
          const p = (from + columns[rect.left + j]!) * source;
          const q = (to + j) * source;
          for (let c = 0; c < source; c++) tile[q + c] = pixels[p + c]!;
        }
      }
      const data = pixelsToTensor(tile, { width: rect.width, height: rect.height, channels: source }, { range: manifest.data.range, layout: 'NCHW', channels });
      return new VaeTensor(data, [1, channels, rect.height, rect.width]);
    },
    async close(): Promise<void> {
      band = null;
      whole = null;
    },
  };
}
