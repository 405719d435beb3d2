/** Elementwise closeness within a stated tolerance, with the worst element named in failures. */

/**
 * Largest violation of |actual - expected| <= rtol * |expected| + atol over all elements, as a ratio (<= 1 passes),
 * with the worst index, for readable failures.
 */
export function closeness(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol: number,
): { ratio: number; index: number; actual: number; expected: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let worst = { ratio: 0, index: -1, actual: NaN, expected: NaN };
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ratio = a === e ? 0 : Math.abs(a - e) / (rtol * Math.abs(e) + atol);
    if (!(ratio <= worst.ratio)) worst = { ratio, index: i, actual: a, expected: e };
  }
  return worst;
}

/** Assertion (throws an Error, so it works under any test runner): elementwise closeness within rtol/atol, reporting the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, label: string): void {
  const worst = closeness(actual, expected, rtol, atol);
  if (!(worst.ratio <= 1)) {
    throw new Error(
      `${label}: element ${worst.index} is ${worst.actual}, expected ${worst.expected} (rtol ${rtol}, atol ${atol}; ${worst.ratio.toFixed(2)}x the tolerance)`,
    );
  }
}
