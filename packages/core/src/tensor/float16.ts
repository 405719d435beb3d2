/**
 * Half-precision floats: IEEE 754 binary16 (`float16`) and bfloat16, stored as raw bits in `Uint16Array`s, and the
 * little-endian byte layout of float arrays that the file formats (`.vlat`, safetensors) share.
 */

/** True where typed arrays are little-endian, i.e. on every engine onnx-vae runs on; big-endian falls back to DataView. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Rounds the bits of one float32 to binary16, round-to-nearest-even.
 *
 * Magnitudes from 65520 (half-way between 65504 and 2^16) overflow to infinity; magnitudes below 2^-24 become
 * subnormal or zero; NaN stays NaN (its sign and top payload bits kept, made quiet only when they would read as
 * infinity).
 */
function bitsToFloat16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    if (mantissa === 0) return sign | 0x7c00;
    const payload = mantissa >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload);
  }
  const unbiased = exponent - 127;
  if (unbiased > 15) return sign | 0x7c00;
  if (unbiased >= -14) {
    // Normal: keep 10 mantissa bits, round on the 13 dropped ones. A carry out of the mantissa bumps the exponent,
    // and a carry out of exponent 30 gives 0x7c00, infinity, as it should.
    let half = sign | ((unbiased + 15) << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
    return half;
  }
  if (unbiased < -25) return sign; // below half of the smallest subnormal (2^-25): rounds to zero
  // Subnormal: value = significand * 2^(unbiased - 23) and one subnormal step is 2^-24, so shift right by -unbiased - 1.
  const significand = mantissa | 0x800000;
  const shift = -unbiased - 1; // 14 .. 24
  let half = significand >>> shift;
  const rest = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++; // a carry into bit 10 gives the smallest normal
  return sign | half;
}

/** The float32 bits of one binary16 value (exact: every half is a float32). */
function float16ToBits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  let mantissa = half & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal half: normalise into a float32 normal.
  let unbiased = -14;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    unbiased--;
  }
  return (sign | ((unbiased + 127) << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/**
 * Converts float32 values to IEEE 754 binary16 bits, rounding to nearest, ties to even.
 *
 * Subnormal halves are produced exactly; magnitudes of 65520 and above become ±infinity (as `Math.f16round` does);
 * infinities stay infinities and NaN stays NaN.
 *
 * @param values - float32 values
 * @returns one binary16 bit pattern per value
 * @example
 * float32ToFloat16(Float32Array.of(1, 0.1, 1e6)); // Uint16Array [0x3c00, 0x2e66, 0x7c00]
 */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const bits = bitsOf(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = bitsToFloat16(bits[i]!);
  return out;
}

/**
 * Converts IEEE 754 binary16 bits to float32 values. Exact: every half value is a float32 value (NaN payloads kept).
 *
 * @param halves - binary16 bit patterns
 * @returns one float32 per half
 */
export function float16ToFloat32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = bitsOf(out);
  for (let i = 0; i < halves.length; i++) bits[i] = float16ToBits(halves[i]!);
  return out;
}

/**
 * Converts bfloat16 bits (the top 16 bits of a float32) to float32 values. Exact.
 *
 * @param halves - bfloat16 bit patterns
 * @returns one float32 per value
 */
export function bfloat16ToFloat32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = bitsOf(out);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  return out;
}

/**
 * Little-endian bytes of float32 values.
 *
 * @internal Shared by the `.vlat` and safetensors writers.
 */
export function float32ToBytesLE(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, out.length));
  } else {
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  }
  return out;
}

/**
 * Float32 values read from `count * 4` little-endian bytes at `offset`; always a fresh, aligned copy.
 *
 * @internal Shared by the `.vlat` and safetensors readers; the caller checks the bounds.
 */
export function bytesToFloat32LE(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/**
 * Little-endian bytes of 16-bit words.
 *
 * @internal Shared by the `.vlat` writer and tests.
 */
export function uint16ToBytesLE(words: Uint16Array): Uint8Array {
  const out = new Uint8Array(words.length * 2);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(words.buffer, words.byteOffset, out.length));
  } else {
    const view = new DataView(out.buffer);
    for (let i = 0; i < words.length; i++) view.setUint16(i * 2, words[i]!, true);
  }
  return out;
}

/**
 * 16-bit words read from `count * 2` little-endian bytes at `offset`; always a fresh, aligned copy.
 *
 * @internal Shared by the `.vlat` and safetensors readers; the caller checks the bounds.
 */
export function bytesToUint16LE(bytes: Uint8Array, offset: number, count: number): Uint16Array {
  const out = new Uint16Array(count);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 2));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 2);
    for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, true);
  }
  return out;
}

/**
 * True for a `Uint8Array` (or a Node `Buffer`), also one made in another realm.
 *
 * @internal Shared by the `.vlat` and safetensors readers.
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || Object.prototype.toString.call(value) === '[object Uint8Array]';
}
