/**
 * Reader and writer of the safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a
 * JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian tensor bytes.
 */
import { FileFormatError, InvalidInputError, describe } from '../errors.js';
import {
  bfloat16ToFloat32,
  bytesToFloat32LE,
  bytesToUint16LE,
  float16ToFloat32,
  float32ToBytesLE,
  float32ToFloat16,
  isUint8Array,
  uint16ToBytesLE,
} from '../tensor/float16.js';
import { VaeTensor, sizeOf, toTensor } from '../tensor/tensor.js';
import type { TensorInput } from '../tensor/tensor.js';
import { choiceList, isCount, isPlainObject, optionChoice } from '../validate.js';
import { DEFAULT_LIMITS, checkJsonDepth } from '../limits.js';

/** Element types {@link decodeSafetensors} reads, with their sizes in bytes; all are returned as float32. */
export const SAFETENSORS_DTYPES = Object.freeze({
  /** IEEE binary32; what {@link encodeSafetensors} writes by default. */
  F32: 4,
  /** IEEE binary16, widened exactly; {@link encodeSafetensors} writes it with `dtype: 'F16'` (rounded to nearest even). */
  F16: 2,
  /** bfloat16 (the top half of a binary32), widened exactly. */
  BF16: 2,
} as const);
/** One of {@link SAFETENSORS_DTYPES}. */
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

/** What {@link decodeSafetensors} returns. */
export interface SafetensorsContent {
  /** Tensors by name, converted to float32. */
  readonly tensors: Record<string, VaeTensor>;
  /** The string-to-string `__metadata__` map; empty when the file has none. */
  readonly metadata: Record<string, string>;
}

/** Element types {@link encodeSafetensors} writes. */
export const SAFETENSORS_WRITE_DTYPES = Object.freeze({ F32: 'F32', F16: 'F16' } as const);
/** One of {@link SAFETENSORS_WRITE_DTYPES}. */
export type SafetensorsWriteDtype = keyof typeof SAFETENSORS_WRITE_DTYPES;

/** Options of {@link encodeSafetensors}. */
export interface SafetensorsWriteOptions {
  /** Element type of every tensor in the file: `'F32'` (default) or `'F16'` (float32 values rounded to nearest even). */
  readonly dtype?: SafetensorsWriteDtype;
}

/** Name of the header entry that holds the free-form metadata. */
const METADATA_KEY = '__metadata__';
/** The reference implementation refuses headers over 100 MB; so does this one, before decoding any of it. */
const MAX_HEADER_BYTES = 100_000_000;

interface TextCodecs {
  TextEncoder: new () => { encode(text: string): Uint8Array };
  TextDecoder: new (label: string, options: { fatal: boolean }) => { decode(bytes: Uint8Array): string };
}
const text = globalThis as unknown as TextCodecs;

/**
 * Writes tensors as a safetensors file (all `F32`, or all `F16` with `options.dtype`, little-endian).
 *
 * The header lists `__metadata__` first (when given), then the tensors in name order (JavaScript string order),
 * whose data follow in that order back to back; it is padded with spaces to a multiple of 8 bytes so that the data
 * start 8-byte aligned, as the reference writer does.
 *
 * @param tensors - float32 tensors by name; `"__metadata__"` is reserved
 * @param metadata - optional string-to-string map stored as `__metadata__`
 * @param options - `dtype`: `'F32'` (default) or `'F16'`
 * @returns the file's bytes
 * @throws {@link InvalidInputError} `INVALID_INPUT` for a tensor named `"__metadata__"` or metadata values that
 * are not strings; any error of {@link toTensor} for a tensor that is not float32; {@link InvalidOptionError} for
 * another `dtype`
 * @example
 * const bytes = encodeSafetensors({ latent }, { model: fingerprint });
 * const { tensors } = decodeSafetensors(bytes); // tensors.latent
 */
export function encodeSafetensors(tensors: Record<string, TensorInput>, metadata?: Record<string, string>, options: SafetensorsWriteOptions = {}): Uint8Array {
  const dtype = optionChoice<SafetensorsWriteDtype>(options.dtype, 'dtype', SAFETENSORS_WRITE_DTYPES, 'F32');
  if (typeof tensors !== 'object' || tensors === null) {
    throw new InvalidInputError('INVALID_INPUT', 'tensors', `Expected "tensors" to be an object of tensors by name but received ${describe(tensors)}.`);
  }
  // Built by hand rather than with one JSON.stringify of an object, which would move integer-like names first.
  const members: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null) {
      throw new InvalidInputError('INVALID_INPUT', 'metadata', `Expected "metadata" to be an object of strings but received ${describe(metadata)}.`);
    }
    const pairs = Object.entries(metadata).map(([key, value]) => {
      if (typeof value !== 'string') {
        throw new InvalidInputError(
          'INVALID_INPUT',
          'metadata',
          `safetensors metadata values must be strings but "metadata.${key}" is ${describe(value)}; convert it with String() or JSON.stringify().`,
        );
      }
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    members.push(`${JSON.stringify(METADATA_KEY)}:{${pairs.join(',')}}`);
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors).sort()) {
    if (name === METADATA_KEY) {
      throw new InvalidInputError('INVALID_INPUT', 'tensors', 'A tensor cannot be named "__metadata__", the key that holds the metadata; rename it.');
    }
    const tensor = toTensor(tensors[name], name);
    const bytes = dtype === 'F16' ? uint16ToBytesLE(float32ToFloat16(tensor.data)) : float32ToBytesLE(tensor.data);
    const entry = { dtype, shape: [...tensor.dims], data_offsets: [offset, offset + bytes.length] };
    members.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = new text.TextEncoder().encode(`{${members.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(json);
    json = withSpaces;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let position = 8 + json.length;
  for (const part of parts) {
    out.set(part, position);
    position += part.length;
  }
  return out;
}

function corrupt(detail: string): never {
  throw new FileFormatError('safetensors', 'bytes', `Not a valid safetensors file: ${detail}.`);
}

interface Entry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

function parseEntry(name: string, value: unknown): Entry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(value)) corrupt(`${where} is ${describe(value)}, expected { dtype, shape, data_offsets }`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPES, dtype)) {
    corrupt(`${where} has dtype ${describe(dtype)}; this reader takes ${choiceList(SAFETENSORS_DTYPES)}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) corrupt(`${where} has shape ${describe(shape)}, expected a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!) {
    corrupt(`${where} has data_offsets ${describe(offsets)}, expected [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = sizeOf(shape) * SAFETENSORS_DTYPES[dtype as SafetensorsDtype];
  if (end - begin !== expected) {
    corrupt(`${where} (${dtype}, shape ${describe(shape)}) needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape, begin, end };
}

/**
 * Reads a safetensors file. `F32`, `F16` and `BF16` tensors are returned as float32 {@link VaeTensor}s (the half
 * types widened exactly); other dtypes are refused.
 *
 * Checks, like the reference reader: the header length fits the file, the header is UTF-8 JSON of an object, every
 * entry's byte range matches its dtype and shape, and the ranges tile the data section exactly (no gaps, no
 * overlaps, no bytes left over).
 *
 * @param bytes - the whole file
 * @throws {@link InvalidInputError} `INVALID_INPUT` when `bytes` is not a Uint8Array; {@link FileFormatError}
 * `FILE_CORRUPT` (file `"bytes"`), saying what is wrong, for a malformed file or an unsupported dtype;
 * {@link LimitExceededError} for a header nested deeper than the default `maxJsonDepth`
 * @example
 * const { tensors, metadata } = decodeSafetensors(new Uint8Array(await file.arrayBuffer()));
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContent {
  if (!isUint8Array(bytes)) {
    throw new InvalidInputError('INVALID_INPUT', 'bytes', `Expected "bytes" to be a Uint8Array but received ${describe(bytes)}.`);
  }
  if (bytes.length < 8) corrupt(`the file is ${bytes.length} bytes long, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > MAX_HEADER_BYTES) corrupt(`the header length is ${headerLength} bytes, over the limit of ${MAX_HEADER_BYTES}`);
  if (8 + headerLength > bytes.length) {
    corrupt(`the header length is ${headerLength} bytes but the file ends at byte ${bytes.length}; it is truncated`);
  }
  let json: string;
  try {
    json = new text.TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    corrupt('the header is not valid UTF-8');
  }
  if (!json.startsWith('{')) corrupt(`the header must start with "{" but starts with ${describe(json.slice(0, 8))}`);
  checkJsonDepth(DEFAULT_LIMITS, json, 'the safetensors header');
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch (error) {
    corrupt(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) corrupt('the header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(value)) corrupt(`"__metadata__" is ${describe(value)}, expected an object of strings`);
      for (const [key, item] of Object.entries(value)) {
        if (typeof item !== 'string') corrupt(`"__metadata__.${key}" is ${describe(item)}, expected a string`);
        Object.defineProperty(metadata, key, { value: item, enumerable: true, writable: true, configurable: true });
      }
    } else {
      entries.push(parseEntry(name, value));
    }
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const byPosition = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of byPosition) {
    if (entry.begin < covered) {
      corrupt(`tensor ${JSON.stringify(entry.name)} at bytes [${entry.begin}, ${entry.end}) overlaps the tensor before it, which ends at ${covered}`);
    }
    if (entry.begin > covered) corrupt(`there is a gap in the data between bytes ${covered} and ${entry.begin}`);
    covered = entry.end;
  }
  if (covered > dataLength) {
    corrupt(`the tensors need ${covered} data bytes but the file holds ${dataLength} after the header; it is truncated`);
  }
  if (covered < dataLength) corrupt(`the tensors use ${covered} data bytes but the file holds ${dataLength} after the header`);
  const tensors = Object.fromEntries(entries.map((entry) => [entry.name, readTensor(bytes, dataStart, entry)]));
  return { tensors, metadata };
}

function readTensor(bytes: Uint8Array, dataStart: number, entry: Entry): VaeTensor {
  const offset = dataStart + entry.begin;
  const count = sizeOf(entry.shape);
  switch (entry.dtype) {
    case 'F32':
      return new VaeTensor(bytesToFloat32LE(bytes, offset, count), entry.shape);
    case 'F16':
      return new VaeTensor(float16ToFloat32(bytesToUint16LE(bytes, offset, count)), entry.shape);
    case 'BF16':
      return new VaeTensor(bfloat16ToFloat32(bytesToUint16LE(bytes, offset, count)), entry.shape);
  }
}
