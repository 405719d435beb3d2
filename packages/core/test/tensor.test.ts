import ndarray from 'ndarray';
import fc from 'fast-check';
import { VaeTensor, toTensor, assertFinite, concatBatches } from '../src/index';
import { InvalidInputError, VaeError } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';

const codeOf = (fn: () => unknown): string | undefined => errorOf(fn)?.code;

describe('toTensor', () => {
  it('takes { data, dims } without copying', () => {
    const data = new Float32Array(6);
    const tensor = toTensor({ data, dims: [2, 3] }, 'x');
    expect(tensor.data).toBe(data);
    expect(tensor.dims).toEqual([2, 3]);
  });

  it('takes contiguous ndarrays as views and copies strided ones in row-major order', () => {
    const base = ndarray(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]);
    expect(toTensor(base, 'x').data).toEqual(base.data);
    const transposed = base.transpose(1, 0); // [3, 2]: [[0,3],[1,4],[2,5]]
    const tensor = toTensor(transposed, 'x');
    expect(tensor.dims).toEqual([3, 2]);
    expect(Array.from(tensor.data)).toEqual([0, 3, 1, 4, 2, 5]);
    const sliced = base.lo(0, 1); // [[1,2],[4,5]], row stride 3
    expect(Array.from(toTensor(sliced, 'x').data)).toEqual([1, 2, 4, 5]);
  });

  it('copies any strided ndarray to the same values an index walk gives (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), (a, b, c) => {
        const arr = ndarray(
          Float32Array.from({ length: a * b * c }, (_, i) => i),
          [a, b, c],
        ).transpose(2, 0, 1);
        const tensor = toTensor(arr, 'x');
        let k = 0;
        for (let i = 0; i < c; i++) for (let j = 0; j < a; j++) for (let l = 0; l < b; l++) expect(tensor.data[k++]).toBe(arr.get(i, j, l));
      }),
      { numRuns: 30 },
    );
  });

  it('takes onnxruntime-style tensors (type, data, dims)', () => {
    const tensor = toTensor({ type: 'float32', data: Float32Array.from([1, 2]), dims: [1, 2], location: 'cpu' }, 'x');
    expect(Array.from(tensor.data)).toEqual([1, 2]);
  });

  it.each([
    ['a number', 3, 'INVALID_INPUT', 'Expected "x" to be a tensor ({ data: Float32Array, dims }, an ndarray or an onnxruntime Tensor) but received 3.'],
    ['null', null, 'INVALID_INPUT', 'Expected "x" to be a tensor ({ data: Float32Array, dims }, an ndarray or an onnxruntime Tensor) but received null.'],
    [
      'float64 data',
      { data: new Float64Array(2), dims: [1, 2] },
      'DTYPE_MISMATCH',
      'Expected "x.data" to be a Float32Array but received Float64Array(2); use Float32Array.from(values).',
    ],
    [
      'a plain array',
      { data: [1, 2], dims: [1, 2] },
      'DTYPE_MISMATCH',
      'Expected "x.data" to be a Float32Array but received [1, 2]; use Float32Array.from(values).',
    ],
    [
      'an int64 ORT tensor',
      { type: 'int64', data: new BigInt64Array(2), dims: [2] },
      'DTYPE_MISMATCH',
      'Expected "x" to be a float32 tensor but received a int64 tensor; convert it to float32 first.',
    ],
    [
      'a GPU tensor',
      { type: 'float32', data: undefined, dims: [2], location: 'gpu-buffer' },
      'INVALID_INPUT',
      'Expected "x" in CPU memory but the tensor lives in "gpu-buffer"; download it with tensor.getData() first.',
    ],
    ['wrong sizes', { data: new Float32Array(5), dims: [2, 3] }, 'SHAPE_MISMATCH', '"x" has 5 values but dims [2, 3] need 6.'],
    [
      'bad dims',
      { data: new Float32Array(2), dims: [2, -1] },
      'SHAPE_MISMATCH',
      'Expected "x.dims" to be a list of non-negative integers but received [2, -1].',
    ],
    [
      'a float64 ndarray',
      ndarray(new Float64Array(4), [2, 2]),
      'DTYPE_MISMATCH',
      'Expected the ndarray "x" to hold a Float32Array but it holds Float64Array(4).',
    ],
  ])('rejects %s', (_name, input, code, message) => {
    expect(codeOf(() => toTensor(input, 'x'))).toBe(code);
    expect(() => toTensor(input, 'x')).toThrow(message);
  });
});

describe('tensor helpers', () => {
  it('assertFinite names the first bad index', () => {
    const tensor = new VaeTensor(Float32Array.from([0, Infinity, NaN]), [1, 3]);
    expect(() => assertFinite(tensor, 'x')).toThrow(
      new InvalidInputError('NON_FINITE_INPUT', 'x', '"x" holds Infinity at flat index 1 (dims [1, 3]); inputs must be finite.'),
    );
    expect(() => assertFinite(new VaeTensor(new Float32Array(3), [3]), 'x')).not.toThrow();
  });

  it('assertFinite agrees with Number.isFinite on edge values, at every position of the 4-wide scan and its tail, in offset views', () => {
    const bits = (word: number): number => new Float32Array(Int32Array.of(word).buffer)[0]!;
    const specials = [
      3.4028234663852886e38,
      -3.4028234663852886e38,
      1.401298464324817e-45,
      -0,
      Infinity,
      -Infinity,
      NaN,
      bits(0x7f800001),
      bits(0xffc00000 | 0),
      bits(0x7fffffff),
    ];
    for (let length = 1; length <= 9; length++) {
      for (let at = 0; at < length; at++) {
        for (const value of specials) {
          const backing = new Float32Array(length + 3).fill(0.5);
          const data = backing.subarray(3); // byteOffset 12: not 16-aligned
          data[at] = value;
          const tensor = new VaeTensor(data, [length]);
          const call = () => assertFinite(tensor, 'x');
          if (Number.isFinite(value)) expect(call).not.toThrow();
          else expect(call).toThrow(`"x" holds ${data[at]} at flat index ${at} (dims [${length}]); inputs must be finite.`);
        }
      }
    }
  });

  it('assertFinite agrees with Number.isFinite on random bit patterns', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 40 }), (words) => {
        const data = new Float32Array(Int32Array.from(words).buffer);
        const finite = Array.from(data).every(Number.isFinite);
        let threw = false;
        try {
          assertFinite(new VaeTensor(data, [data.length]), 'x');
        } catch {
          threw = true;
        }
        return threw === !finite;
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('slices share memory and concatBatches joins them back', () => {
    const tensor = new VaeTensor(Float32Array.from([0, 1, 2, 3, 4, 5]), [3, 2]);
    const parts = [tensor.slice(0, 1), tensor.slice(1, 3)];
    expect(parts[1]!.dims).toEqual([2, 2]);
    expect(parts[1]!.data.buffer).toBe(tensor.data.buffer);
    const joined = concatBatches(parts);
    expect(joined.dims).toEqual([3, 2]);
    expect(Array.from(joined.data)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('toNdarray is a view with the same shape', () => {
    const tensor = new VaeTensor(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]);
    const array = tensor.toNdarray();
    expect(array.shape).toEqual([2, 3]);
    expect(array.get(1, 2)).toBe(5);
    expect(array.data).toBe(tensor.data);
  });

  it('VaeError.isInstance works across copies through the Symbol.for marker', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('onnx-vae.error')]: true });
    expect(VaeError.isInstance(foreign)).toBe(true);
    expect(VaeError.isInstance(new Error('x'))).toBe(false);
    expect(VaeError.isInstance(new InvalidInputError('SHAPE_MISMATCH', 'x', 'm'))).toBe(true);
  });
});
