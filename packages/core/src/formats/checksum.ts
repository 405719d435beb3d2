import { BackendError } from '../errors.js';

let crcTable: Uint32Array | undefined;

function table(): Uint32Array {
  if (crcTable) return crcTable;
  crcTable = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable[n] = c >>> 0;
  }
  return crcTable;
}

/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zlib, gzip and PNG: Python's `zlib.crc32`
 * gives the same value. It detects every error burst of up to 32 bits, so any single corrupted byte.
 *
 * @param bytes - the data
 * @param previous - the CRC of the data before `bytes`, to checksum in pieces; default 0 (none)
 * @returns the CRC as an unsigned 32-bit integer
 * @example
 * crc32(new TextEncoder().encode('123456789')); // 0xcbf43926
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const t = table();
  let c = ~previous;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

interface SubtleDigest {
  digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer>;
}

/**
 * SHA-256 of `bytes` as 64 lowercase hex digits, computed with WebCrypto (`crypto.subtle`, in Node 20+ and browsers
 * on secure origins). This is the model fingerprint that `.vlat` latent files record: the SHA-256 of the decoder's
 * ONNX bytes.
 *
 * @param bytes - the data, e.g. the decoder ONNX file
 * @throws {@link BackendError} `BACKEND_UNAVAILABLE` where `crypto.subtle` is missing (a browser page served over
 * plain HTTP)
 * @example
 * const fingerprint = await sha256Hex(decoderOnnxBytes);
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as unknown as { crypto?: { subtle?: SubtleDigest } }).crypto?.subtle;
  if (!subtle) {
    throw new BackendError(
      'BACKEND_UNAVAILABLE',
      'SHA-256 needs WebCrypto (crypto.subtle), which this environment lacks; use Node 20 or later, or serve the page over HTTPS or from localhost.',
    );
  }
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
