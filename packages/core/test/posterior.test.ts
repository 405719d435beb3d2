import { Posterior, LOGVAR_RANGE } from '../src/index';
import { VaeTensor } from '../src/index';
import { NormalV1 } from '../src/index';
import { InvalidInputError, InvalidOptionError } from '../src/index';

const t = (values: number[], dims: number[]) => new VaeTensor(Float32Array.from(values), dims);

describe('Posterior', () => {
  const mean = t([0.5, -1, 2, 0], [2, 2]);
  const logvar = t([0, -2, 100, -100], [2, 2]);
  const q = new Posterior(mean, logvar);

  it(`clamps logvar to [${LOGVAR_RANGE.join(', ')}] and derives std = exp(logvar / 2) in float32`, () => {
    expect(Array.from(q.logvar.data)).toEqual([0, -2, 20, -30]);
    expect(Array.from(q.std.data)).toEqual([1, Math.exp(-1), Math.exp(10), Math.exp(-15)].map(Math.fround));
    expect(q.mode()).toBe(mean);
    expect(q.deterministic).toBe(false);
  });

  it('computes the closed-form KL per item in float64 from the clamped logvar', () => {
    const kl = q.kl();
    const expected0 = 0.5 * (0.25 + 1 - 1 - 0 + (1 + Math.exp(-2) - 1 + 2));
    const expected1 = 0.5 * (4 + Math.exp(20) - 1 - 20 + (0 + Math.exp(-30) - 1 + 30));
    expect(kl[0]).toBeCloseTo(expected0, 14);
    expect(kl[1]! / expected1).toBeCloseTo(1, 14);
  });

  it('samples z = mean + std * eps with caller noise, rounding like PyTorch float32', () => {
    const eps = t([1, 2, -1, 0.5], [2, 2]);
    const z = q.sample({ eps });
    const expected = [
      0.5 + 1,
      -1 + Math.fround(Math.fround(Math.exp(-1)) * 2),
      2 - Math.fround(Math.exp(10)),
      0 + Math.fround(Math.fround(Math.exp(-15)) * 0.5),
    ].map(Math.fround);
    expect(Array.from(z.data)).toEqual(expected);
    expect(z.dims).toEqual([2, 2]);
  });

  it('samples with a seed from the normal-v1 stream; n draws have dims [n, N, ...]', () => {
    const z = q.sample({ seed: 3, n: 3 });
    expect(z.dims).toEqual([3, 2, 2]);
    const eps = new NormalV1(3).fill(new Float32Array(12));
    for (let i = 0; i < 12; i++) {
      const j = i % 4;
      expect(z.data[i]).toBe(Math.fround(mean.data[j]! + Math.fround(q.std.data[j]! * eps[i]!)));
    }
    expect(q.sample({ seed: 3, n: 3 }).data).toEqual(z.data);
  });

  it('matches N(mean, std^2) in distribution', () => {
    const single = new Posterior(t([1.5], [1, 1]), t([Math.log(0.25)], [1, 1]));
    const z = single.sample({ seed: 11, n: 50_000 }).data;
    let sum = 0;
    let sq = 0;
    for (const v of z) {
      sum += v;
      sq += v * v;
    }
    const m = sum / z.length;
    // s.e. of the mean 0.5 / sqrt(5e4) = 0.0022; 5 s.e.
    expect(Math.abs(m - 1.5)).toBeLessThan(0.011);
    expect(Math.abs(Math.sqrt(sq / z.length - m * m) - 0.5)).toBeLessThan(0.008);
  });

  it('rejects bad options and noise of the wrong dims', () => {
    expect(() => q.sample({ n: 0 })).toThrow(InvalidOptionError);
    expect(() => q.sample({ seed: -2 })).toThrow('Expected "seed" to be an integer in [0, 2^53) but received -2.');
    expect(() => q.sample({ eps: t([1, 2], [1, 2]) })).toThrow(
      new InvalidInputError('SHAPE_MISMATCH', 'eps', 'Expected "eps" of dims [2, 2] but received [1, 2].'),
    );
    expect(() => q.sample({ eps: t([1, NaN, 0, 0], [2, 2]) })).toThrow(/"eps" holds NaN at flat index 1/);
  });

  it('is a point mass for a deterministic encoder: std 0, infinite KL, samples equal the mean', () => {
    const d = new Posterior(t([1, 2, 3], [1, 3]), null);
    expect(d.deterministic).toBe(true);
    expect(Array.from(d.std.data)).toEqual([0, 0, 0]);
    expect(Array.from(d.logvar.data)).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(Array.from(d.kl())).toEqual([Infinity]);
    expect(Array.from(d.sample({ seed: 1 }).data)).toEqual([1, 2, 3]);
  });
});
