/**
 * 8-bit affine quantisation of latents, one (min, max) pair per channel. The channel axis is axis 1, the first axis
 * after the batch: `[N, C, H, W]` has C channels of N·H·W values each, and a flat latent `[N, L]` has L channels of
 * N values each (every latent coordinate gets its own range).
 */
import { InvalidInputError, describe } from '../errors.js';
import { VaeTensor, assertFinite, sizeOf, toTensor } from '../tensor/tensor.js';
import type { TensorInput } from '../tensor/tensor.js';

/** Number of quantisation steps: codes run from 0 to 255. */
export const UINT8_LEVELS = 255;

/** A tensor quantised by {@link quantizeUint8}. */
export interface QuantizedTensor {
  /** One code 0..255 per value, row-major like the source tensor. */
  readonly data: Uint8Array;
  /** Per-channel minimum (the value of code 0), one per index of axis 1. */
  readonly min: Float32Array;
  /** Per-channel maximum (the value of code 255); equal to `min` for a constant channel. */
  readonly max: Float32Array;
  /** Dims of the source tensor. */
  readonly dims: readonly number[];
}

/** Channels (size of axis 1) and values per channel run (product of the axes after it) of a rank >= 2 tensor. */
function channelLayout(dims: readonly number[]): { channels: number; inner: number } {
  return { channels: dims[1]!, inner: sizeOf(dims.slice(2)) };
}

function assertChannelled(dims: readonly number[], argument: string): void {
  if (dims.length < 2) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      argument,
      `Expected "${argument}" of rank 2 or more ([N, C, ...], channels on axis 1) but received dims ${describe([...dims])}; add a batch axis.`,
    );
  }
}

/**
 * Quantises a latent to 8 bits per value with a per-channel affine map:
 * `q = round((x - min) / (max - min) * 255)` where min and max are the channel's extremes over all other axes.
 * A constant channel gets `max = min` and every code 0, so it decodes exactly.
 *
 * The error of {@link dequantizeUint8} is at most `(max - min) / 510` per value, plus float32 rounding, and the
 * channel's minimum and maximum decode exactly (a `-0` may come back as `0`).
 *
 * @param tensor - a finite float32 tensor `[N, C, ...]` (rank 2 or more)
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` for rank < 2, `NON_FINITE_INPUT` for NaN or infinities
 * @example
 * const q = quantizeUint8(latent); // q.data: Uint8Array, q.min / q.max: Float32Array(C)
 * const approx = dequantizeUint8(q);
 */
export function quantizeUint8(tensor: TensorInput): QuantizedTensor {
  const source = toTensor(tensor, 'tensor');
  assertChannelled(source.dims, 'tensor');
  assertFinite(source, 'tensor');
  const { channels, inner } = channelLayout(source.dims);
  const batch = source.dims[0]!;
  const x = source.data;
  const min = new Float32Array(channels).fill(Infinity);
  const max = new Float32Array(channels).fill(-Infinity);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const start = (n * channels + c) * inner;
      let low = min[c]!;
      let high = max[c]!;
      for (let i = start; i < start + inner; i++) {
        const v = x[i]!;
        if (v < low) low = v;
        if (v > high) high = v;
      }
      min[c] = low;
      max[c] = high;
    }
  }
  // A channel with no values (an axis of size 0) gets the range [0, 0].
  for (let c = 0; c < channels; c++) {
    if (min[c]! > max[c]!) min[c] = max[c] = 0;
  }
  const data = new Uint8Array(x.length);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const low = min[c]!;
      const range = max[c]! - low; // float64: exact for all but extreme spans
      if (range === 0) continue; // constant channel: all codes 0
      const start = (n * channels + c) * inner;
      for (let i = start; i < start + inner; i++) data[i] = Math.round(((x[i]! - low) / range) * UINT8_LEVELS);
    }
  }
  return { data, min, max, dims: Object.freeze([...source.dims]) };
}

/**
 * Decodes a {@link QuantizedTensor}: `x = (min * (255 - q) + max * q) / 255`, computed in float64 and rounded to
 * float32. This is `min + q * (max - min) / 255` written so that codes 0 and 255 give `min` and `max` bit-exactly.
 *
 * @param quantized - codes, per-channel min and max, and dims
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` when the codes, min or max do not fit the dims
 */
export function dequantizeUint8(quantized: QuantizedTensor): VaeTensor {
  const { data, min, max, dims } = quantized;
  assertChannelled(dims, 'quantized');
  const { channels, inner } = channelLayout(dims);
  const size = sizeOf(dims);
  if (data.length !== size || min.length !== channels || max.length !== channels) {
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      'quantized',
      `Quantized dims ${describe([...dims])} need ${size} codes and ${channels} min/max values but received ${data.length} codes, ${min.length} min and ${max.length} max values.`,
    );
  }
  const out = new Float32Array(size);
  const batch = dims[0]!;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const low = min[c]!;
      const high = max[c]!;
      const start = (n * channels + c) * inner;
      for (let i = start; i < start + inner; i++) {
        const q = data[i]!;
        out[i] = (low * (UINT8_LEVELS - q) + high * q) / UINT8_LEVELS;
      }
    }
  }
  return new VaeTensor(out, dims);
}
