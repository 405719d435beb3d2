/**
 * The `.vlat` latent file (format version 1): a latent tensor, stored as float32, float16 or 8-bit codes, optionally
 * deflated, with the fingerprint of the decoder that can turn it back into an image and a CRC-32 over everything.
 * The byte layout is specified in docs/latent-format.md.
 */
import { deflateSync, inflateSync } from 'fflate';
import { crc32 } from './checksum.js';
import { FileFormatError, InvalidInputError, InvalidOptionError, VaeError, describe } from '../errors.js';
import { bytesToFloat32LE, bytesToUint16LE, float16ToFloat32, float32ToBytesLE, float32ToFloat16, isUint8Array, uint16ToBytesLE } from '../tensor/float16.js';
import { dequantizeUint8, quantizeUint8 } from './quantize.js';
import { VaeTensor, assertFinite, sizeOf, toTensor } from '../tensor/tensor.js';
import type { TensorInput } from '../tensor/tensor.js';
import { choiceList, invalidOption, isCount, isPlainObject, isPositiveInteger, optionChoice } from '../validate.js';
import { DEFAULT_LIMITS, checkJsonDepth, checkLimit, resolveLimits } from '../limits.js';
import type { ResolvedLimits, ResourceLimits } from '../limits.js';

/** How a `.vlat` file stores the latent's values. */
export const LATENT_DTYPES = Object.freeze({
  /** 4 bytes per value, bit-exact. */
  float32: 'float32',
  /** 2 bytes per value, IEEE binary16 rounded to nearest even: relative error at most 2^-11; |values| < 65520. */
  float16: 'float16',
  /** 1 byte per value plus a float32 min and max per channel (axis 1); error at most (max - min) / 510. */
  'uint8-affine': 'uint8-affine',
} as const);
/** One of {@link LATENT_DTYPES}. */
export type LatentDtype = keyof typeof LATENT_DTYPES;

/** How a `.vlat` file compresses its payload. */
export const LATENT_COMPRESSIONS = Object.freeze({
  /** Raw DEFLATE (RFC 1951), written with fflate. */
  deflate: 'deflate',
  /** Stored as is. */
  none: 'none',
} as const);
/** One of {@link LATENT_COMPRESSIONS}. */
export type LatentCompression = keyof typeof LATENT_COMPRESSIONS;

/** DEFLATE levels: 0 stores, 1 is fastest, 9 is smallest. */
export type DeflateLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/** The `.vlat` format version this release writes and reads. */
export const LATENT_FILE_VERSION = 1;

/** Image size before padding to the VAE's multiple, so that a decoder can crop its output back. */
export interface LatentImageSize {
  /** Height in pixels. */
  readonly height: number;
  /** Width in pixels. */
  readonly width: number;
}

/** Options of {@link encodeLatentFile}. */
export interface EncodeLatentFileOptions {
  /** SHA-256 of the decoder ONNX file, 64 hex digits (see {@link sha256Hex}); required. */
  readonly modelFingerprint: string;
  /** How to store the values; default `"float16"`. */
  readonly dtype?: LatentDtype;
  /** Payload compression; default `"deflate"`. */
  readonly compression?: LatentCompression;
  /** DEFLATE level 0-9; default 9 (latents are small, so the best ratio costs little). Ignored without compression. */
  readonly level?: DeflateLevel;
  /** Image size before padding; optional. */
  readonly imageSize?: LatentImageSize;
}

/** Options of {@link decodeLatentFile}. */
export interface DecodeLatentFileOptions {
  /** Fingerprint of the loaded decoder; when given, a file made for another model is refused. */
  readonly expectedFingerprint?: string;
  /** `maxFileBytes` bounds the payload after decompression, `maxJsonDepth` the header (see `LIMITS`). */
  readonly limits?: ResourceLimits;
}

/** The header of a `.vlat` file. */
export interface LatentFileHeader {
  /** Format version, 1. */
  readonly version: number;
  /** SHA-256 of the decoder ONNX file that the latent is for, 64 lowercase hex digits. */
  readonly modelFingerprint: string;
  /** Latent dims, batch first. */
  readonly dims: readonly number[];
  /** How the values are stored. */
  readonly dtype: LatentDtype;
  /** How the payload is compressed. */
  readonly compression: LatentCompression;
  /** Payload bytes after decompression. */
  readonly rawLength: number;
  /** Payload bytes as stored in the file. */
  readonly payloadLength: number;
  /** Image size before padding; `null` when the writer did not record it. */
  readonly imageSize: LatentImageSize | null;
  /** Length of the whole file in bytes. */
  readonly fileLength: number;
}

/** What {@link decodeLatentFile} returns. */
export interface DecodedLatentFile {
  /** The latent, float32. */
  readonly latent: VaeTensor;
  /** The file's header. */
  readonly header: LatentFileHeader;
}

/** `VLAT` in ASCII. */
const MAGIC = Object.freeze([0x56, 0x4c, 0x41, 0x54]);
/** Magic, version, 3 reserved bytes, header length, payload length. */
const PREFIX_BYTES = 16;
/** The trailing CRC-32. */
const CHECKSUM_BYTES = 4;
const DEFAULT_LEVEL: DeflateLevel = 9;
/** DEFLATE expands at most 1032:1 (zlib's technical notes); a header claiming more is damaged or hostile. */
const MAX_DEFLATE_RATIO = 1032;
const FINGERPRINT = /^[0-9a-f]{64}$/;

function corrupt(detail: string): never {
  throw new FileFormatError('vlat', 'file', `Not a valid .vlat latent file: ${detail}.`);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Bytes the uncompressed payload of a latent of these dims takes in this dtype. */
function rawLengthOf(dims: readonly number[], dtype: LatentDtype): number {
  const size = sizeOf(dims);
  switch (dtype) {
    case 'float32':
      return size * 4;
    case 'float16':
      return size * 2;
    case 'uint8-affine':
      return dims[1]! * 8 + size;
  }
}

function checkFingerprint(value: unknown, option: string): string {
  if (typeof value !== 'string' || !FINGERPRINT.test(value.toLowerCase())) {
    throw new InvalidOptionError(
      option,
      `Expected "${option}" to be the SHA-256 of the decoder ONNX file as 64 hex digits (see sha256Hex) but received ${describe(value)}.`,
    );
  }
  return value.toLowerCase();
}

interface ResolvedOptions {
  readonly modelFingerprint: string;
  readonly dtype: LatentDtype;
  readonly compression: LatentCompression;
  readonly level: DeflateLevel;
  readonly imageSize: LatentImageSize | null;
}

function resolveOptions(options: EncodeLatentFileOptions): ResolvedOptions {
  if (!isPlainObject(options)) {
    throw new InvalidOptionError(
      'modelFingerprint',
      `encodeLatentFile needs options with at least "modelFingerprint" (the decoder's SHA-256) but received ${describe(options)}.`,
    );
  }
  const modelFingerprint = checkFingerprint(options.modelFingerprint, 'modelFingerprint');
  const dtype = optionChoice(options.dtype, 'dtype', LATENT_DTYPES, 'float16');
  const compression = optionChoice(options.compression, 'compression', LATENT_COMPRESSIONS, 'deflate');
  const level = options.level ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw invalidOption('level', 'an integer from 0 (store) to 9 (smallest)', level);
  let imageSize: LatentImageSize | null = null;
  if (options.imageSize !== undefined && options.imageSize !== null) {
    const size = options.imageSize as unknown;
    if (!isPlainObject(size) || !isPositiveInteger(size.height) || !isPositiveInteger(size.width)) {
      throw new InvalidOptionError(
        'imageSize',
        `Expected "imageSize" to be { height, width } with positive integer sizes but received ${JSON.stringify(size) ?? describe(size)}.`,
      );
    }
    imageSize = { height: size.height, width: size.width };
  }
  return { modelFingerprint, dtype, compression, level, imageSize };
}

function encodePayload(latent: VaeTensor, dtype: LatentDtype): Uint8Array {
  switch (dtype) {
    case 'float32':
      return float32ToBytesLE(latent.data);
    case 'float16': {
      const halves = float32ToFloat16(latent.data);
      for (let i = 0; i < halves.length; i++) {
        if ((halves[i]! & 0x7c00) === 0x7c00) {
          throw new InvalidInputError(
            'INVALID_INPUT',
            'latent',
            `"latent" holds ${latent.data[i]} at flat index ${i}, beyond the float16 range (|x| < 65520); use dtype "float32".`,
          );
        }
      }
      return uint16ToBytesLE(halves);
    }
    case 'uint8-affine': {
      const quantized = quantizeUint8(latent);
      const channels = quantized.min.length;
      const out = new Uint8Array(channels * 8 + quantized.data.length);
      out.set(float32ToBytesLE(quantized.min), 0);
      out.set(float32ToBytesLE(quantized.max), channels * 4);
      out.set(quantized.data, channels * 8);
      return out;
    }
  }
}

/**
 * Writes a latent as a `.vlat` file: the compression stage of a latent codec.
 *
 * @param latent - a finite float32 latent, batch first (`[N, C, H, W]`, or `[N, L]`); `"uint8-affine"` needs rank 2
 * or more and quantises per channel (axis 1)
 * @param options - `modelFingerprint` (required: SHA-256 hex of the decoder ONNX bytes), `dtype` (default
 * `"float16"`), `compression` (default `"deflate"`), `level` (default 9), `imageSize` (optional)
 * @returns the file's bytes
 * @throws {@link InvalidOptionError} for a missing or malformed fingerprint or an unknown dtype, compression, level
 * or image size
 * @throws {@link InvalidInputError} `NON_FINITE_INPUT` for NaN or infinities, `INVALID_INPUT` for values beyond the
 * float16 range with dtype `"float16"`, `SHAPE_MISMATCH` for a rank-1 latent with `"uint8-affine"`, and any error of
 * {@link toTensor}
 * @example
 * const fingerprint = await sha256Hex(decoderOnnxBytes);
 * const file = encodeLatentFile(posterior.mode(), { modelFingerprint: fingerprint, imageSize: { height: 500, width: 375 } });
 * const { latent, header } = decodeLatentFile(file, { expectedFingerprint: fingerprint });
 */
export function encodeLatentFile(latent: TensorInput, options: EncodeLatentFileOptions): Uint8Array {
  const resolved = resolveOptions(options);
  const tensor = toTensor(latent, 'latent');
  if (tensor.dims.length === 0) {
    throw new InvalidInputError('SHAPE_MISMATCH', 'latent', 'Expected "latent" to have a batch axis but received a scalar (dims []).');
  }
  assertFinite(tensor, 'latent');
  const raw = encodePayload(tensor, resolved.dtype);
  const payload = resolved.compression === 'deflate' ? deflateSync(raw, { level: resolved.level }) : raw;
  const header: Record<string, unknown> = {
    modelFingerprint: resolved.modelFingerprint,
    dims: [...tensor.dims],
    dtype: resolved.dtype,
    compression: resolved.compression,
    rawLength: raw.length,
  };
  if (resolved.imageSize) header.imageSize = resolved.imageSize;
  const json = JSON.stringify(header); // ASCII: every field is ASCII
  const total = PREFIX_BYTES + json.length + payload.length + CHECKSUM_BYTES;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = LATENT_FILE_VERSION;
  view.setUint32(8, json.length, true);
  view.setUint32(12, payload.length, true);
  for (let i = 0; i < json.length; i++) out[PREFIX_BYTES + i] = json.charCodeAt(i);
  out.set(payload, PREFIX_BYTES + json.length);
  view.setUint32(total - CHECKSUM_BYTES, crc32(out.subarray(0, total - CHECKSUM_BYTES)), true);
  return out;
}

interface Prefix {
  readonly headerLength: number;
  readonly payloadLength: number;
  readonly fileLength: number;
}

/** Checks the 16-byte prefix and that the header is present. */
function readPrefix(file: unknown): Prefix {
  if (!isUint8Array(file)) {
    throw new InvalidInputError('INVALID_INPUT', 'file', `Expected "file" to be the bytes of a .vlat file (a Uint8Array) but received ${describe(file)}.`);
  }
  const head = file.subarray(0, MAGIC.length);
  if (head.some((b, i) => b !== MAGIC[i])) {
    corrupt(`bad magic: expected "VLAT" (56 4c 41 54) but the file starts with ${head.length ? hex(head) : 'nothing'}`);
  }
  if (file.length < PREFIX_BYTES) corrupt(`the file is truncated at byte ${file.length}, inside the ${PREFIX_BYTES}-byte prefix`);
  const version = file[4]!;
  if (version !== LATENT_FILE_VERSION) {
    if (version > LATENT_FILE_VERSION) {
      corrupt(`it is format version ${version} but this release of @onnx-vae/core reads version ${LATENT_FILE_VERSION}; upgrade @onnx-vae/core`);
    }
    corrupt(`unsupported format version ${version}; this release reads version ${LATENT_FILE_VERSION}`);
  }
  if (file[5] !== 0 || file[6] !== 0 || file[7] !== 0) corrupt(`reserved bytes 5-7 must be 0 but are ${hex(file.subarray(5, 8))}`);
  const view = new DataView(file.buffer, file.byteOffset, PREFIX_BYTES);
  const headerLength = view.getUint32(8, true);
  const payloadLength = view.getUint32(12, true);
  const fileLength = PREFIX_BYTES + headerLength + payloadLength + CHECKSUM_BYTES;
  if (file.length < PREFIX_BYTES + headerLength) {
    corrupt(`the file is truncated at byte ${file.length}, inside the ${headerLength}-byte header that starts at byte ${PREFIX_BYTES}`);
  }
  return { headerLength, payloadLength, fileLength };
}

/** Parses and validates the JSON header. */
function readHeader(file: Uint8Array, prefix: Prefix, limits: ResolvedLimits = DEFAULT_LIMITS): LatentFileHeader {
  let json = '';
  for (let i = PREFIX_BYTES; i < PREFIX_BYTES + prefix.headerLength; i++) {
    const byte = file[i]!;
    if (byte >= 0x80) corrupt(`the header holds the non-ASCII byte 0x${byte.toString(16)} at byte ${i}`);
    json += String.fromCharCode(byte);
  }
  checkJsonDepth(limits, json, 'the .vlat header');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    corrupt(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(parsed)) corrupt(`the header is ${describe(parsed)}, expected a JSON object`);
  const { modelFingerprint, dims, dtype, compression, rawLength, imageSize } = parsed;
  if (typeof modelFingerprint !== 'string' || !FINGERPRINT.test(modelFingerprint)) {
    corrupt(`header field "modelFingerprint" is ${describe(modelFingerprint)}, expected 64 lowercase hex digits`);
  }
  if (typeof dtype !== 'string' || !Object.hasOwn(LATENT_DTYPES, dtype)) {
    corrupt(`header field "dtype" is ${describe(dtype)}, expected one of ${choiceList(LATENT_DTYPES)}`);
  }
  if (typeof compression !== 'string' || !Object.hasOwn(LATENT_COMPRESSIONS, compression)) {
    corrupt(`header field "compression" is ${describe(compression)}, expected one of ${choiceList(LATENT_COMPRESSIONS)}`);
  }
  const minimumRank = dtype === 'uint8-affine' ? 2 : 1;
  if (!Array.isArray(dims) || dims.length < minimumRank || !dims.every(isCount) || !Number.isSafeInteger(sizeOf(dims))) {
    corrupt(`header field "dims" is ${describe(dims)}, expected at least ${minimumRank} non-negative integers`);
  }
  const expectedRaw = rawLengthOf(dims, dtype as LatentDtype);
  if (rawLength !== expectedRaw) {
    corrupt(`header field "rawLength" is ${describe(rawLength)} but a ${dtype} latent of dims ${describe(dims)} takes ${expectedRaw} bytes`);
  }
  if (compression === 'none' && prefix.payloadLength !== expectedRaw) {
    corrupt(`the uncompressed payload is ${prefix.payloadLength} bytes but the header says ${expectedRaw}`);
  }
  if (compression === 'deflate' && expectedRaw > MAX_DEFLATE_RATIO * (prefix.payloadLength + 1)) {
    corrupt(`the header claims ${expectedRaw} bytes from a ${prefix.payloadLength}-byte DEFLATE payload, more than DEFLATE can expand`);
  }
  let size: LatentImageSize | null = null;
  if (imageSize !== undefined && imageSize !== null) {
    if (!isPlainObject(imageSize) || !isPositiveInteger(imageSize.height) || !isPositiveInteger(imageSize.width)) {
      corrupt(`header field "imageSize" is ${JSON.stringify(imageSize)}, expected { height, width } with positive integers`);
    }
    size = Object.freeze({ height: imageSize.height, width: imageSize.width });
  }
  return Object.freeze({
    version: LATENT_FILE_VERSION,
    modelFingerprint,
    dims: Object.freeze([...(dims as number[])]),
    dtype: dtype as LatentDtype,
    compression: compression as LatentCompression,
    rawLength: expectedRaw,
    payloadLength: prefix.payloadLength,
    imageSize: size,
    fileLength: prefix.fileLength,
  });
}

/**
 * Reads the header of a `.vlat` file without decoding the payload or verifying the checksum, e.g. to show what a
 * file holds. The bytes may be just the start of the file, as long as they include the whole header.
 *
 * @param file - the file's bytes, or at least its first `16 + header length` bytes
 * @throws {@link InvalidInputError} `INVALID_INPUT` when `file` is not a Uint8Array; {@link FileFormatError}
 * `FILE_CORRUPT` (file `"file"`) for a bad magic, another format version, a truncated or malformed header;
 * {@link LimitExceededError} for a header nested deeper than `maxJsonDepth`
 * @example
 * latentFileInfo(bytes); // { version: 1, dims: [1, 4, 64, 64], dtype: 'float16', ... }
 */
export function latentFileInfo(file: Uint8Array): LatentFileHeader {
  return readHeader(file, readPrefix(file));
}

function decodePayload(raw: Uint8Array, header: LatentFileHeader): VaeTensor {
  const { dims, dtype } = header;
  const size = sizeOf(dims);
  switch (dtype) {
    case 'float32':
      return new VaeTensor(bytesToFloat32LE(raw, 0, size), dims);
    case 'float16':
      return new VaeTensor(float16ToFloat32(bytesToUint16LE(raw, 0, size)), dims);
    case 'uint8-affine': {
      const channels = dims[1]!;
      const min = bytesToFloat32LE(raw, 0, channels);
      const max = bytesToFloat32LE(raw, channels * 4, channels);
      for (let c = 0; c < channels; c++) {
        if (!(Number.isFinite(min[c]) && Number.isFinite(max[c]) && min[c]! <= max[c]!)) {
          corrupt(`channel ${c} has the quantisation range [${min[c]}, ${max[c]}], expected finite min <= max`);
        }
      }
      return dequantizeUint8({ data: raw.subarray(channels * 8, channels * 8 + size), min, max, dims });
    }
  }
}

/**
 * Reads a `.vlat` file back into a float32 latent.
 *
 * Checks, in order: the magic, the format version, the file length, the CRC-32 (any damaged byte is caught), the
 * header, the model fingerprint (when `expectedFingerprint` is given), the decompressed length and that every value
 * is finite. A file that fails a check is refused; its contents are never returned.
 *
 * @param file - the whole file
 * @param options - `expectedFingerprint`: the SHA-256 hex of the loaded decoder ONNX file; when given, a file made
 * for another model is refused
 * @returns the latent (float32) and the header
 * @throws {@link InvalidInputError} `INVALID_INPUT` when `file` is not a Uint8Array; {@link FileFormatError}
 * `FILE_CORRUPT` (file `"file"`) for a bad magic, another format version, a truncated or damaged file (the message
 * says which); {@link LimitExceededError} when the payload inflates past `limits.maxFileBytes` (default 256 MiB)
 * @throws {@link VaeError} `MODEL_MISMATCH` when the file names another model than `expectedFingerprint`
 * @throws {@link InvalidOptionError} for a malformed `expectedFingerprint`
 * @example
 * const { latent, header } = decodeLatentFile(bytes, { expectedFingerprint: await sha256Hex(decoderOnnxBytes) });
 */
export function decodeLatentFile(file: Uint8Array, options: DecodeLatentFileOptions = {}): DecodedLatentFile {
  const expected = options.expectedFingerprint === undefined ? undefined : checkFingerprint(options.expectedFingerprint, 'expectedFingerprint');
  const limits = resolveLimits(options.limits);
  const prefix = readPrefix(file);
  if (file.length < prefix.fileLength) {
    corrupt(`the file is truncated at byte ${file.length}; its prefix says it is ${prefix.fileLength} bytes long`);
  }
  if (file.length > prefix.fileLength) {
    corrupt(`the file is ${file.length} bytes long but its prefix says ${prefix.fileLength}; it has extra bytes at the end or a damaged prefix`);
  }
  const checked = prefix.fileLength - CHECKSUM_BYTES;
  const stored = new DataView(file.buffer, file.byteOffset + checked, CHECKSUM_BYTES).getUint32(0, true);
  const actual = crc32(file.subarray(0, checked));
  if (stored !== actual) {
    corrupt(`checksum mismatch: the file's CRC-32 is ${crcHex(stored)} but its contents give ${crcHex(actual)}; the file is damaged`);
  }
  const header = readHeader(file, prefix, limits);
  checkLimit(limits, 'maxFileBytes', header.rawLength, 'The decompressed payload of the .vlat file');
  if (expected !== undefined && header.modelFingerprint !== expected) {
    throw new VaeError(
      'MODEL_MISMATCH',
      `This latent file was made by model ${header.modelFingerprint} but the loaded decoder is ${expected}; decompress it with the model that compressed it.`,
    );
  }
  const start = PREFIX_BYTES + prefix.headerLength;
  const payload = file.subarray(start, start + prefix.payloadLength);
  let raw = payload;
  if (header.compression === 'deflate') {
    try {
      // One spare byte: fflate truncates to the buffer it is given, so a longer stream shows as rawLength + 1.
      raw = inflateSync(payload, { out: new Uint8Array(header.rawLength + 1) });
    } catch (error) {
      throw new FileFormatError('vlat', 'file', `Not a valid .vlat latent file: the DEFLATE payload is damaged (${(error as Error).message}).`, {
        cause: error,
      });
    }
    if (raw.length !== header.rawLength) {
      corrupt(`the payload inflates to ${raw.length > header.rawLength ? 'more than ' : ''}${raw.length} bytes but the header says ${header.rawLength}`);
    }
  }
  const latent = decodePayload(raw, header);
  const data = latent.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) corrupt(`the payload holds ${data[i]} at flat index ${i}; latents must be finite`);
  }
  return { latent, header };
}

function crcHex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
