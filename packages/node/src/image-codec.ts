/**
 * The Node image codec: image files and encoded bytes in (PNG, JPEG, WebP, AVIF, TIFF, GIF; 8 or 16 bits; grey,
 * RGB, alpha; EXIF orientation applied), model data out, and back to PNG, JPEG or WebP bytes. Pixel conversions
 * are core's (`pixelsToTensor`, `tensorToPixels`); sharp decodes and encodes.
 */
import {
  DEFAULT_LIMITS,
  InvalidInputError,
  InvalidOptionError,
  VaeTensor,
  checkImagesRead,
  checkModelImageSize,
  checkOneSize,
  describe,
  imageItemDims,
  itemImageGeometry,
  pixelsToTensor,
  readableImageShape,
  sizeOf,
  tensorToPixels,
} from '@onnx-vae/core';
import type { ImageCodec, ResourceLimits } from '@onnx-vae/core';
import { resolveLimits } from '@onnx-vae/core';
import { openImageTiles } from './image-tiles.js';
import { label, loadSharp, openImage, rawPixels } from './image-open.js';
import type { OpenedImage } from './image-open.js';

/** Image inputs in Node: a file path, or the bytes of an encoded image. */
export type NodeImageInput = string | Uint8Array | ArrayBuffer;

/** Formats images are written in. */
export const IMAGE_FORMATS = Object.freeze({ png: 'png', jpeg: 'jpeg', webp: 'webp' } as const);
/** One of {@link IMAGE_FORMATS}. */
export type ImageFormat = keyof typeof IMAGE_FORMATS;

/** Options of writing images. */
export interface ImageWriteOptions {
  /** Default `'png'`. */
  readonly format?: ImageFormat;
  /** JPEG and WebP quality, 1-100. Default 90. */
  readonly quality?: number;
}

interface DecodedImage {
  readonly pixels: Uint8Array | Uint16Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly name: string;
}

/** Reads one image whole as 8- or 16-bit interleaved pixels, grey or RGB per `channels`, fitted per `options`. */
async function decodeImage(opened: OpenedImage): Promise<DecodedImage> {
  const { pixels, width, height, channels } = await rawPixels(opened.build(), opened.sixteen, opened.name);
  return { pixels, width, height, channels, name: opened.name };
}

/**
 * The size of an image input after EXIF orientation, read from its header (no pixel is decoded).
 *
 * @param input - a file path or the bytes of an encoded image
 * @param options - `limits`: `maxFileBytes` and `maxInputPixels` apply
 * @throws {@link InvalidInputError} for an unreadable image; {@link LimitExceededError} over a limit
 * @example
 * const { width, height } = await readImageSize('photo.jpg');
 */
export async function readImageSize(input: NodeImageInput, options: { readonly limits?: ResourceLimits } = {}): Promise<{ width: number; height: number }> {
  const { width, height } = await openImage(input, 0, { width: null, height: null }, { multiple: 1, limits: resolveLimits(options.limits) });
  return { width, height };
}

/**
 * The sharp-based {@link ImageCodec} of `@onnx-vae/node`; `loadVae` installs it, so `vae.encode('photo.jpg')`,
 * `vae.reconstruct(buffer)` and `vae.decodeImages(z, { format: 'webp' })` work.
 */
export const nodeImageCodec: ImageCodec<NodeImageInput, Buffer, ImageWriteOptions> = {
  isImage(input: unknown): input is NodeImageInput {
    return typeof input === 'string' || input instanceof Uint8Array || input instanceof ArrayBuffer;
  },

  async read(inputs, manifest, options) {
    const shape = readableImageShape(manifest, label(inputs[0]!, 0), 'pass tensors (or .npy arrays) instead');
    const limits = options.limits ?? DEFAULT_LIMITS;
    // Every header first: the limits are checked before any pixel is decoded.
    const opened: OpenedImage[] = [];
    let pixels = 0;
    for (let i = 0; i < inputs.length; i++) {
      const image = await openImage(inputs[i]!, i, { width: shape.width, height: shape.height }, options);
      pixels += image.width * image.height;
      // Read whole: for a graph run without tiling, or (tiled, but the caller wants the whole tensor) as large as a decode's output.
      checkImagesRead(limits, options.untiled === true, pixels, inputs.length, image);
      opened.push(image);
    }
    const images: DecodedImage[] = [];
    for (const image of opened) images.push(await decodeImage(image));
    for (const image of images) checkModelImageSize(manifest, shape, image);
    checkOneSize(images);
    const first = images[0]!;
    const geometry = { width: first.width, height: first.height, channels: shape.channels };
    const itemDims = imageItemDims(manifest.data.layout, geometry);
    const per = sizeOf(itemDims);
    const data = new Float32Array(per * images.length);
    // Each image is converted straight into its slot of the batch: no array per image to allocate and copy.
    images.forEach((image, i) =>
      pixelsToTensor(
        image.pixels,
        image,
        { range: manifest.data.range, layout: manifest.data.layout, channels: shape.channels },
        data.subarray(i * per, (i + 1) * per),
      ),
    );
    return new VaeTensor(data, [images.length, ...itemDims]);
  },

  openTiles(inputs, manifest, options) {
    return openImageTiles(inputs, manifest, options);
  },

  async write(data, manifest, options = {}) {
    const format = options.format ?? 'png';
    if (!Object.hasOwn(IMAGE_FORMATS, format))
      throw new InvalidOptionError(
        'format',
        `Expected "format" to be one of ${Object.keys(IMAGE_FORMATS)
          .map((k) => `"${k}"`)
          .join(', ')} but received ${describe(format)}.`,
      );
    const quality = options.quality ?? 90;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100)
      throw new InvalidOptionError('quality', `Expected "quality" to be an integer from 1 to 100 but received ${describe(options.quality)}.`);
    const geometry = itemImageGeometry(manifest.data, data.dims.slice(1));
    if (geometry === null)
      throw new InvalidInputError('SHAPE_MISMATCH', 'data', `Items of dims ${describe(data.dims.slice(1))} are not images of model "${manifest.name}".`);
    const sharp = await loadSharp();
    const out: Buffer[] = [];
    const per = sizeOf(data.dims.slice(1));
    for (let i = 0; i < data.dims[0]!; i++) {
      const pixels = tensorToPixels(data.data.subarray(i * per, (i + 1) * per), geometry, manifest.data.range, manifest.data.layout);
      let image = sharp(pixels, { raw: { width: geometry.width, height: geometry.height, channels: geometry.channels as 1 | 3 } });
      if (geometry.channels === 1) image = image.toColourspace('b-w');
      out.push(await (format === 'png' ? image.png() : format === 'jpeg' ? image.jpeg({ quality }) : image.webp({ quality })).toBuffer());
    }
    return out;
  },
};
