import { InvalidInputError } from '../errors.js';
import { choice } from '../manifest/fields.js';
import { sigmoid, softplus } from '../math.js';
import type { LikelihoodModel } from './types.js';

/** Parameterisations of a Bernoulli decoder. */
export const BERNOULLI_PARAMETERIZATIONS = Object.freeze({ logits: 'logits', probs: 'probs' } as const);
/** One of {@link BERNOULLI_PARAMETERIZATIONS}. */
export type BernoulliParameterization = keyof typeof BERNOULLI_PARAMETERIZATIONS;

/** A Bernoulli decoder: one probability (or logit) per element; data in [0, 1]. */
export interface BernoulliLikelihood {
  readonly kind: 'bernoulli';
  readonly parameterization: BernoulliParameterization;
}

/** PyTorch's `BCELoss` clamps its logs at -100; so do we, for probability-parameterised Bernoulli decoders. */
const LOG_CLAMP = -100;

/** The Bernoulli observation model. @internal */
export const BERNOULLI = Object.freeze<LikelihoodModel<BernoulliLikelihood>>({
  kind: 'bernoulli',
  fields: Object.freeze(['parameterization']),
  parse: (json) => ({ kind: 'bernoulli', parameterization: choice(json, 'parameterization', 'likelihood', BERNOULLI_PARAMETERIZATIONS) }),
  summary: (likelihood) => `bernoulli (${likelihood.parameterization})`,
  outputs: () => [],
  checkData(_likelihood, x, model) {
    for (let i = 0; i < x.length; i++) {
      if (x[i]! < 0 || x[i]! > 1) {
        throw new InvalidInputError(
          'INVALID_INPUT',
          'x',
          `Model "${model}" has a Bernoulli decoder, so score() needs x in [0, 1], but x holds ${x[i]} at flat index ${i}.`,
        );
      }
    }
  },
  logLikelihood(likelihood, x, xOffset, decoded, row, size) {
    const out = decoded.output;
    const base = row * size;
    let sum = 0;
    if (likelihood.parameterization === 'logits') {
      for (let j = 0; j < size; j++) {
        const l = out[base + j]!;
        sum += x[xOffset + j]! * l - softplus(l);
      }
      return sum;
    }
    for (let j = 0; j < size; j++) {
      const p = out[base + j]!;
      const v = x[xOffset + j]!;
      sum += v * Math.max(Math.log(p), LOG_CLAMP) + (1 - v) * Math.max(Math.log(1 - p), LOG_CLAMP);
    }
    return sum;
  },
  toDataSpace(likelihood, output) {
    if (likelihood.parameterization !== 'logits') return output;
    const out = new Float32Array(output.length);
    for (let i = 0; i < output.length; i++) out[i] = sigmoid(output[i]!);
    return out;
  },
});
