import type { Json } from '../manifest/fields.js';
import type { VaeTensor } from '../tensor/tensor.js';

/**
 * Decoder outputs for a run of rows: the main output and the likelihood's extra outputs (a learned-scale
 * Gaussian's log std), as {@link LikelihoodModel.logLikelihood} reads them.
 */
export interface DecoderRows {
  readonly output: Float32Array;
  /** The likelihood's extra outputs ({@link LikelihoodModel.outputs}), in order. */
  readonly extras?: readonly Float32Array[];
  /** A learned-scale Gaussian's log std: `extras[0]`, kept under its old name. */
  readonly logScale?: Float32Array;
  readonly rows: number;
}

/** An extra decoder output a likelihood reads, e.g. a learned-scale Gaussian's log std. */
export interface LikelihoodOutput {
  /** The graph output's name. */
  readonly name: string;
  /** What it holds, for messages (`'log scale'`). */
  readonly what: string;
}

/**
 * All that onnx-vae knows about one observation model p(x|z): its manifest section, the decoder outputs it reads,
 * the data it accepts, log p(x|z) and the map to the data space. One per file in `likelihood/`, listed in
 * `LIKELIHOODS` (likelihood/registry.ts); adding a likelihood touches only its file, that table, the JSON Schema and a
 * fixture.
 *
 * @typeParam L - the parsed manifest section, `{ kind, ...fields }`
 */
export interface LikelihoodModel<L extends { readonly kind: string }> {
  /** The manifest's `likelihood.kind`. */
  readonly kind: L['kind'];
  /** Manifest fields besides `kind`. */
  readonly fields: readonly string[];
  /**
   * Validates the manifest section (unknown fields are already refused) and fills in defaults.
   *
   * @throws {@link ManifestError} `MANIFEST_INVALID` naming the field
   */
  parse(json: Json): L;
  /** One line for people, e.g. `gaussian (scale 0.1)` (`onnx-vae info`). */
  summary(likelihood: L): string;
  /** Decoder outputs it reads besides `decoder.output`, in order. */
  outputs(likelihood: L): readonly LikelihoodOutput[];
  /**
   * Checks the decoder's extra outputs against its data output (e.g. that a log scale broadcasts).
   *
   * @throws {@link ModelMismatchError}
   */
  checkOutputs?(likelihood: L, output: VaeTensor, extras: readonly VaeTensor[]): void;
  /**
   * Checks data before scoring (e.g. a Bernoulli decoder needs x in [0, 1]).
   *
   * @throws {@link InvalidInputError} `INVALID_INPUT`
   */
  checkData?(likelihood: L, x: Float32Array, model: string): void;
  /**
   * log p(x | z) of one row, in float64, summed over the `size` elements of an item at `xOffset`. Absent for a
   * model without a likelihood: `score` then reports reconstruction error and KL only.
   */
  logLikelihood?(likelihood: L, x: Float32Array, xOffset: number, decoded: DecoderRows, row: number, size: number): number;
  /** Maps raw decoder outputs to the data space (e.g. logits to probabilities); default: the output itself. */
  toDataSpace?(likelihood: L, output: Float32Array): Float32Array;
  /** Caveats `score` reports for this likelihood. */
  scoreNotes?(likelihood: L, model: string): readonly string[];
}
