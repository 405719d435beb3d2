/**
 * The likelihoods onnx-vae knows, one module each. A new likelihood is one file implementing
 * {@link LikelihoodModel} and one line in {@link LIKELIHOODS} (then its JSON Schema entry and a fixture).
 */
import { choice, object } from '../manifest/fields.js';
import { BERNOULLI } from './bernoulli.js';
import { GAUSSIAN } from './gaussian.js';
import { LAPLACE } from './laplace.js';
import { NONE } from './none.js';
import type { DecoderRows, LikelihoodModel, LikelihoodOutput } from './types.js';

/**
 * Every likelihood, by its manifest `kind`: the registry the `Likelihood` union and {@link LIKELIHOOD_KINDS} are derived
 * from (public for those types; a new likelihood is one line here, docs/architecture.md).
 */
export const LIKELIHOODS = Object.freeze({
  bernoulli: BERNOULLI,
  gaussian: GAUSSIAN,
  laplace: LAPLACE,
  none: NONE,
} as const);

type SectionOf<M> = M extends LikelihoodModel<infer L> ? L : never;

/** One of the likelihood kinds of {@link LIKELIHOODS}. */
export type LikelihoodKind = keyof typeof LIKELIHOODS;

/** The decoder's observation model: a manifest's parsed `likelihood` section. */
export type Likelihood = { [K in LikelihoodKind]: SectionOf<(typeof LIKELIHOODS)[K]> }[LikelihoodKind];

/** Observation models of the decoder (the keys of {@link LIKELIHOODS}). */
export const LIKELIHOOD_KINDS: { readonly [K in LikelihoodKind]: K } = Object.freeze(
  Object.fromEntries(Object.keys(LIKELIHOODS).map((kind) => [kind, kind])) as { [K in LikelihoodKind]: K },
);

/** The model of a parsed likelihood section. @internal */
export function likelihoodModel<L extends Likelihood>(likelihood: L): LikelihoodModel<L> {
  return LIKELIHOODS[likelihood.kind] as unknown as LikelihoodModel<L>;
}

/** Every manifest field any likelihood reads, for the "not a known field" message. */
const ALL_FIELDS = Object.freeze(['kind', ...new Set(Object.values(LIKELIHOODS).flatMap((model) => model.fields))]);

/**
 * Validates a manifest's `likelihood` section.
 *
 * @throws {@link ManifestError} `MANIFEST_INVALID` naming the field
 * @internal
 */
export function parseLikelihood(value: unknown): Likelihood {
  const json = object(value, 'likelihood', ALL_FIELDS);
  const kind = choice(json, 'kind', 'likelihood', LIKELIHOOD_KINDS);
  const model = LIKELIHOODS[kind] as LikelihoodModel<Likelihood>;
  object(json, 'likelihood', ['kind', ...model.fields]);
  return model.parse(json);
}

/** The decoder outputs a likelihood reads besides `decoder.output`. @internal */
export function likelihoodOutputs(likelihood: Likelihood): readonly LikelihoodOutput[] {
  return likelihoodModel(likelihood).outputs(likelihood);
}

/**
 * A likelihood in one line for people: `bernoulli (logits)`, `gaussian (scale 0.1)`,
 * `gaussian (log scale output "log_scale")`, `laplace (scale 0.1)`, `none`.
 *
 * @example
 * describeLikelihood(vae.manifest.likelihood); // 'bernoulli (logits)'
 */
export function describeLikelihood(likelihood: Likelihood): string {
  return likelihoodModel(likelihood).summary(likelihood);
}

/**
 * log p(x | z) of one row, in float64, summed over the `size` elements of an item.
 *
 * @param likelihood - the manifest's observation model (one that defines log p(x|z), not `none`)
 * @param x - data; the item starts at `xOffset`
 * @param decoded - decoder outputs; the row is `row`
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
  return likelihoodModel(likelihood).logLikelihood!(likelihood, x, xOffset, decoded, row, size);
}

/**
 * Maps raw decoder outputs to the data space: probabilities for a Bernoulli-logits decoder, the output itself
 * otherwise.
 *
 * @internal
 */
export function toDataSpace(likelihood: Likelihood, output: Float32Array): Float32Array {
  const model = likelihoodModel(likelihood);
  return model.toDataSpace ? model.toDataSpace(likelihood, output) : output;
}
