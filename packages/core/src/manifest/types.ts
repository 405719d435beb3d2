import type { Likelihood } from '../likelihood/registry.js';

/** Data layouts a manifest may declare. */
export const LAYOUTS = Object.freeze({
  /** One vector per item. */
  flat: 'flat',
  /** Items are `[C, H, W]`. */
  NCHW: 'NCHW',
  /** Items are `[H, W, C]`. */
  NHWC: 'NHWC',
} as const);
/** One of {@link LAYOUTS}. */
export type Layout = keyof typeof LAYOUTS;

/** Forms of the encoder's output. */
export const ENCODER_OUTPUT_KINDS = Object.freeze({
  /** Two outputs: mean and logvar. */
  gaussian: 'gaussian',
  /** One output of 2C channels along axis 1: mean then logvar (optimum's `latent_parameters`). */
  moments: 'moments',
  /** One output: the latent itself (std 0). */
  deterministic: 'deterministic',
} as const);
/** One of {@link ENCODER_OUTPUT_KINDS}. */
export type EncoderOutputKind = keyof typeof ENCODER_OUTPUT_KINDS;

/** A manifest's encoder: its file, input name and output. */
export interface EncoderGraph {
  readonly file: string;
  readonly input: string;
  readonly output: EncoderOutput;
}

/** A manifest's decoder: its file, input name and output name. */
export interface DecoderGraph {
  readonly file: string;
  readonly input: string;
  readonly output: string;
}

/** The encoder's output, per {@link ENCODER_OUTPUT_KINDS}. */
export type EncoderOutput =
  | { readonly kind: 'gaussian'; readonly mean: string; readonly logvar: string }
  | { readonly kind: 'moments'; readonly name: string }
  | { readonly kind: 'deterministic'; readonly name: string };

/** A dimension of an item shape: a size, or `null` for a size the input decides. */
export type Dim = number | null;

/** A validated manifest with defaults filled in (docs/manifest.md). */
export interface Manifest {
  readonly format: 'onnx-vae';
  readonly version: 1;
  readonly name: string;
  readonly description?: string;
  /** The encoder; absent in a decoder-only model (then `encode`, `reconstruct`, `score` throw `GRAPH_MISSING`). */
  readonly encoder?: EncoderGraph;
  /** The decoder; absent in an encoder-only model (then `decode`, `generate`, `reconstruct`, `score` throw `GRAPH_MISSING`). */
  readonly decoder?: DecoderGraph;
  /**
   * Optional float16 graphs (same tensor names; float16 or float32 at inputs and outputs), used by runtimes that
   * can run them well: onnxruntime-web on a WebGPU adapter with `shader-f16`.
   */
  readonly float16?: { readonly encoder?: string; readonly decoder?: string };
  readonly data: {
    readonly shape: readonly Dim[];
    readonly layout: Layout;
    readonly range: readonly [number, number];
    readonly image?: { readonly channels: number; readonly height: number; readonly width: number };
  };
  readonly latent: {
    readonly shape: readonly Dim[];
    readonly scalingFactor: number;
    readonly shiftFactor: number;
    /** Data height (and width) over latent height (and width) for image models, e.g. 8; images are padded to it. */
    readonly spatialFactor?: number;
  };
  readonly likelihood: Likelihood;
}

/** What a backend reports about one graph input or output. */
export interface TensorInfo {
  readonly name: string;
  /** Element type as onnxruntime names it (`float32`, `float16`, `int64`, ...); undefined when unknown. */
  readonly type?: string;
  /** Dims with symbolic names as strings; undefined when unknown. */
  readonly shape?: readonly (number | string | null)[];
}

/** What a backend reports about a graph's inputs and outputs. */
export interface GraphInfo {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
}
