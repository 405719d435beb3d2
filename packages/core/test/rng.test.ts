import { NormalV1, assertSeed, randomSeed } from '../src/index';
import { InvalidOptionError } from '../src/index';

function draws(seed: number, n: number): Float64Array {
  return new NormalV1(seed).fill(new Float64Array(n));
}

describe('NormalV1', () => {
  it('gives the same sequence for the same seed and different ones for different seeds', () => {
    expect(draws(42, 1000)).toEqual(draws(42, 1000));
    const a = draws(0, 100);
    const b = draws(1, 100);
    expect(a.some((v, i) => v !== b[i])).toBe(true);
  });

  it('is a stream: chunked requests give the concatenation of one request', () => {
    const rng = new NormalV1(5);
    const parts = [rng.fill(new Float64Array(3)), rng.fill(new Float64Array(4)), rng.fill(new Float64Array(1))];
    expect(Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(Array.from(draws(5, 8)));
  });

  it('matches xoshiro128** on its reference state', () => {
    // Reference: state {1, 2, 3, 4} gives 11520, 0, 5927040, 70819200, 2031721883, 1637235492 (Blackman & Vigna's C code).
    const rng = new NormalV1(0) as unknown as { s0: number; s1: number; s2: number; s3: number; nextUint32(): number };
    rng.s0 = 1;
    rng.s1 = 2;
    rng.s2 = 3;
    rng.s3 = 4;
    expect([1, 2, 3, 4, 5, 6].map(() => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('draws standard normals: moments and a Kolmogorov-Smirnov test on 200k draws', () => {
    const n = 200_000;
    const x = draws(2024, n);
    let sum = 0;
    let sq = 0;
    let fourth = 0;
    for (const v of x) {
      sum += v;
      sq += v * v;
      fourth += v ** 4;
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    // Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032, 4th moment sqrt(96/n) = 0.022; 5 s.e.
    expect(Math.abs(mean)).toBeLessThan(0.0112);
    expect(Math.abs(variance - 1)).toBeLessThan(0.016);
    expect(Math.abs(fourth / n - 3)).toBeLessThan(0.11);
    const sorted = Array.from(x).sort((a, b) => a - b);
    let d = 0;
    for (let i = 0; i < n; i++) {
      const cdf = 0.5 * (1 + erf(sorted[i]! / Math.SQRT2));
      d = Math.max(d, Math.abs(cdf - i / n), Math.abs(cdf - (i + 1) / n));
    }
    // KS critical value at alpha = 0.001: 1.95 / sqrt(n) = 0.00436.
    expect(d).toBeLessThan(1.95 / Math.sqrt(n));
  });

  it('rejects seeds outside [0, 2^53)', () => {
    for (const seed of [-1, 1.5, 2 ** 53, NaN, '3', null]) {
      expect(() => new NormalV1(seed as number)).toThrow(InvalidOptionError);
    }
    expect(() => assertSeed(2 ** 53 - 1)).not.toThrow();
    expect(() => new NormalV1(-1)).toThrow('Expected "seed" to be an integer in [0, 2^53) but received -1.');
  });

  it('randomSeed gives valid, varying seeds', () => {
    const seeds = new Set(Array.from({ length: 20 }, () => randomSeed()));
    expect(seeds.size).toBeGreaterThan(15);
    for (const s of seeds) expect(() => assertSeed(s)).not.toThrow();
  });
});

// Abramowitz-Stegun 7.1.26 is too coarse for a KS test at n = 200k; use a series / continued fraction instead.
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let k = 1; k < 200; k++) {
      term *= (-t * t) / k;
      sum += term / (2 * k + 1);
      if (Math.abs(term) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}
