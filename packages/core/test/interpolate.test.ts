import { interpolateLatents } from '../src/index';
import { VaeTensor } from '../src/index';
import { InvalidOptionError, InvalidInputError } from '../src/index';

const t = (values: number[], dims: number[]) => new VaeTensor(Float32Array.from(values), dims);

describe('interpolateLatents', () => {
  const a = t([1, 0, 0, 2], [2, 2]);
  const b = t([0, 1, 2, 0], [2, 2]);

  it('linear: ends are a and b, midpoint is the average, output is step-major', () => {
    const path = interpolateLatents(a, b, { steps: 3 });
    expect(path.dims).toEqual([6, 2]);
    expect(Array.from(path.data)).toEqual([1, 0, 0, 2, 0.5, 0.5, 1, 1, 0, 1, 2, 0]);
  });

  it('slerp: ends are exact and points keep the norm between equal-norm ends on the great circle', () => {
    const path = interpolateLatents(a, b, { steps: 5, method: 'slerp' });
    expect(Array.from(path.data.subarray(0, 4))).toEqual([1, 0, 0, 2]);
    for (let s = 0; s < 5; s++) {
      const [x, y] = [path.data[s * 4]!, path.data[s * 4 + 1]!];
      expect(Math.hypot(x, y)).toBeCloseTo(1, 6);
      expect(Math.atan2(y, x)).toBeCloseTo((s / 4) * (Math.PI / 2), 6);
    }
    expect(path.data[16]).toBeCloseTo(0, 7);
    expect(path.data[17]).toBeCloseTo(1, 7);
  });

  it('slerp between parallel vectors falls back to the straight line', () => {
    const path = interpolateLatents(t([1, 1], [1, 2]), t([2, 2], [1, 2]), { steps: 3, method: 'slerp' });
    expect(Array.from(path.data)).toEqual([1, 1, 1.5, 1.5, 2, 2]);
  });

  it('rejects bad options and mismatched ends', () => {
    expect(() => interpolateLatents(a, b, { steps: 1 })).toThrow(new InvalidOptionError('steps', 'Expected "steps" to be an integer >= 2 but received 1.'));
    expect(() => interpolateLatents(a, b, { method: 'cubic' as 'linear' })).toThrow('Expected "method" to be one of "linear", "slerp" but received "cubic".');
    expect(() => interpolateLatents(a, t([1, 2], [1, 2]))).toThrow(InvalidInputError);
  });
});
