/**
 * Where tiled encoding reads its tiles from: a whole tensor, or a source that reads regions on demand (an image
 * decoded band by band), so peak memory is one tile plus the outputs.
 */
import { VaeTensor } from '../tensor/tensor.js';
import type { TileRect } from './plan.js';

/**
 * An input read tile by tile instead of held whole (an image decoded region by region): {@link tiledEncode} asks for
 * the regions of item 0 in row-major order (rows of tiles top to bottom, left to right within a row), then item 1,
 * and so on, so a source can stream.
 */
export interface TileSource {
  /** Dims of the whole input, `[N, C, H, W]`. */
  readonly dims: readonly number[];
  /** The region `rect` of item `item`, dims `[1, C, rect.height, rect.width]`. */
  region(item: number, rect: TileRect): Promise<VaeTensor>;
}

/** Whether a value is a {@link TileSource} (not a tensor). */
export function isTileSource(value: unknown): value is TileSource {
  return typeof value === 'object' && value !== null && typeof (value as TileSource).region === 'function' && Array.isArray((value as TileSource).dims);
}

/**
 * A whole NCHW tensor as a {@link TileSource}.
 *
 * @internal
 */
export function tensorSource(input: VaeTensor): TileSource {
  return { dims: input.dims, region: async (item, rect) => extractTile(input, item, rect) };
}

/** Copies tile `rect` of item `item` out of an NCHW tensor into a new `[1, C, h, w]` tensor. */
function extractTile(input: VaeTensor, item: number, rect: TileRect): VaeTensor {
  const [, channels, height, width] = input.dims as [number, number, number, number];
  const out = new Float32Array(channels * rect.height * rect.width);
  const source = input.data;
  for (let c = 0; c < channels; c++) {
    const plane = (item * channels + c) * height * width;
    for (let i = 0; i < rect.height; i++) {
      const from = plane + (rect.top + i) * width + rect.left;
      out.set(source.subarray(from, from + rect.width), (c * rect.height + i) * rect.width);
    }
  }
  return new VaeTensor(out, [1, channels, rect.height, rect.width]);
}
