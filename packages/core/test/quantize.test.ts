import fc from 'fast-check';
import { dequantizeUint8, quantizeUint8 } from '../src/index';
import { VaeTensor } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';

/** Channel index (axis 1) of each flat index. */
function channelOf(dims: readonly number[]): (flat: number) => number {
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  return (flat) => Math.floor(flat / inner) % dims[1]!;
}

describe('quantizeUint8', () => {
  it('maps each channel min..max to codes 0..255 and decodes a known case exactly', () => {
    // [1, 2, 3]: channel 0 = [0, 1, 0.5], channel 1 = [-2, 2, 1]
    const tensor = new VaeTensor(Float32Array.of(0, 1, 0.5, -2, 2, 1), [1, 2, 3]);
    const q = quantizeUint8(tensor);
    expect(Array.from(q.min)).toEqual([0, -2]);
    expect(Array.from(q.max)).toEqual([1, 2]);
    // 0.5 -> 127.5 -> 128 (Math.round); 1 in [-2, 2] -> 0.75 * 255 = 191.25 -> 191
    expect(Array.from(q.data)).toEqual([0, 255, 128, 0, 255, 191]);
    expect(q.dims).toEqual([1, 2, 3]);
    const back = dequantizeUint8(q);
    expect(back.dims).toEqual([1, 2, 3]);
    expect(Array.from(back.data)).toEqual([0, 1, Math.fround(128 / 255), -2, 2, Math.fround((-2 * 64 + 2 * 191) / 255)]);
  });

  it('takes channels on axis 1: [N, L] has L channels of N values, [N, C, H, W] has C channels over N, H and W', () => {
    const flat = quantizeUint8(new VaeTensor(Float32Array.of(1, 10, 3, 30, 2, 20), [3, 2]));
    expect(Array.from(flat.min)).toEqual([1, 10]);
    expect(Array.from(flat.max)).toEqual([3, 30]);
    const dims = [2, 3, 2, 2];
    const data = Float32Array.from({ length: 24 }, (_, i) => (i * 7) % 11);
    const image = quantizeUint8(new VaeTensor(data, dims));
    const channel = channelOf(dims);
    for (let c = 0; c < 3; c++) {
      const values = Array.from(data).filter((_, i) => channel(i) === c);
      expect([image.min[c], image.max[c]]).toEqual([Math.min(...values), Math.max(...values)]);
    }
  });

  it('gives a constant channel the range [v, v], codes 0, and decodes it exactly', () => {
    const v = Math.fround(-1.2345678);
    // [3, 2]: channel 0 = [v, v, v], channel 1 = [5, 7, 6]
    const q = quantizeUint8(new VaeTensor(Float32Array.of(v, 5, v, 7, v, 6), [3, 2]));
    expect([q.min[0], q.max[0]]).toEqual([v, v]);
    expect(Array.from(q.data)).toEqual([0, 0, 0, 255, 0, 128]);
    expect(Array.from(dequantizeUint8(q).data)).toEqual([v, 5, v, 7, v, Math.fround((5 * 127 + 7 * 128) / 255)]);
  });

  it('stays exact at the ends of extreme float32 ranges', () => {
    const big = 3.4028234663852886e38; // largest float32
    const q = quantizeUint8(new VaeTensor(Float32Array.of(-big, big, 0, 1e-45), [4, 1]));
    const back = dequantizeUint8(q).data;
    expect([back[0], back[1]]).toEqual([-big, big]);
    expect(Math.abs(back[2]!)).toBeLessThanOrEqual((2 * big) / 510);
  });

  it('handles empty tensors', () => {
    const q = quantizeUint8(new VaeTensor(new Float32Array(0), [0, 3]));
    expect(Array.from(q.min)).toEqual([0, 0, 0]);
    expect(q.data.length).toBe(0);
    expect(dequantizeUint8(q).dims).toEqual([0, 3]);
  });

  it('decodes within (max - min) / 510 of every value, exactly at each channel min and max (property)', () => {
    const value = fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true });
    const dims = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 2 }));
    fc.assert(
      fc.property(
        dims.chain(([n, c, rest]) => {
          const shape = [n, c, ...rest];
          const size = shape.reduce((a, b) => a * b, 1);
          return fc.tuple(fc.constant(shape), fc.array(value, { minLength: size, maxLength: size }));
        }),
        ([shape, values]) => {
          const x = Float32Array.from(values);
          const q = quantizeUint8(new VaeTensor(x, shape));
          const back = dequantizeUint8(q).data;
          const channel = channelOf(shape);
          for (let i = 0; i < x.length; i++) {
            const c = channel(i);
            const low = q.min[c]!;
            const high = q.max[c]!;
            expect(low).toBeLessThanOrEqual(x[i]!);
            expect(high).toBeGreaterThanOrEqual(x[i]!);
            // float32 rounding of the result: half an ulp of the largest magnitude in the channel, with margin
            const rounding = Math.max(Math.abs(low), Math.abs(high)) * 2 ** -23;
            expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual((high - low) / 510 + rounding);
            if (x[i] === low || x[i] === high) expect(back[i] === x[i]).toBe(true); // exact, with -0 and 0 equal
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    [
      'a rank-1 tensor',
      () => quantizeUint8(new VaeTensor(new Float32Array(3), [3])),
      'SHAPE_MISMATCH',
      'Expected "tensor" of rank 2 or more ([N, C, ...], channels on axis 1) but received dims [3]; add a batch axis.',
    ],
    [
      'NaN',
      () => quantizeUint8(new VaeTensor(Float32Array.of(0, NaN), [1, 2])),
      'NON_FINITE_INPUT',
      '"tensor" holds NaN at flat index 1 (dims [1, 2]); inputs must be finite.',
    ],
    [
      'codes that do not fit the dims',
      () => dequantizeUint8({ data: new Uint8Array(5), min: new Float32Array(2), max: new Float32Array(2), dims: [3, 2] }),
      'SHAPE_MISMATCH',
      'Quantized dims [3, 2] need 6 codes and 2 min/max values but received 5 codes, 2 min and 2 max values.',
    ],
  ])('refuses %s', (_, fn, code, message) => {
    expect(errorOf(fn)).toEqual({ code, message });
  });
});
