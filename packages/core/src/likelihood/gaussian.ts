import { ModelMismatchError, describe } from '../errors.js';
import { fail, finiteNumber, string } from '../manifest/fields.js';
import { LOG_2PI } from '../math.js';
import type { LikelihoodModel } from './types.js';

/** A Gaussian decoder: the output is the mean, with a fixed `scale` (std) or a decoder output of log std. */
export type GaussianLikelihood =
  | { readonly kind: 'gaussian'; readonly scale: number; readonly logScaleOutput?: undefined }
  | { readonly kind: 'gaussian'; readonly scale?: undefined; readonly logScaleOutput: string };

/**
 * How a log-scale output of `length` values broadcasts over `rows` x `size` data values.
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

/** The Gaussian observation model. @internal */
export const GAUSSIAN = Object.freeze<LikelihoodModel<GaussianLikelihood>>({
  kind: 'gaussian',
  fields: Object.freeze(['scale', 'logScaleOutput']),
  parse(json): GaussianLikelihood {
    if ((json.scale === undefined) === (json.logScaleOutput === undefined)) {
      fail(
        'likelihood',
        'of kind "gaussian" needs exactly one of "scale" (a fixed standard deviation) or "logScaleOutput" (a decoder output holding log std).',
      );
    }
    if (json.scale === undefined) return { kind: 'gaussian', logScaleOutput: string(json, 'logScaleOutput', 'likelihood') };
    const scale = finiteNumber(json, 'scale', 'likelihood');
    if (scale <= 0) fail('likelihood.scale', `must be > 0 but is ${scale}.`);
    return { kind: 'gaussian', scale };
  },
  summary: (likelihood) => `gaussian (${likelihood.scale !== undefined ? `scale ${likelihood.scale}` : `log scale output "${likelihood.logScaleOutput}"`})`,
  outputs: (likelihood) => (likelihood.logScaleOutput === undefined ? [] : [{ name: likelihood.logScaleOutput, what: 'log scale' }]),
  checkOutputs(likelihood, output, [logScale]) {
    if (logScale === undefined) return;
    const rows = output.dims[0]!;
    if (!logScaleBroadcasts(logScale.size, rows, output.size / rows)) {
      throw new ModelMismatchError(
        'decoder',
        `The decoder's log-scale output "${likelihood.logScaleOutput}" has dims ${describe([...logScale.dims])}, which do not broadcast against the data ${describe([...output.dims])}.`,
      );
    }
  },
  logLikelihood(likelihood, x, xOffset, decoded, row, size) {
    const out = decoded.output;
    const base = row * size;
    let sum = 0;
    if (likelihood.scale !== undefined) {
      const inv = 1 / likelihood.scale;
      for (let j = 0; j < size; j++) {
        const d = (x[xOffset + j]! - out[base + j]!) * inv;
        sum += d * d;
      }
      return -0.5 * sum - size * (Math.log(likelihood.scale) + 0.5 * LOG_2PI);
    }
    const logScale = decoded.extras?.[0] ?? decoded.logScale!;
    const stride = logScaleStride(logScale.length, decoded.rows, size);
    for (let j = 0; j < size; j++) {
      const ls = logScale[stride.perRow * row + stride.perElement * j]!;
      const d = (x[xOffset + j]! - out[base + j]!) * Math.exp(-ls);
      sum += -0.5 * d * d - ls;
    }
    return sum - 0.5 * size * LOG_2PI;
  },
  scoreNotes: () => ['bitsPerDim is of the Gaussian density in the data space, without a dequantisation correction.'],
});
