/**
 * Golden data: reference outputs the PyTorch scripts store next to each model as `golden.json` (scripts/make-fixtures.py
 * writes `{ dims, data }` objects; scripts/train-mnist-vae.py flat lists with their dims in a top-level `dims` table).
 * Plain objects in, typed arrays out: reading the file is the caller's (fs in Node, fetch in browsers).
 */
/** A golden array: float64 values and their dims. */
export interface GoldenArray {
  readonly dims: number[];
  readonly data: Float64Array;
}

/** A parsed `golden.json`. */
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
