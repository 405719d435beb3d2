import type { ResolvedLimits } from '../limits.js';
import type { Manifest } from '../manifest/types.js';
import type { SpatialSize } from '../tensor/spatial.js';
import type { VaeTensor } from '../tensor/tensor.js';
import type { TileSource } from '../tiling/source.js';

/** How an image whose size is not a multiple of the model's spatial factor is fitted. */
export const IMAGE_FITS = Object.freeze({
  /** Pad the bottom and right by reflection, and crop the output back (default). */
  pad: 'pad',
  /** Resize to the nearest multiple (images only). */
  resize: 'resize',
  /** Crop the centre to the largest multiple (images only). */
  crop: 'crop',
} as const);
/** One of {@link IMAGE_FITS}. */
export type ImageFit = keyof typeof IMAGE_FITS;

/** What to do with an image's alpha channel. */
export const ALPHA_MODES = Object.freeze({
  /** Composite over `background` (default white). */
  composite: 'composite',
  /** Drop the alpha channel. */
  drop: 'drop',
} as const);
/** One of {@link ALPHA_MODES}. */
export type AlphaMode = keyof typeof ALPHA_MODES;

/** How images are read into model data. */
export interface ImageReadOptions {
  /** Fitting to the spatial factor. Default `'pad'`. */
  readonly fit?: ImageFit;
  /** Alpha handling. Default `'composite'`. */
  readonly alpha?: AlphaMode;
  /** RGB background (0-255) for `alpha: 'composite'`. Default white. */
  readonly background?: readonly [number, number, number];
  /** Refuse images of more pixels (width x height) than this with `INPUT_TOO_LARGE`, before decoding them. */
  readonly maxPixels?: number;
}

/** What an image read must respect; checked before the pixels are decoded. */
export interface ImageReadLimits {
  /** The limits in force. */
  readonly limits?: ResolvedLimits;
  /** The whole image runs through a graph (no tiling), so `maxUntiledPixels` applies. */
  readonly untiled?: boolean;
}

/** Images opened for a tiled encode, read region by region (see {@link ImageCodec.openTiles}). */
export interface ImageTileSource extends TileSource {
  /** Height and width before padding to the spatial factor; `null` when nothing was padded. */
  readonly original: SpatialSize | null;
  /** Releases what the source holds. */
  close(): Promise<void>;
}

/**
 * Reads and writes images for a runtime (sharp in Node, canvas in browsers); core converts nothing itself.
 *
 * @typeParam I - image inputs the runtime takes (paths and encoded bytes in Node)
 * @typeParam O - images it gives back (encoded bytes in Node)
 * @typeParam W - its write options (format, quality)
 */
export interface ImageCodec<I, O, W> {
  /** Whether an input is an image this codec reads. */
  isImage(input: unknown): input is I;
  /**
   * Reads images into one data tensor `[N, ...item]` in the manifest's range and layout. With `fit: 'resize'` or
   * `'crop'` sizes become multiples of `multiple`; with `'pad'` they stay as they are.
   */
  read(inputs: readonly I[], manifest: Manifest, options: ImageReadOptions & ImageReadLimits & { readonly multiple: number }): Promise<VaeTensor>;
  /**
   * Optional: opens images for a tiled encode (NCHW), padded by reflection to multiples of `multiple` and read
   * region by region, so memory is bounded by the tiles, not the image. Codecs without it are read whole.
   */
  openTiles?(
    inputs: readonly I[],
    manifest: Manifest,
    options: ImageReadOptions & { readonly multiple: number; readonly limits: ResolvedLimits },
  ): Promise<ImageTileSource>;
  /**
   * Writes each item of a data tensor as an image.
   *
   * @param options - the runtime's write options; absent: the codec's defaults (Node: PNG)
   */
  write(data: VaeTensor, manifest: Manifest, options?: W): Promise<O[]>;
}
