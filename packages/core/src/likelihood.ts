import type { Likelihood } from './manifest.js';
import { LOG_2PI, sigmoid, softplus } from './math.js';

/** PyTorch's `BCELoss` clamps its logs at -100; so do we, for probability-parameterised Bernoulli decoders. */
const LOG_CLAMP = -100;

/**
 * Decoder outputs for a run of rows: the main output and, for a learned-scale Gaussian, the log std.
 *
 * @internal
 */
export interface DecoderRows {
  readonly output: Float32Array;
  readonly logScale?: Float32Array;
  readonly rows: number;
}

/**
 * log p(x | z) of one row, in float64, summed over the `size` elements of an item.
 *
 * @param likelihood - the manifest's observation model (not `none`)
 * @param x - data; the item starts at `xOffset`
 * @param decoded - decoder outputs; the row is `row`
 *
 * @internal
 */
export function rowLogLikelihood(
  likelihood: Exclude<Likelihood, { kind: 'none' }>,
  x: Float32Array,
  xOffset: number,
  decoded: DecoderRows,
  row: number,
  size: number,
): number {
  const out = decoded.output;
  const base = row * size;
  let sum = 0;
  if (likelihood.kind === 'bernoulli') {
    if (likelihood.parameterization === 'logits') {
      for (let j = 0; j < size; j++) {
        const l = out[base + j]!;
        sum += x[xOffset + j]! * l - softplus(l);
      }
    } else {
      for (let j = 0; j < size; j++) {
        const p = out[base + j]!;
        const v = x[xOffset + j]!;
        sum += v * Math.max(Math.log(p), LOG_CLAMP) + (1 - v) * Math.max(Math.log(1 - p), LOG_CLAMP);
      }
    }
    return sum;
  }
  if (likelihood.scale !== undefined) {
    const inv = 1 / likelihood.scale;
    for (let j = 0; j < size; j++) {
      const d = (x[xOffset + j]! - out[base + j]!) * inv;
      sum += d * d;
    }
    return -0.5 * sum - size * (Math.log(likelihood.scale) + 0.5 * LOG_2PI);
  }
  const logScale = decoded.logScale!;
  const stride = logScaleStride(logScale.length, decoded.rows, size);
  for (let j = 0; j < size; j++) {
    const index = stride.perRow * row + stride.perElement * j;
    const ls = logScale[index]!;
    const d = (x[xOffset + j]! - out[base + j]!) * Math.exp(-ls);
    sum += -0.5 * d * d - ls;
  }
  return sum - 0.5 * size * LOG_2PI;
}

/**
 * How a log-scale output of `length` values broadcasts over `rows` x `size` data values, or `null` if it cannot.
 *
 * @internal
 */
export function logScaleStride(length: number, rows: number, size: number): { perRow: number; perElement: number } {
  if (length === rows * size) return { perRow: size, perElement: 1 };
  if (length === size) return { perRow: 0, perElement: 1 };
  if (length === rows) return { perRow: 1, perElement: 0 };
  return { perRow: 0, perElement: 0 };
}

/** Whether a log-scale output of `length` values can broadcast over `rows` x `size`. @internal */
export function logScaleBroadcasts(length: number, rows: number, size: number): boolean {
  return length === rows * size || length === size || length === rows || length === 1;
}

/**
 * Maps raw decoder outputs to the data space: probabilities for a Bernoulli-logits decoder, the output itself
 * otherwise.
 *
 * @internal
 */
export function toDataSpace(likelihood: Likelihood, output: Float32Array): Float32Array {
  if (likelihood.kind !== 'bernoulli' || likelihood.parameterization !== 'logits') return output;
  const out = new Float32Array(output.length);
  for (let i = 0; i < output.length; i++) out[i] = sigmoid(output[i]!);
  return out;
}
