/**
 * Numerics in float64: logsumexp, softplus, Gaussian log densities. Pure functions over typed arrays.
 */

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * log(sum(exp(values))) computed stably: exact for very large and very small values, `-Infinity` when every value
 * is `-Infinity`, `Infinity` when any is `Infinity`, NaN when any is NaN.
 */
export function logSumExp(values: ArrayLike<number>, start = 0, end = values.length): number {
  let max = -Infinity;
  for (let i = start; i < end; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) return NaN;
    if (v > max) max = v;
  }
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (let i = start; i < end; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

/** log(1 + exp(x)) without overflow or loss of precision. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Numerically stable logistic sigmoid. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log N(x; 0, I) summed over `length` elements starting at `offset`. */
export function standardNormalLogDensity(x: ArrayLike<number>, offset: number, length: number): number {
  let sum = 0;
  for (let i = offset; i < offset + length; i++) {
    const v = x[i]!;
    sum += v * v;
  }
  return -0.5 * sum - 0.5 * length * LOG_2PI;
}

/**
 * log N(z; mean, diag(exp(logvar))) summed over `length` elements; `z` at `zOffset`, parameters at `offset`.
 */
export function diagonalNormalLogDensity(
  z: ArrayLike<number>,
  zOffset: number,
  mean: ArrayLike<number>,
  logvar: ArrayLike<number>,
  offset: number,
  length: number,
): number {
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const lv = logvar[offset + i]!;
    const d = z[zOffset + i]! - mean[offset + i]!;
    sum += (d * d) / Math.exp(lv) + lv;
  }
  return -0.5 * sum - 0.5 * length * LOG_2PI;
}

/** KL(N(mean, exp(logvar)) || N(0, I)) in closed form, over `length` elements at `offset`. */
export function klStandardNormal(mean: ArrayLike<number>, logvar: ArrayLike<number>, offset: number, length: number): number {
  let sum = 0;
  for (let i = offset; i < offset + length; i++) {
    const m = mean[i]!;
    const lv = logvar[i]!;
    sum += m * m + Math.exp(lv) - 1 - lv;
  }
  return 0.5 * sum;
}

export { LOG_2PI };
