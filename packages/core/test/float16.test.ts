import { spawnSync } from 'node:child_process';
import { bfloat16ToFloat32, bytesToFloat32LE, bytesToUint16LE, float16ToFloat32, float32ToBytesLE, float32ToFloat16, uint16ToBytesLE } from '../src/index';

/** The value of a binary16 bit pattern, from the IEEE 754 definition (independent of the code under test). */
function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Positive finite halves 0x0000..0x7bff in ascending order, as float64 values. */
const POSITIVE = Float64Array.from({ length: 0x7c00 }, (_, bits) => halfValue(bits));

/**
 * Reference rounding of a float32 value to binary16: find the two neighbouring halves by binary search and compare
 * with their midpoint (exact in float64: both have 11-bit significands within 2^-24..2^16), ties to the even pattern.
 * Magnitudes from 65520, the midpoint between 65504 and 2^16, overflow to infinity.
 */
function referenceHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = POSITIVE.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (POSITIVE[mid]! <= a) lo = mid;
    else hi = mid - 1;
  }
  if (POSITIVE[lo] === a) return sign | lo;
  const above = lo + 1;
  const midpoint = (POSITIVE[lo]! + (above < POSITIVE.length ? POSITIVE[above]! : 65536)) / 2;
  if (a < midpoint) return sign | lo;
  if (a > midpoint) return sign | above;
  return sign | (lo % 2 === 0 ? lo : above);
}

function asFloat32(bits: number): number {
  return new Float32Array(Uint32Array.of(bits).buffer)[0]!;
}

function hex(values: ArrayLike<number>): string[] {
  return Array.from(values, (v) => `0x${v.toString(16).padStart(4, '0')}`);
}

describe('float16ToFloat32', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);

  it('gives the IEEE 754 value of every one of the 65536 half patterns', () => {
    const values = float16ToFloat32(all);
    let nans = 0;
    for (let bits = 0; bits < 65536; bits++) {
      const expected = halfValue(bits);
      if (Number.isNaN(expected)) {
        nans++;
        expect(Number.isNaN(values[bits])).toBe(true);
      } else if (values[bits] !== expected || Object.is(values[bits], -0) !== Object.is(expected, -0)) {
        throw new Error(`half 0x${bits.toString(16)} gave ${values[bits]}, expected ${expected}`);
      }
    }
    expect(nans).toBe(2 * 1023);
  });

  it('round-trips all 65536 half patterns exactly through float32 (NaN payloads included)', () => {
    const back = float32ToFloat16(float16ToFloat32(all));
    const mismatches = [];
    for (let bits = 0; bits < 65536; bits++) if (back[bits] !== bits) mismatches.push(bits);
    expect(mismatches).toEqual([]);
  });
});

describe('float32ToFloat16', () => {
  it.each([
    ['1', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['0.1', 0.1, 0x2e66],
    ['1/3', 1 / 3, 0x3555],
    ['65504, the largest half', 65504, 0x7bff],
    ['65519, just under the overflow midpoint', 65519, 0x7bff],
    ['65520, the overflow midpoint: ties to even, which is infinity', 65520, 0x7c00],
    ['1e6 (overflow)', 1e6, 0x7c00],
    ['-1e6 (overflow)', -1e6, 0xfc00],
    ['2^-14, the smallest normal', 2 ** -14, 0x0400],
    ['2^-24, the smallest subnormal', 2 ** -24, 0x0001],
    ['1023 * 2^-24, the largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['1023.5 * 2^-24: tie between 0x03ff and 0x0400, to even', 1023.5 * 2 ** -24, 0x0400],
    ['2^-25: tie between 0 and 2^-24, to even (zero)', 2 ** -25, 0x0000],
    ['the float32 after 2^-25 rounds up', asFloat32(0x33000001), 0x0001],
    ['3 * 2^-25: tie between 0x0001 and 0x0002, to even', 3 * 2 ** -25, 0x0002],
    ['1 + 2^-11: tie between 0x3c00 and 0x3c01, to even', 1 + 2 ** -11, 0x3c00],
    ['1 + 3 * 2^-11: tie between 0x3c01 and 0x3c02, to even', 1 + 3 * 2 ** -11, 0x3c02],
    ['1 + 2^-11 + 2^-23: just above a tie rounds up', 1 + 2 ** -11 + 2 ** -23, 0x3c01],
    ['(2047.5 / 2048) * 2: tie whose even side carries into the next binade', (2047.5 / 2048) * 2, 0x4000],
    ['-0', -0, 0x8000],
    ['a float32 subnormal', asFloat32(0x00000001), 0x0000],
    ['-(a float32 subnormal)', -asFloat32(0x00000001), 0x8000],
    ['Infinity', Infinity, 0x7c00],
    ['-Infinity', -Infinity, 0xfc00],
  ])('%s', (_, value, expected) => {
    expect(hex(float32ToFloat16(Float32Array.of(value)))).toEqual(hex([expected]));
  });

  it('keeps NaN a NaN, with its sign, also when the payload sits only in the low float32 bits', () => {
    const nans = new Float32Array(Uint32Array.of(0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000).buffer);
    const halves = float32ToFloat16(nans);
    expect(hex(halves)).toEqual(hex([0x7e00, 0xfe00, 0x7e00, 0x7d00]));
    expect(Array.from(float16ToFloat32(halves), Number.isNaN)).toEqual([true, true, true, true]);
  });

  it('rounds every midpoint between adjacent halves, and the float32 on each side of it, like the reference', () => {
    const values: number[] = [];
    for (let bits = 0; bits < 0x7bff; bits++) {
      const midpoint = Math.fround((POSITIVE[bits]! + POSITIVE[bits + 1]!) / 2);
      const midBits = new Uint32Array(Float32Array.of(midpoint).buffer)[0]!;
      for (const b of [midBits - 1, midBits, midBits + 1]) values.push(asFloat32(b), -asFloat32(b));
    }
    const input = Float32Array.from(values);
    const out = float32ToFloat16(input);
    let ties = 0;
    for (let i = 0; i < input.length; i++) {
      const expected = referenceHalf(input[i]!);
      if (out[i] !== expected) throw new Error(`${input[i]} gave 0x${out[i]!.toString(16)}, expected 0x${expected.toString(16)}`);
      if (i % 6 === 2) ties++;
    }
    expect(ties).toBe(0x7bff);
  });

  it('rounds every 4099th float32 bit pattern (about a million values over the whole range) like the reference', () => {
    const bits = Uint32Array.from({ length: Math.floor(2 ** 32 / 4099) }, (_, i) => i * 4099);
    const input = new Float32Array(bits.buffer);
    const out = float32ToFloat16(input);
    const seen = { nan: 0, infinity: 0, normal: 0, subnormal: 0, zero: 0 };
    for (let i = 0; i < input.length; i++) {
      const x = input[i]!;
      const half = out[i]!;
      if (Number.isNaN(x)) {
        if ((half & 0x7c00) !== 0x7c00 || (half & 0x3ff) === 0) throw new Error(`NaN 0x${bits[i]!.toString(16)} gave 0x${half.toString(16)}`);
        seen.nan++;
        continue;
      }
      const expected = referenceHalf(x);
      if (half !== expected) throw new Error(`${x} (0x${bits[i]!.toString(16)}) gave 0x${half.toString(16)}, expected 0x${expected.toString(16)}`);
      const exponent = half & 0x7c00;
      if (exponent === 0x7c00) seen.infinity++;
      else if (exponent !== 0) seen.normal++;
      else if ((half & 0x3ff) !== 0) seen.subnormal++;
      else seen.zero++;
    }
    // The sample reaches every kind of result.
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(1000);
  });

  const f16round = (Math as unknown as { f16round?: (x: number) => number }).f16round;
  if (typeof f16round !== 'function') {
    console.log(
      `Math.f16round is not available in Node ${process.version}; float16 is checked against the reference search (and numpy where available) instead.`,
    );
  }
  (typeof f16round === 'function' ? it : it.skip)('agrees with Math.f16round on a million float32 patterns', () => {
    const input = new Float32Array(Uint32Array.from({ length: 1 << 20 }, (_, i) => (i * 4093 + 17) >>> 0).buffer);
    const out = float16ToFloat32(float32ToFloat16(input));
    for (let i = 0; i < input.length; i++) {
      const expected = f16round!(input[i]!);
      if (!Object.is(out[i], expected) && !(Number.isNaN(out[i]) && Number.isNaN(expected))) {
        throw new Error(`${input[i]} gave ${out[i]}, Math.f16round gives ${expected}`);
      }
    }
  });

  const python = '/usr/bin/python3';
  const numpy = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' });
  if (numpy.status !== 0) {
    console.log(`Skipping the numpy float16 cross-check: ${python} with numpy is not available (${(numpy.error?.message ?? numpy.stderr).trim()}).`);
  }
  (numpy.status === 0 ? it : it.skip)("agrees bit for bit with numpy's astype(float16) on a million float32 patterns", () => {
    const input = new Float32Array(Uint32Array.from({ length: 1 << 20 }, (_, i) => Math.imul(i, 2654435761) >>> 0).buffer);
    const script = 'import sys, numpy as np; x = np.frombuffer(sys.stdin.buffer.read(), dtype="<f4"); sys.stdout.buffer.write(x.astype("<f2").tobytes())';
    const result = spawnSync(python, ['-c', script], { input: new Uint8Array(input.buffer), maxBuffer: 1 << 24 });
    expect(result.status).toBe(0);
    const expected = new Uint16Array(new Uint8Array(result.stdout).buffer);
    const out = float32ToFloat16(input);
    for (let i = 0; i < input.length; i++) {
      // numpy may set other NaN payload bits; any NaN matches any NaN.
      const bothNaN = (out[i]! & 0x7fff) > 0x7c00 && (expected[i]! & 0x7fff) > 0x7c00;
      if (out[i] !== expected[i] && !bothNaN) throw new Error(`${input[i]} gave 0x${out[i]!.toString(16)}, numpy gives 0x${expected[i]!.toString(16)}`);
    }
  });

  it('reads float32 arrays that are views into a larger buffer', () => {
    const base = Float32Array.of(7, 1, -2, 9);
    expect(hex(float32ToFloat16(base.subarray(1, 3)))).toEqual(hex([0x3c00, 0xc000]));
  });
});

describe('bfloat16ToFloat32', () => {
  it('widens bfloat16 patterns exactly', () => {
    const out = bfloat16ToFloat32(Uint16Array.of(0x3f80, 0xc000, 0x7f80, 0xff80, 0x0001, 0x8000, 0x3eaa));
    expect(Array.from(out.subarray(0, 5))).toEqual([1, -2, Infinity, -Infinity, 2 ** -133]);
    expect(Object.is(out[5], -0)).toBe(true);
    expect(out[6]).toBe(0.33203125);
    expect(Number.isNaN(bfloat16ToFloat32(Uint16Array.of(0x7fc0))[0])).toBe(true);
  });
});

describe('little-endian byte helpers', () => {
  it('write float32 and uint16 values as little-endian bytes', () => {
    expect(Array.from(float32ToBytesLE(Float32Array.of(1, -2)))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect(Array.from(uint16ToBytesLE(Uint16Array.of(0x3c00, 0x0102)))).toEqual([0x00, 0x3c, 0x02, 0x01]);
    expect(Array.from(float32ToBytesLE(Float32Array.of(5, 1).subarray(1)))).toEqual([0, 0, 0x80, 0x3f]);
  });

  it('read them back from any byte offset, aligned or not, into fresh arrays', () => {
    const bytes = Uint8Array.of(0xaa, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0x00, 0x3c);
    const floats = bytesToFloat32LE(bytes, 1, 2);
    expect(Array.from(floats)).toEqual([1, -2]);
    expect(floats.buffer).not.toBe(bytes.buffer);
    expect(Array.from(bytesToUint16LE(bytes, 9, 1))).toEqual([0x3c00]);
    expect(Array.from(bytesToUint16LE(bytes.subarray(8), 1, 1))).toEqual([0x3c00]);
  });
});
