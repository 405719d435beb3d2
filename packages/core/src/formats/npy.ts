/**
 * NumPy `.npy` files (NEP 1, format versions 1.0 to 3.0): read float32, float16, float64 and uint8 arrays in C order;
 * write float32 (or float16) arrays exactly as `numpy.save` does.
 */
import { FileFormatError, InvalidInputError, describe } from '../errors.js';
import { float16ToFloat32, float32ToFloat16 } from '../tensor/float16.js';
import { VaeTensor, sizeOf } from '../tensor/tensor.js';
import type { TensorLike } from '../tensor/tensor.js';
import { choiceList, optionChoice } from '../validate.js';

/** Element types {@link readNpy} reads, by their NumPy `descr`. */
export const NPY_DTYPES = Object.freeze({
  /** Little-endian float32, read as is. */
  '<f4': '<f4',
  /** Little-endian float16, widened exactly. */
  '<f2': '<f2',
  /** Little-endian float64, rounded to float32. */
  '<f8': '<f8',
  /** uint8, converted to float32 values 0..255. */
  '|u1': '|u1',
} as const);
/** One of {@link NPY_DTYPES}. */
export type NpyDtype = keyof typeof NPY_DTYPES;

/** A parsed `.npy` file. */
export interface NpyArray {
  /** The file's element type. */
  readonly dtype: NpyDtype;
  /** The values as float32, with the file's shape as dims. */
  readonly tensor: VaeTensor;
}

/** The first six bytes of every `.npy` file: `\x93NUMPY`. */
export const NPY_MAGIC = Object.freeze([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] as const);
const MAGIC = NPY_MAGIC;

/** Whether `bytes` start with the `.npy` magic string (a cheap test before {@link parseNpy}). */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}
const ARRAY_ALIGN = 64;
/** NumPy leaves room for the first axis to grow to this many digits (`GROWTH_AXIS_MAX_DIGITS`). */
const GROWTH_AXIS_MAX_DIGITS = 21;

function invalid(source: string, message: string): never {
  throw new FileFormatError('npy', source, `${source} is not a readable .npy file: ${message}`);
}

/**
 * The value of `key` in the header dictionary. A key given twice takes its last value, as numpy reads the header
 * (a Python dict literal, where a later key wins), so a file means the same to numpy and to onnx-vae.
 */
function field(header: string, key: string, value: string): string | undefined {
  let last: string | undefined;
  for (const match of header.matchAll(new RegExp(`['"]${key}['"]\\s*:\\s*(${value})`, 'g'))) last = match[1];
  return last;
}

/**
 * Parses a `.npy` file.
 *
 * @param bytes - the whole file
 * @param source - the file's name, for messages and as the error's `argument`; default `"npy"`
 * @returns the dtype and the values as a float32 tensor whose dims are the array's shape
 * @throws {@link FileFormatError} `FILE_CORRUPT` (format `"npy"`, file `source`) for a bad magic string, a truncated
 *   file, Fortran order, big-endian data or a dtype other than `<f4`, `<f2`, `<f8`, `|u1`. A key given twice in the
 *   header takes its last value, as in numpy.
 * @example
 * const { dtype, tensor } = parseNpy(await readFile('x.npy'), 'x.npy');
 */
export function parseNpy(bytes: Uint8Array, source = 'npy'): NpyArray {
  if (bytes.length < 10 || !isNpy(bytes)) {
    invalid(source, 'it does not start with the magic string "\\x93NUMPY" (write it with numpy.save).');
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3) invalid(source, `format version ${major}.${bytes[7]} is not supported; versions 1.0 to 3.0 are.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) invalid(source, `the file is truncated (${bytes.length} bytes).`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = prefix + headerLength;
  if (bytes.length < dataStart) invalid(source, `the file is truncated: its header needs ${dataStart} bytes but the file has ${bytes.length}.`);
  const headerBytes = bytes.subarray(prefix, dataStart);
  const header = new (globalThis as unknown as { TextDecoder: new (label: string) => { decode(bytes: Uint8Array): string } }).TextDecoder(
    major === 3 ? 'utf-8' : 'latin1',
  ).decode(headerBytes);
  const trimmed = header.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) invalid(source, `its header is not a dictionary: ${JSON.stringify(trimmed.slice(0, 80))}.`);

  const descr = field(trimmed, 'descr', `'[^']*'|"[^"]*"`)?.slice(1, -1);
  const fortran = field(trimmed, 'fortran_order', 'True|False');
  const shapeText = field(trimmed, 'shape', '\\([^)]*\\)');
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    invalid(source, `its header lacks "descr", "fortran_order" or "shape", or has a structured dtype: ${JSON.stringify(trimmed)}.`);
  }
  if (fortran === 'True') invalid(source, 'the array is in Fortran order; only C order is read. Save np.ascontiguousarray(arr) instead.');
  if (!Object.hasOwn(NPY_DTYPES, descr)) {
    const bigEndian = descr.startsWith('>');
    invalid(
      source,
      bigEndian
        ? `its dtype "${descr}" is big-endian; save arr.astype("<${descr.slice(1)}") instead.`
        : `its dtype "${descr}" is not supported; the supported dtypes are ${choiceList(NPY_DTYPES)} (convert with arr.astype(np.float32)).`,
    );
  }
  const dtype = descr as NpyDtype;
  const parts = shapeText
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (!parts.every((s) => /^\d+$/.test(s))) invalid(source, `its shape ${shapeText} is not a tuple of non-negative integers.`);
  const dims = parts.map(Number);
  const size = sizeOf(dims);
  const itemSize = dtype === '<f8' ? 8 : dtype === '<f4' ? 4 : dtype === '<f2' ? 2 : 1;
  const dataLength = bytes.length - dataStart;
  if (dataLength !== size * itemSize) {
    invalid(
      source,
      `its header says shape ${shapeText} of ${dtype}, which is ${size * itemSize} bytes of data, but ${dataLength} bytes follow the header${dataLength < size * itemSize ? ' (the file is truncated)' : ''}.`,
    );
  }
  const data = new Float32Array(size);
  if (dtype === '<f4') for (let i = 0; i < size; i++) data[i] = view.getFloat32(dataStart + 4 * i, true);
  else if (dtype === '<f2') {
    const halves = new Uint16Array(size);
    for (let i = 0; i < size; i++) halves[i] = view.getUint16(dataStart + 2 * i, true);
    data.set(float16ToFloat32(halves));
  } else if (dtype === '<f8') for (let i = 0; i < size; i++) data[i] = view.getFloat64(dataStart + 8 * i, true);
  else data.set(bytes.subarray(dataStart, dataStart + size));
  return { dtype, tensor: new VaeTensor(data, dims) };
}

/**
 * Reads a `.npy` file's values as a float32 tensor (float64 is rounded, uint8 becomes 0..255).
 *
 * @param bytes - the whole file
 * @param source - the file's name, for messages
 * @throws {@link FileFormatError} `FILE_CORRUPT`, see {@link parseNpy}
 * @example
 * const x = readNpy(await readFile('x.npy'), 'x.npy'); // x.dims = [N, 784]
 */
export function readNpy(bytes: Uint8Array, source?: string): VaeTensor {
  return parseNpy(bytes, source).tensor;
}

/** Element types {@link encodeNpy} writes, by their NumPy `descr`. */
export const NPY_WRITE_DTYPES = Object.freeze({ '<f4': '<f4', '<f2': '<f2' } as const);
/** One of {@link NPY_WRITE_DTYPES}. */
export type NpyWriteDtype = keyof typeof NPY_WRITE_DTYPES;

/**
 * Encodes a float32 tensor as a version 1.0 `.npy` file (`<f4`, or `<f2` rounded to nearest even; C order), byte for
 * byte what `numpy.save` writes: the header is padded with spaces and a newline to a multiple of 64 bytes.
 *
 * @param tensor - a {@link VaeTensor} or `{ data: Float32Array, dims }`
 * @param options - `dtype`: `'<f4'` (default) or `'<f2'`
 * @returns the file's bytes
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` when the data length does not match the dims;
 *   {@link InvalidOptionError} for another `dtype`
 * @example
 * await writeFile('z.npy', encodeNpy(posterior.mean));
 * await writeFile('z16.npy', encodeNpy(posterior.mean, { dtype: '<f2' }));
 */
export function encodeNpy(tensor: TensorLike, options: { readonly dtype?: NpyWriteDtype } = {}): Uint8Array {
  const dtype = optionChoice<NpyWriteDtype>(options.dtype, 'dtype', NPY_WRITE_DTYPES, '<f4');
  const dims = [...tensor.dims];
  if (tensor.data.length !== sizeOf(dims)) {
    throw new InvalidInputError('SHAPE_MISMATCH', 'tensor', `Tensor data has ${tensor.data.length} values but dims ${describe(dims)} need ${sizeOf(dims)}.`);
  }
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shape}, }`;
  if (dims.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(dims[0]).length));
  // As numpy's _wrap_header: a full block of padding when the header is already aligned.
  const padding = ARRAY_ALIGN - ((10 + header.length + 1) % ARRAY_ALIGN);
  header += `${' '.repeat(padding)}\n`;
  const itemSize = dtype === '<f2' ? 2 : 4;
  const out = new Uint8Array(10 + header.length + itemSize * tensor.data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const start = 10 + header.length;
  if (dtype === '<f2') {
    const halves = float32ToFloat16(tensor.data);
    for (let i = 0; i < halves.length; i++) view.setUint16(start + 2 * i, halves[i]!, true);
  } else for (let i = 0; i < tensor.data.length; i++) view.setFloat32(start + 4 * i, tensor.data[i]!, true);
  return out;
}
