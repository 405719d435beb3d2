/**
 * Image files in and out, through sharp: PNG/JPEG (and anything else sharp decodes) to model data, pixels to PNG,
 * and atomic file writes.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './files.js';
import type { OutputInfo } from 'sharp';
import { InvalidInputError, TENSOR_CHANNELS, VaeTensor, dataImageShape, imageItemDims, pixelsToTensor } from '@onnx-vae/core';
import type { Manifest, PixelImage } from '@onnx-vae/core';

/** sharp, loaded on first use: its native library costs startup time that non-image work need not pay. */
async function loadSharp(): Promise<typeof import('sharp').default> {
  return (await import('sharp')).default;
}

/**
 * Reads an input file's bytes.
 *
 * @param path - the file
 * @throws {@link InvalidInputError} `INVALID_INPUT`: `"<path>: file not found."` for a missing file, or the system
 *   error's code for an unreadable one
 */
export async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InvalidInputError('INVALID_INPUT', path, `${path}: file not found.`, { cause: error });
    throw new InvalidInputError('INVALID_INPUT', path, `Cannot read ${path} (${code ?? (error as Error).message}).`, { cause: error });
  }
}

/**
 * Reads an image (PNG, JPEG, or any format sharp decodes) as one data item of a model: grey or RGB per the model's
 * channels (RGB to grey by Rec. 601 luma; alpha dropped), scaled to `data.range`, in `data.layout`. sharp decodes to
 * 8 bits per channel (16-bit images lose their low byte; EXIF orientation is applied). The image must already have
 * the model's size: it is never resized.
 *
 * @param source - a file path or the file's bytes
 * @param manifest - the model's manifest; its `data.image` (flat layouts) or `data.shape` (NCHW/NHWC) gives the size
 * @param name - the input's name for messages; default: the path, or `"image"` for bytes
 * @returns a tensor of dims `[1, ...item]`
 * @throws {@link InvalidInputError} `INVALID_INPUT` for a missing or undecodable file or a model whose items are not
 *   images; `SHAPE_MISMATCH` when the image's size differs from the model's
 * @example
 * const x = await readImage('digit.png', vae.manifest);
 * const q = await vae.encode(x);
 */
export async function readImage(source: string | Uint8Array, manifest: Manifest, name?: string): Promise<VaeTensor> {
  const label = name ?? (typeof source === 'string' ? source : 'image');
  const shape = dataImageShape(manifest.data);
  if (shape === null) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      label,
      `Model "${manifest.name}" takes flat items without an image geometry (no data.image in vae.json), so it cannot read the image ${label}; pass a .npy array instead.`,
    );
  }
  if (shape.channels !== null && !Object.values(TENSOR_CHANNELS).includes(shape.channels as 1 | 3)) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      label,
      `Model "${manifest.name}" takes items of ${shape.channels} channels; images convert only to 1 (grey) or 3 (RGB) channels, so pass ${label} as a .npy array instead.`,
    );
  }
  const bytes = typeof source === 'string' ? await readInputFile(source) : source;
  let pixels: Uint8Array;
  let info: OutputInfo;
  const sharp = await loadSharp();
  try {
    const result = await sharp(bytes).autoOrient().raw().toBuffer({ resolveWithObject: true });
    info = result.info;
    pixels = new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength);
  } catch (error) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      label,
      `Cannot read ${label} as an image: ${(error as Error).message}. Inputs are PNG or JPEG images or .npy arrays.`,
      { cause: error },
    );
  }
  const width = shape.width ?? info.width;
  const height = shape.height ?? info.height;
  if (info.width !== width || info.height !== height) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      label,
      `Image ${label} is ${info.width}x${info.height} (width x height) but model "${manifest.name}" takes ${width}x${height} images; resize it first (for example with sharp: .resize(${width}, ${height})).`,
    );
  }
  const channels = shape.channels ?? (info.channels >= 3 ? 3 : 1);
  const item = pixelsToTensor(pixels, { width, height, channels: info.channels }, { range: manifest.data.range, layout: manifest.data.layout, channels });
  return new VaeTensor(item, [1, ...imageItemDims(manifest.data.layout, { width, height, channels })]);
}

/**
 * Encodes 8-bit interleaved HWC pixels as a PNG (1 or 2 channels as a greyscale PNG).
 *
 * @param image - `pixels`, `width`, `height`, `channels` (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA)
 * @returns the PNG file's bytes
 * @throws the underlying sharp error for a geometry that does not match the pixels
 */
export async function encodePng(image: PixelImage): Promise<Uint8Array> {
  const { pixels, width, height, channels } = image;
  const input = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const sharp = await loadSharp();
  const raw = sharp(input, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
  // Without this sharp stores grey pixels as an RGB PNG.
  return (channels <= 2 ? raw.toColourspace('b-w') : raw).png().toBuffer();
}

/**
 * Writes 8-bit interleaved HWC pixels as a PNG file, atomically (see {@link writeFileAtomic}).
 *
 * @param path - the PNG's path; its folder must exist
 * @param pixels - `height * width * channels` bytes
 * @param width - pixels per row
 * @param height - rows
 * @param channels - 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
 * @example
 * await writePng('digit.png', tensorToPixels(x.data, { width: 28, height: 28, channels: 1 }, [0, 1], 'flat'), 28, 28, 1);
 */
export async function writePng(path: string, pixels: Uint8Array, width: number, height: number, channels: number): Promise<void> {
  await writeFileAtomic(path, await encodePng({ pixels, width, height, channels }));
}
