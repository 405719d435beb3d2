import { fail, finiteNumber } from '../manifest/fields.js';
import type { LikelihoodModel } from './types.js';

/** A Laplace decoder: the output is the location, with a fixed `scale` b (an L1 reconstruction loss). */
export interface LaplaceLikelihood {
  readonly kind: 'laplace';
  readonly scale: number;
}

/** The Laplace observation model: log p(x|z) = sum of `-|x - mu| / b - log(2 b)`. @internal */
export const LAPLACE = Object.freeze<LikelihoodModel<LaplaceLikelihood>>({
  kind: 'laplace',
  fields: Object.freeze(['scale']),
  parse(json) {
    const scale = finiteNumber(json, 'scale', 'likelihood');
    if (scale <= 0) fail('likelihood.scale', `must be > 0 but is ${scale}.`);
    return { kind: 'laplace', scale };
  },
  summary: (likelihood) => `laplace (scale ${likelihood.scale})`,
  outputs: () => [],
  logLikelihood(likelihood, x, xOffset, decoded, row, size) {
    const out = decoded.output;
    const base = row * size;
    let sum = 0;
    for (let j = 0; j < size; j++) sum += Math.abs(x[xOffset + j]! - out[base + j]!);
    return -sum / likelihood.scale - size * Math.log(2 * likelihood.scale);
  },
  scoreNotes: () => ['bitsPerDim is of the Laplace density in the data space, without a dequantisation correction.'],
});
