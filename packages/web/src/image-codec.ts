/**
 * The browser image codec: ImageData, `<img>`, ImageBitmap, canvases and encoded image Blobs in, model data out, and
 * back to ImageData (then to a canvas or a PNG/JPEG/WebP Blob with {@link imageDataToCanvas} and
 * {@link imageDataToBlob}). Pixel conversions are core's (`pixelsToTensor`, `tensorToPixels`), so a browser and Node
 * give the same numbers for the same pixels; the browser's canvas decodes, resizes and crops.
 */
import {
  DEFAULT_LIMITS,
  InvalidInputError,
  InvalidOptionError,
  VaeTensor,
  checkImagesRead,
  checkLimit,
  checkModelImageSize,
  checkOneSize,
  describe,
  imageItemDims,
  itemImageGeometry,
  pixelsToTensor,
  planImageFit,
  readableImageShape,
  sizeOf,
  tensorToPixels,
} from '@onnx-vae/core';
import type { ImageCodec, ImageReadOptions } from '@onnx-vae/core';

/** Image inputs in the browser. A Blob (or File) holds an encoded image (PNG, JPEG, WebP, ...). */
export type WebImageInput = ImageData | HTMLImageElement | ImageBitmap | HTMLCanvasElement | OffscreenCanvas | Blob;

/** Options of writing images: none, ImageData has no format (convert with {@link imageDataToBlob}). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- `DecodeOptions & W` must stay DecodeOptions
export interface WebImageWriteOptions {}

/** Encoded formats of {@link imageDataToBlob}. */
export const IMAGE_TYPES = Object.freeze({ 'image/png': 'image/png', 'image/jpeg': 'image/jpeg', 'image/webp': 'image/webp' } as const);
/** One of {@link IMAGE_TYPES}. */
export type ImageType = keyof typeof IMAGE_TYPES;

type Canvas = HTMLCanvasElement | OffscreenCanvas;
type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
type Drawable = Exclude<WebImageInput, Blob | ImageData>;

function isA(input: unknown, name: string): boolean {
  const type = (globalThis as Record<string, unknown>)[name];
  return typeof type === 'function' && input instanceof (type as new () => unknown);
}

function newCanvas(width: number, height: number): Canvas {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const document = (globalThis as { document?: Document }).document;
  if (!document)
    throw new InvalidInputError(
      'INVALID_INPUT',
      'image',
      'Reading or writing images needs OffscreenCanvas or a document; this environment has neither (pass tensors instead).',
    );
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function context(canvas: Canvas): Context2D {
  const ctx = canvas.getContext('2d', { colorSpace: 'srgb', willReadFrequently: true }) as Context2D | null;
  if (!ctx) throw new InvalidInputError('INVALID_INPUT', 'image', 'The browser gave no 2D canvas context to read the image with.');
  return ctx;
}

function sizeOfDrawable(source: Drawable): { width: number; height: number } {
  if (isA(source, 'HTMLImageElement')) {
    const image = source as HTMLImageElement;
    return { width: image.naturalWidth, height: image.naturalHeight };
  }
  return { width: source.width, height: source.height };
}

/** A decoded image: a drawable source or ImageData (kept as is, so its pixels are read exactly when no resize is due). */
async function decode(input: WebImageInput, name: string): Promise<Drawable | ImageData> {
  try {
    if (isA(input, 'Blob')) return await createImageBitmap(input as Blob);
    if (isA(input, 'HTMLImageElement') && !(input as HTMLImageElement).complete) await (input as HTMLImageElement).decode();
    return input as Drawable | ImageData;
  } catch (error) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      name,
      `Cannot read ${name} as an image: ${(error as Error)?.message ?? error}. Inputs are ImageData, <img>, ImageBitmap, canvases, encoded image Blobs, or tensors.`,
      { cause: error },
    );
  }
}

/** The RGBA pixels of `source`, cut to `crop` (source pixels) and scaled to `width` x `height`. */
function rgba(source: Drawable | ImageData, crop: { x: number; y: number; width: number; height: number }, width: number, height: number): ImageData {
  const whole = crop.x === 0 && crop.y === 0 && crop.width === width && crop.height === height;
  if (isA(source, 'ImageData')) {
    const data = source as ImageData;
    if (whole && data.width === width && data.height === height) return data;
    const staging = newCanvas(data.width, data.height);
    context(staging).putImageData(data, 0, 0);
    return rgba(staging, crop, width, height);
  }
  const canvas = newCanvas(width, height);
  const ctx = context(canvas);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source as CanvasImageSource, crop.x, crop.y, crop.width, crop.height, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

/** RGB bytes of RGBA pixels, with alpha composited over `background` or dropped. */
function flattenAlpha(image: ImageData, options: ImageReadOptions): Uint8Array {
  const source = image.data;
  const out = new Uint8Array(image.width * image.height * 3);
  const composite = (options.alpha ?? 'composite') === 'composite';
  const background = options.background ?? [255, 255, 255];
  if (!Array.isArray(background) || background.length !== 3 || !background.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw new InvalidOptionError('background', `Expected "background" to be [r, g, b] with integers 0-255 but received ${describe(background)}.`);
  }
  for (let p = 0, q = 0; p < source.length; p += 4, q += 3) {
    const alpha = source[p + 3]!;
    for (let c = 0; c < 3; c++) {
      const value = source[p + c]!;
      out[q + c] = !composite || alpha === 255 ? value : Math.round((value * alpha + background[c]! * (255 - alpha)) / 255);
    }
  }
  return out;
}

function label(input: WebImageInput, index: number): string {
  const name = (input as { name?: unknown }).name;
  return isA(input, 'File') && typeof name === 'string' ? name : `image ${index}`;
}

/**
 * The canvas-based {@link ImageCodec} of `@onnx-vae/web`; `loadVae` installs it, so `vae.encode(imageData)`,
 * `vae.reconstruct(file)` and `vae.decodeImages(z)` work.
 */
export const webImageCodec: ImageCodec<WebImageInput, ImageData, WebImageWriteOptions> = {
  isImage(input: unknown): input is WebImageInput {
    return ['ImageData', 'HTMLImageElement', 'ImageBitmap', 'HTMLCanvasElement', 'OffscreenCanvas', 'Blob'].some((name) => isA(input, name));
  },

  async read(inputs, manifest, options) {
    const shape = readableImageShape(manifest, label(inputs[0]!, 0), 'pass tensors instead');
    const fit = options.fit ?? 'pad';
    const m = options.multiple;
    const limits = options.limits ?? DEFAULT_LIMITS;
    let pixels = 0;
    const images: { pixels: ImageData; name: string; width: number; height: number }[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const name = label(inputs[i]!, i);
      const source = await decode(inputs[i]!, name);
      const { width, height } = isA(source, 'ImageData') ? (source as ImageData) : sizeOfDrawable(source as Drawable);
      // The browser has decoded the image; the limits bound the canvas and the float32 data made from it.
      checkLimit(limits, 'maxInputPixels', width * height, `The image ${name} (${width}x${height})`);
      pixels += width * height;
      checkImagesRead(limits, options.untiled === true, pixels, inputs.length, { name, width, height });
      // The fit geometry is core's (the same as the sharp codec's); a fixed size is checked here.
      const plan = planImageFit(name, width, height, shape, fit, m);
      if (fit !== 'resize') checkModelImageSize(manifest, shape, { name, width, height });
      const fitted = rgba(source, plan.crop, plan.width, plan.height);
      images.push({ pixels: fitted, name, width: fitted.width, height: fitted.height });
      if (isA(source, 'ImageBitmap') && !isA(inputs[i], 'ImageBitmap')) (source as ImageBitmap).close();
    }
    checkOneSize(images);
    const first = images[0]!;
    const geometry = { width: first.pixels.width, height: first.pixels.height, channels: 3 };
    const format = { range: manifest.data.range, layout: manifest.data.layout, channels: shape.channels };
    const itemDims = imageItemDims(manifest.data.layout, { ...geometry, channels: format.channels });
    const per = sizeOf(itemDims);
    const data = new Float32Array(per * images.length);
    // Each image is converted straight into its slot of the batch, as in Node's codec.
    images.forEach((image, i) => pixelsToTensor(flattenAlpha(image.pixels, options), geometry, format, data.subarray(i * per, (i + 1) * per)));
    return new VaeTensor(data, [images.length, ...itemDims]);
  },

  async write(data, manifest) {
    const geometry = itemImageGeometry(manifest.data, data.dims.slice(1));
    if (geometry === null)
      throw new InvalidInputError('SHAPE_MISMATCH', 'data', `Items of dims ${describe(data.dims.slice(1))} are not images of model "${manifest.name}".`);
    const per = sizeOf(data.dims.slice(1));
    const out: ImageData[] = [];
    for (let i = 0; i < data.dims[0]!; i++) {
      const pixels = tensorToPixels(data.data.subarray(i * per, (i + 1) * per), geometry, manifest.data.range, manifest.data.layout);
      const rgbaPixels = new Uint8ClampedArray(geometry.width * geometry.height * 4);
      for (let p = 0, q = 0; q < rgbaPixels.length; p += geometry.channels, q += 4) {
        rgbaPixels[q] = pixels[p]!;
        rgbaPixels[q + 1] = pixels[geometry.channels === 1 ? p : p + 1]!;
        rgbaPixels[q + 2] = pixels[geometry.channels === 1 ? p : p + 2]!;
        rgbaPixels[q + 3] = 255;
      }
      out.push(new ImageData(rgbaPixels, geometry.width, geometry.height));
    }
    return out;
  },
};

/**
 * Draws ImageData (e.g. from `vae.toImages`) on a new canvas: an OffscreenCanvas where the browser has one, else a
 * `<canvas>` element.
 *
 * @example
 * const [image] = await vae.decodeImages(z);
 * document.body.append(imageDataToCanvas(image) as HTMLCanvasElement);
 */
export function imageDataToCanvas(image: ImageData): Canvas {
  const canvas = newCanvas(image.width, image.height);
  context(canvas).putImageData(image, 0, 0);
  return canvas;
}

/**
 * Encodes ImageData as a PNG, JPEG or WebP Blob.
 *
 * @param options - `type` (default `'image/png'`), `quality` 0-1 for JPEG and WebP (default 0.9)
 * @throws {@link InvalidOptionError} for an unknown type or a quality outside [0, 1]
 */
export async function imageDataToBlob(image: ImageData, options: { readonly type?: ImageType; readonly quality?: number } = {}): Promise<Blob> {
  const type = options.type ?? 'image/png';
  if (!Object.hasOwn(IMAGE_TYPES, type))
    throw new InvalidOptionError(
      'type',
      `Expected "type" to be one of ${Object.keys(IMAGE_TYPES)
        .map((k) => `"${k}"`)
        .join(', ')} but received ${describe(type)}.`,
    );
  const quality = options.quality ?? 0.9;
  if (typeof quality !== 'number' || !(quality >= 0 && quality <= 1))
    throw new InvalidOptionError('quality', `Expected "quality" to be a number from 0 to 1 but received ${describe(options.quality)}.`);
  const canvas = imageDataToCanvas(image);
  if ('convertToBlob' in canvas) return canvas.convertToBlob({ type, quality });
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new InvalidInputError('INVALID_INPUT', 'image', `The browser could not encode the image as ${type}.`))),
      type,
      quality,
    ),
  );
}
