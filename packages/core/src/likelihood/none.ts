import type { LikelihoodModel } from './types.js';

/** No observation model: `score` reports reconstruction error and KL only. */
export interface NoLikelihood {
  readonly kind: 'none';
}

/** The empty observation model (exports that carry none, e.g. Stable Diffusion VAEs). @internal */
export const NONE = Object.freeze<LikelihoodModel<NoLikelihood>>({
  kind: 'none',
  fields: Object.freeze([]),
  parse: () => ({ kind: 'none' }),
  summary: () => 'none',
  outputs: () => [],
  scoreNotes: (_likelihood, model) => [
    `Model "${model}" declares no likelihood (likelihood.kind "none"): elbo, logLikelihood, reconstruction and bitsPerDim are not defined; only reconstructionError and kl are reported.`,
  ],
});
