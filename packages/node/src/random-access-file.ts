import { open } from 'node:fs/promises';
import { ModelFileError } from '@onnx-vae/core';
import type { RandomAccessFile } from '@onnx-vae/core';

/**
 * Opens a file for reading parts of it (core reads a graph's inputs and outputs this way, without its weights).
 *
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND` when the file cannot be opened
 */
export async function openRandomAccessFile(path: string): Promise<RandomAccessFile> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ModelFileError(
      'MODEL_FILE_NOT_FOUND',
      path,
      `Cannot open the graph ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      { cause: error },
    );
  }
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (error) {
    await handle.close();
    throw error;
  }
  let closed = false;
  return {
    size,
    async read(position, length) {
      const buffer = new Uint8Array(Math.max(0, Math.min(length, size - position)));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      return buffer.subarray(0, bytesRead);
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
