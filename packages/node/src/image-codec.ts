/**
 * The Node image codec: image files and encoded bytes in (PNG, JPEG, WebP, AVIF, TIFF, GIF; 8 or 16 bits; grey,
 * RGB, alpha; EXIF orientation applied), model data out, and back to PNG, JPEG or WebP bytes. Pixel conversions
 * are core's (`pixelsToTensor`, `tensorToPixels`); sharp decodes and encodes.
 */
import { InvalidInputError, InvalidOptionError, VaeTensor, dataImageShape, describe, imageItemDims, itemImageGeometry, pixelsToTensor, sizeOf, tensorToPixels } from '@onnx-vae/core';
import type { ImageCodec, ImageReadOptions } from '@onnx-vae/core';
import { readInputFile } from './image-io.js';

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

async function loadSharp(): Promise<typeof import('sharp').default> {
  return (await import('sharp')).default;
}

function label(input: NodeImageInput, index: number): string {
  return typeof input === 'string' ? input : `image ${index}`;
}

interface DecodedImage {
  readonly pixels: Uint8Array | Uint16Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly name: string;
}

/** Reads one image as 8- or 16-bit interleaved pixels, grey or RGB per `channels`, fitted per `options`. */
async function decodeImage(input: NodeImageInput, index: number, fixed: { width: number | null; height: number | null }, options: ImageReadOptions & { readonly multiple: number }): Promise<DecodedImage> {
  const name = label(input, index);
  const bytes = typeof input === 'string' ? await readInputFile(input) : input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  const sharp = await loadSharp();
  try {
    let image = sharp(bytes, { failOn: 'error' }).autoOrient();
    const meta = await image.metadata();
    const sixteen = meta.depth === 'ushort';
    if (meta.hasAlpha) {
      if ((options.alpha ?? 'composite') === 'composite') {
        const [r, g, b] = options.background ?? [255, 255, 255];
        image = image.flatten({ background: { r, g, b } });
      } else image = image.removeAlpha();
    }
    let width = meta.autoOrient?.width ?? meta.width!;
    let height = meta.autoOrient?.height ?? meta.height!;
    const fit = options.fit ?? 'pad';
    const m = options.multiple;
    if (fixed.width !== null && fixed.height !== null) {
      if (fit === 'resize' && (width !== fixed.width || height !== fixed.height)) {
        image = image.resize(fixed.width, fixed.height, { fit: 'fill' });
        width = fixed.width;
        height = fixed.height;
      }
    } else if (fit === 'resize' && (width % m !== 0 || height % m !== 0)) {
      const w = Math.max(m, Math.round(width / m) * m);
      const h = Math.max(m, Math.round(height / m) * m);
      image = image.resize(w, h, { fit: 'fill' });
      width = w;
      height = h;
    } else if (fit === 'crop' && (width % m !== 0 || height % m !== 0)) {
      const w = Math.floor(width / m) * m;
      const h = Math.floor(height / m) * m;
      if (w === 0 || h === 0) throw new InvalidInputError('SHAPE_MISMATCH', name, `${name} is ${width}x${height}, smaller than one ${m}x${m} block, so "fit: 'crop'" leaves nothing; use fit "pad" or "resize".`);
      image = image.extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h });
      width = w;
      height = h;
    }
    // sharp keeps grey grey and makes colour sRGB; core's pixelsToTensor then converts to the model's channels
    // (RGB to grey by Rec. 601 luma), the same in every runtime.
    const grey = (meta.channels ?? 3) <= 2 && meta.space !== 'cmyk';
    image = grey ? image.toColourspace(sixteen ? 'grey16' : 'b-w') : image.toColourspace(sixteen ? 'rgb16' : 'srgb');
    const { data, info } = await image.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    const pixels = sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { pixels, width: info.width, height: info.height, channels: info.channels, name };
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError('INVALID_INPUT', name, `Cannot read ${name} as an image: ${(error as Error).message}. Inputs are images (PNG, JPEG, WebP, AVIF, TIFF, GIF) or tensors.`, { cause: error });
  }
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
    const shape = dataImageShape(manifest.data);
    if (shape === null) {
      throw new InvalidInputError('INVALID_INPUT', label(inputs[0]!, 0), `Model "${manifest.name}" takes flat items without an image geometry (no data.image in its manifest), so it cannot read the image ${label(inputs[0]!, 0)}; pass tensors (or .npy arrays) instead.`);
    }
    if (shape.channels !== 1 && shape.channels !== 3) {
      throw new InvalidInputError('INVALID_INPUT', label(inputs[0]!, 0), `Model "${manifest.name}" takes items of ${describe(shape.channels)} channels; images convert to 1 (grey) or 3 (RGB) channels only.`);
    }
    const images: DecodedImage[] = [];
    for (let i = 0; i < inputs.length; i++) images.push(await decodeImage(inputs[i]!, i, { width: shape.width, height: shape.height }, options));
    const first = images[0]!;
    for (const image of images) {
      if (shape.width !== null && shape.height !== null && (image.width !== shape.width || image.height !== shape.height)) {
        throw new InvalidInputError('SHAPE_MISMATCH', image.name, `Image ${image.name} is ${image.width}x${image.height} (width x height) but model "${manifest.name}" takes ${shape.width}x${shape.height} images; resize it (fit "resize").`);
      }
      if (image.width !== first.width || image.height !== first.height) {
        throw new InvalidInputError('SHAPE_MISMATCH', image.name, `Images in one call must have one size, but ${first.name} is ${first.width}x${first.height} and ${image.name} is ${image.width}x${image.height}; pass them in separate calls, or resize them.`);
      }
    }
    const geometry = { width: first.width, height: first.height, channels: shape.channels };
    const itemDims = imageItemDims(manifest.data.layout, geometry);
    const per = sizeOf(itemDims);
    const data = new Float32Array(per * images.length);
    // Each image is converted straight into its slot of the batch: no array per image to allocate and copy.
    images.forEach((image, i) => pixelsToTensor(image.pixels, image, { range: manifest.data.range, layout: manifest.data.layout, channels: shape.channels as number }, data.subarray(i * per, (i + 1) * per)));
    return new VaeTensor(data, [images.length, ...itemDims]);
  },

  async write(data, manifest, options = {}) {
    const format = options.format ?? 'png';
    if (!Object.hasOwn(IMAGE_FORMATS, format)) throw new InvalidOptionError('format', `Expected "format" to be one of ${Object.keys(IMAGE_FORMATS).map((k) => `"${k}"`).join(', ')} but received ${describe(format)}.`);
    const quality = options.quality ?? 90;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new InvalidOptionError('quality', `Expected "quality" to be an integer from 1 to 100 but received ${describe(options.quality)}.`);
    const geometry = itemImageGeometry(manifest.data, data.dims.slice(1));
    if (geometry === null) throw new InvalidInputError('SHAPE_MISMATCH', 'data', `Items of dims ${describe(data.dims.slice(1))} are not images of model "${manifest.name}".`);
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
