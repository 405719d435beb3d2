/** Reading golden data written by the PyTorch scripts: `{ dims, data }` objects or nested lists. */
export interface GoldenArray {
  readonly dims: number[];
  readonly data: Float64Array;
}

export type Golden = Record<string, unknown>;

function flatten(value: unknown, dims: number[], out: number[], depth: number): void {
  if (Array.isArray(value)) {
    if (dims.length <= depth) dims.push(value.length);
    for (const v of value) flatten(v, dims, out, depth + 1);
  } else out.push(value as number);
}

/** A golden array by key, as float64 values with its dims. */
export function goldenArray(golden: Golden, key: string): GoldenArray {
  const value = golden[key];
  if (value === undefined) throw new Error(`golden data has no "${key}"; keys: ${Object.keys(golden).join(', ')}`);
  if (typeof value === 'object' && value !== null && 'dims' in value && 'data' in value) {
    const v = value as { dims: number[]; data: unknown };
    const out: number[] = [];
    flatten(v.data, [], out, 0);
    return { dims: v.dims, data: Float64Array.from(out) };
  }
  const dims: number[] = [];
  const out: number[] = [];
  flatten(value, dims, out, 0);
  // Flat lists with their dims in a top-level "dims" table (training/onnx_vae_training/train_mnist_vae.py).
  const table = golden.dims as Record<string, number[]> | undefined;
  return { dims: table?.[key] ?? dims, data: Float64Array.from(out) };
}

/** A golden array as a float32 tensor input. */
export function goldenTensor(golden: Golden, key: string): { data: Float32Array; dims: number[] } {
  const array = goldenArray(golden, key);
  return { data: Float32Array.from(array.data), dims: array.dims };
}

/**
 * Largest violation of |actual - expected| <= rtol * |expected| + atol over all elements, as a ratio (<= 1 passes),
 * with the worst index, for readable failures.
 */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): { ratio: number; index: number; actual: number; expected: number } {
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

/** Jest assertion: elementwise closeness within rtol/atol, reporting the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, label: string): void {
  const worst = closeness(actual, expected, rtol, atol);
  if (!(worst.ratio <= 1)) {
    throw new Error(`${label}: element ${worst.index} is ${worst.actual}, expected ${worst.expected} (rtol ${rtol}, atol ${atol}; ${worst.ratio.toFixed(2)}x the tolerance)`);
  }
}
