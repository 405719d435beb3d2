/**
 * Opening an image input for reading: the header only (size, depth, alpha), the pixel limits, and the sharp pipeline
 * of orientation, alpha and fitting that the codec's whole reads and the tiled reads (image-tiles.ts) share.
 *
 * @internal
 */
import { DEFAULT_LIMITS, InvalidInputError, VaeError, checkLimit, planImageFit } from '@onnx-vae/core';
import type { ImageReadLimits, ImageReadOptions } from '@onnx-vae/core';
import { readInputFile } from './image-io.js';
import type { NodeImageInput } from './image-codec.js';

/** sharp, loaded on first use. */
export async function loadSharp(): Promise<typeof import('sharp').default> {
  return (await import('sharp')).default;
}

export function label(input: NodeImageInput, index: number): string {
  return typeof input === 'string' ? input : `image ${index}`;
}

/**
 * An image opened but not decoded: its size after orientation and fitting, and how to build its sharp pipeline.
 *
 * @internal
 */
export interface OpenedImage {
  readonly name: string;
  /** Width and height after orientation and fitting. */
  readonly width: number;
  readonly height: number;
  /** 16-bit samples. */
  readonly sixteen: boolean;
  /**
   * Whether sharp cuts bands of the pipeline exactly as the whole image: not for an EXIF-rotated image that is also
   * resized (sharp then places a post-resize `extract` differently), which the tiled reader decodes whole.
   */
  readonly bands: boolean;
  /** A new pipeline giving the oriented, fitted, alpha-handled, grey or sRGB pixels (each call a fresh one). */
  build(): Sharp;
}

type Sharp = import('sharp').Sharp;

/** Wraps sharp's errors as typed ones (limit errors pass through). */
function readFailed(error: unknown, name: string): never {
  if (VaeError.isInstance(error)) throw error;
  throw new InvalidInputError(
    'INVALID_INPUT',
    name,
    `Cannot read ${name} as an image: ${(error as Error).message}. Inputs are images (PNG, JPEG, WebP, AVIF, TIFF, GIF) or tensors.`,
    { cause: error },
  );
}

/**
 * Opens one image: reads the header (never the pixels), checks `maxInputPixels`, and plans orientation, alpha and
 * fitting. sharp gets the same pixel limit (`limitInputPixels`), so a decoder never goes past it either.
 */
export async function openImage(
  input: NodeImageInput,
  index: number,
  fixed: { width: number | null; height: number | null },
  options: ImageReadOptions & ImageReadLimits & { readonly multiple: number },
): Promise<OpenedImage> {
  const name = label(input, index);
  const limits = options.limits ?? DEFAULT_LIMITS;
  const bytes = typeof input === 'string' ? await readInputFile(input, limits) : input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  const sharp = await loadSharp();
  const maxPixels = limits.maxInputPixels;
  // sharp takes false (no limit) or a positive integer; past 2^53 there is nothing left to limit.
  const limitInputPixels = Number.isSafeInteger(maxPixels) ? maxPixels : false;
  try {
    const meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata();
    const sourceWidth = meta.width ?? 0;
    const sourceHeight = meta.height ?? 0;
    // The call's own bound (the server's maxPixels), from the header alone, before any pixel is decoded.
    if (options.maxPixels !== undefined && sourceWidth * sourceHeight > options.maxPixels) {
      throw new InvalidInputError(
        'INPUT_TOO_LARGE',
        name,
        `${name} is ${sourceWidth}x${sourceHeight}, ${sourceWidth * sourceHeight} pixels, more than the limit of ${options.maxPixels}; send a smaller image.`,
      );
    }
    checkLimit(limits, 'maxInputPixels', sourceWidth * sourceHeight, `The image ${name} (${sourceWidth}x${sourceHeight})`);
    const sixteen = meta.depth === 'ushort';
    const steps: ((image: Sharp) => Sharp)[] = [(image) => image.autoOrient()];
    if (meta.hasAlpha) {
      if ((options.alpha ?? 'composite') === 'composite') {
        const [r, g, b] = options.background ?? [255, 255, 255];
        steps.push((image) => image.flatten({ background: { r, g, b } }));
      } else steps.push((image) => image.removeAlpha());
    }
    let resized = false;
    let width = meta.autoOrient?.width ?? sourceWidth;
    let height = meta.autoOrient?.height ?? sourceHeight;
    const fit = options.fit ?? 'pad';
    // The fit geometry is core's (the same as the canvas codec's): a crop is an extract, a new size a resize.
    const plan = planImageFit(name, width, height, fixed, fit, options.multiple);
    if (plan.crop.width !== width || plan.crop.height !== height) {
      const region = { left: plan.crop.x, top: plan.crop.y, width: plan.crop.width, height: plan.crop.height };
      steps.push((image) => image.extract(region));
    } else if (plan.width !== width || plan.height !== height) {
      const [w, h] = [plan.width, plan.height];
      steps.push((image) => image.resize(w, h, { fit: 'fill' }));
      resized = true;
    }
    width = plan.width;
    height = plan.height;
    checkLimit(limits, 'maxInputPixels', width * height, `The image ${name} after fitting (${width}x${height})`);
    // sharp keeps grey grey and makes colour sRGB; core's pixelsToTensor then converts to the model's channels
    // (RGB to grey by Rec. 601 luma), the same in every runtime.
    const grey = (meta.channels ?? 3) <= 2 && meta.space !== 'cmyk';
    steps.push((image) => (grey ? image.toColourspace(sixteen ? 'grey16' : 'b-w') : image.toColourspace(sixteen ? 'rgb16' : 'srgb')));
    const build = (): Sharp => steps.reduce((image, step) => step(image), sharp(bytes, { failOn: 'error', limitInputPixels }));
    return { name, width, height, sixteen, bands: !(resized && (meta.orientation ?? 1) > 1), build };
  } catch (error) {
    readFailed(error, name);
  }
}

/** Raw interleaved pixels of a pipeline, 8 or 16 bits. */
export async function rawPixels(
  image: Sharp,
  sixteen: boolean,
  name: string,
): Promise<{ pixels: Uint8Array | Uint16Array; width: number; height: number; channels: number }> {
  try {
    const { data, info } = await image.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    const pixels = sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { pixels, width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    readFailed(error, name);
  }
}
