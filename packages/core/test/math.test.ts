import fc from 'fast-check';
import { logSumExp, softplus, sigmoid, klStandardNormal, diagonalNormalLogDensity, standardNormalLogDensity } from '../src/index';

describe('logSumExp', () => {
  it.each([
    ['two large equal values', [1000, 1000], 1000 + Math.LN2],
    ['two very negative equal values', [-1000, -1000], -1000 + Math.LN2],
    ['one value', [3.5], 3.5],
    ['values 1e300 apart in log space', [0, -1e300], 0],
    ['all -Infinity', [-Infinity, -Infinity], -Infinity],
    ['one -Infinity among finite', [-Infinity, Math.log(2), Math.log(3)], Math.log(5)],
    ['empty', [], -Infinity],
  ])('%s', (_name, values, expected) => {
    expect(logSumExp(values)).toBeCloseTo(expected as number, 12);
  });

  it('is Infinity with an Infinity and NaN with a NaN', () => {
    expect(logSumExp([0, Infinity])).toBe(Infinity);
    expect(logSumExp([0, NaN, 1])).toBeNaN();
  });

  it('matches the direct formula on moderate values and shifts exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        (values, shift) => {
          const direct = Math.log(values.reduce((s, v) => s + Math.exp(v), 0));
          expect(logSumExp(values)).toBeCloseTo(direct, 9);
          const shifted = logSumExp(values.map((v) => v + shift));
          expect(Math.abs(shifted - (direct + shift))).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(shift)));
          // max <= lse <= max + log n
          const max = Math.max(...values);
          expect(logSumExp(values)).toBeGreaterThanOrEqual(max);
          expect(logSumExp(values)).toBeLessThanOrEqual(max + Math.log(values.length) + 1e-12);
        },
      ),
    );
  });

  it('honours start and end', () => {
    expect(logSumExp([100, 0, 0, 100], 1, 3)).toBeCloseTo(Math.LN2, 14);
  });
});

describe('softplus and sigmoid', () => {
  it.each([
    [0, Math.LN2],
    [1000, 1000],
    [-1000, 0],
    [-50, 1.9287498479639178e-22],
    [50, 50],
    [1, 1.3132616875182228],
  ])('softplus(%p) = %p', (x, expected) => {
    const value = softplus(x);
    if (expected === 0) expect(value).toBe(0);
    else expect(Math.abs(value - expected) / expected).toBeLessThan(1e-15);
  });

  it('sigmoid is stable at the extremes and symmetric', () => {
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(-40)).toBeCloseTo(4.248354255291589e-18, 30);
    fc.assert(fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (x) => Math.abs(sigmoid(x) + sigmoid(-x) - 1) < 1e-15));
  });
});

describe('Gaussian densities and KL', () => {
  it('KL of N(1, 1) to N(0, 1) is 1/2, of N(0, e^2) is (e^2 - 1 - 2)/2', () => {
    expect(klStandardNormal([1], [0], 0, 1)).toBeCloseTo(0.5, 15);
    expect(klStandardNormal([0], [2], 0, 1)).toBeCloseTo((Math.exp(2) - 3) / 2, 14);
    expect(klStandardNormal([0, 0, 7, 0], [0, 0, 0, 0], 2, 2)).toBeCloseTo(24.5, 14);
  });

  it('KL equals E_q[log q - log p], checked by quadrature in 1-D', () => {
    const mean = 0.7;
    const logvar = -1.3;
    const sd = Math.exp(logvar / 2);
    let integral = 0;
    const h = 1e-3;
    for (let z = mean - 12 * sd; z <= mean + 12 * sd; z += h) {
      const lq = diagonalNormalLogDensity([z], 0, [mean], [logvar], 0, 1);
      const lp = standardNormalLogDensity([z], 0, 1);
      integral += Math.exp(lq) * (lq - lp) * h;
    }
    expect(integral).toBeCloseTo(klStandardNormal([mean], [logvar], 0, 1), 6);
  });

  it('diagonal normal log density reduces to the standard one at mean 0, logvar 0', () => {
    const z = [0.3, -1.2, 2.5];
    expect(diagonalNormalLogDensity(z, 0, [0, 0, 0], [0, 0, 0], 0, 3)).toBeCloseTo(standardNormalLogDensity(z, 0, 3), 14);
    expect(standardNormalLogDensity([0], 0, 1)).toBeCloseTo(-0.5 * Math.log(2 * Math.PI), 15);
  });
});
