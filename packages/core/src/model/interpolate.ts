import { InvalidInputError, describe } from '../errors.js';
import { VaeTensor, sizeOf } from '../tensor/tensor.js';
import { invalidOption, optionChoice } from '../validate.js';

/** Interpolation paths. */
export const INTERPOLATION_METHODS = Object.freeze({
  /** Straight line: (1 - t) a + t b. */
  linear: 'linear',
  /** Spherical linear interpolation per item, the usual choice for Gaussian latents (White 2016). */
  slerp: 'slerp',
} as const);
/** One of {@link INTERPOLATION_METHODS}. */
export type InterpolationMethod = keyof typeof INTERPOLATION_METHODS;

/** Options of {@link interpolateLatents}. */
export interface InterpolateOptions {
  /** Points on the path, both ends included. Default 8, at least 2. */
  readonly steps?: number;
  /** `'linear'` (default) or `'slerp'`. */
  readonly method?: InterpolationMethod;
}

/**
 * Points on the path from `a` to `b`, both ends included.
 *
 * @param a - start, dims `[B, ...]`
 * @param b - end, same dims
 * @returns dims `[steps * B, ...]`, step-major (all B items at t = 0 first)
 * @throws {@link InvalidOptionError} for bad `steps` or `method`; {@link InvalidInputError} when dims differ
 */
export function interpolateLatents(a: VaeTensor, b: VaeTensor, options: InterpolateOptions = {}): VaeTensor {
  const steps = options.steps ?? 8;
  if (!Number.isSafeInteger(steps) || steps < 2) throw invalidOption('steps', 'an integer >= 2', options.steps);
  const method = optionChoice<InterpolationMethod>(options.method, 'method', INTERPOLATION_METHODS, 'linear');
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) {
    throw new InvalidInputError('SHAPE_MISMATCH', 'b', `Expected "b" of the same dims as "a" ${describe([...a.dims])} but received ${describe([...b.dims])}.`);
  }
  const batch = a.dims[0]!;
  const size = sizeOf(a.dims.slice(1));
  const out = new Float32Array(steps * a.size);
  for (let i = 0; i < batch; i++) {
    const offset = i * size;
    let omega = 0;
    if (method === 'slerp') {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let j = offset; j < offset + size; j++) {
        dot += a.data[j]! * b.data[j]!;
        na += a.data[j]! * a.data[j]!;
        nb += b.data[j]! * b.data[j]!;
      }
      const cosine = na > 0 && nb > 0 ? Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))) : 1;
      omega = Math.acos(cosine);
    }
    const sinOmega = Math.sin(omega);
    for (let s = 0; s < steps; s++) {
      const t = s / (steps - 1);
      // Nearly parallel vectors: slerp degenerates to the straight line.
      const [wa, wb] = sinOmega > 1e-6 ? [Math.sin((1 - t) * omega) / sinOmega, Math.sin(t * omega) / sinOmega] : [1 - t, t];
      const base = s * a.size + offset;
      for (let j = 0; j < size; j++) out[base + j] = wa * a.data[offset + j]! + wb * b.data[offset + j]!;
    }
  }
  return new VaeTensor(out, [steps * batch, ...a.dims.slice(1)]);
}
