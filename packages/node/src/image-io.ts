/**
 * Image files in and out, through sharp: input bytes with typed errors, pixels to PNG. Reading images into model data is
 * the codec's (image-codec.ts).
 */
import { writeFileAtomic } from './files.js';
import { DEFAULT_LIMITS, InvalidInputError, VaeError } from '@onnx-vae/core';
import type { PixelImage, ResolvedLimits } from '@onnx-vae/core';
import { readFileLimited } from './read-limited.js';

/** sharp, loaded on first use: its native library costs startup time that non-image work need not pay. */
async function loadSharp(): Promise<typeof import('sharp').default> {
  return (await import('sharp')).default;
}

/**
 * Reads an input file's bytes.
 *
 * @param path - the file
 * @param limits - `maxFileBytes` (default 256 MiB) bounds the file's size
 * @throws {@link InvalidInputError} `INVALID_INPUT`: `"<path>: file not found."` for a missing file, or the system
 *   error's code for an unreadable one; {@link LimitExceededError} for a file over `maxFileBytes`
 */
export async function readInputFile(path: string, limits: ResolvedLimits = DEFAULT_LIMITS): Promise<Uint8Array> {
  try {
    return await readFileLimited(path, limits.maxFileBytes, 'maxFileBytes', `The input file ${path}`);
  } catch (error) {
    if (VaeError.isInstance(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InvalidInputError('INVALID_INPUT', path, `${path}: file not found.`, { cause: error });
    throw new InvalidInputError('INVALID_INPUT', path, `Cannot read ${path} (${code ?? (error as Error).message}).`, { cause: error });
  }
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
