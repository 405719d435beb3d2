/**
 * Reading a file with a size limit: the size is checked before reading (regular files), and reading stops one chunk
 * past the limit (devices, pipes, files that grow), so `/dev/zero` or a 10 GB file costs at most the limit in memory.
 */
import { open } from 'node:fs/promises';
import { limitExceeded } from '@onnx-vae/core';
import type { LimitName } from '@onnx-vae/core';

const CHUNK = 1 << 20;

/**
 * Reads a whole file, refusing one larger than `maximum` bytes.
 *
 * @param path - the file
 * @param maximum - the limit's value in bytes
 * @param limit - which limit, for the error (`maxFileBytes`, `maxGraphBytes`, `maxManifestBytes`)
 * @param what - what the file is, for the message, e.g. `"The input file x.npy"`
 * @throws {@link LimitExceededError} over the limit; the file system's error (ENOENT, EISDIR, ...) as thrown
 */
export async function readFileLimited(path: string, maximum: number, limit: LimitName, what: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (info.isFile() && info.size > maximum) throw limitExceeded(limit, info.size, maximum, what);
    if (info.isFile()) {
      const out = new Uint8Array(info.size);
      let filled = 0;
      while (filled < out.length) {
        const { bytesRead } = await handle.read(out, filled, out.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      // A file that grew while read is read to its size at open; one that shrank is returned as it is.
      return filled === out.length ? out : out.subarray(0, filled);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maximum) throw limitExceeded(limit, total, maximum, `${what} (not a regular file; read so far)`);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  } finally {
    await handle.close();
  }
}
