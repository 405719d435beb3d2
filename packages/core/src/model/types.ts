/** Options and results of the {@link Vae} API. */
import type { Backend, ModelSource } from '../backend.js';
import type { ImageCodec, ImageReadOptions } from '../image/codec.js';
import type { ResourceLimits } from '../limits.js';
import type { Detection } from '../manifest/detect.js';
import type { GraphInfo, Manifest } from '../manifest/types.js';
import type { SpatialSize } from '../tensor/spatial.js';
import type { TensorInput } from '../tensor/tensor.js';
import type { TiledDecodeOptions, TiledEncodeOptions } from '../tiling/tiled.js';
import type { BatchingOptions } from '../batching/index.js';
import type { CallOptions } from '../cancellation.js';
import type { NoiseOptions } from './noise.js';
import type { GraphRole } from './lazy-session.js';
import type { RandomAccessFile } from '../formats/graph-info.js';

/** The largest batch sent to a graph in one run when `maxBatch` is not given. */
export const DEFAULT_MAX_BATCH = 256;

/** Options every runtime's `loadVae` accepts. */
export interface VaeOptions {
  /** Largest batch sent to a graph in one run; bigger inputs are split and joined. Default {@link DEFAULT_MAX_BATCH} (256). */
  readonly maxBatch?: number;
  /** Resource limits of every call (see `LIMITS`, docs/limits.md); calls may override them with their own `limits`. */
  readonly limits?: ResourceLimits;
  /** Coalesce concurrent calls into shared graph runs (see {@link BatchingOptions}). Default: off. */
  readonly batching?: BatchingOptions;
  /**
   * Graphs whose sessions are created at load; the others are created by their first use, so a VAE that only
   * decodes never holds its encoder. Either way both graphs are checked against the manifest at load. Default: the
   * runtime's (`loadVae` in Node on the CPU: `[]`; see its docs); `createVae`: both.
   */
  readonly preload?: readonly GraphRole[];
}

/** The `limits` option of a call: overrides the VAE's limits for this call only. */
export interface CallLimitOptions {
  /** Resource limits for this call, over the VAE's (see `LIMITS`). */
  readonly limits?: ResourceLimits;
}

/**
 * Progress of a call, after each graph run (a batch chunk, or a tile): `done` of `total` rows. A row is one item
 * through one graph: `encode`, `decode` and `generate` have N rows, `reconstruct` 2N (encoder rows, then decoder rows),
 * `score` k x N decoder rows. Tiled runs advance by a fraction of a row per tile, so `done` may be fractional.
 */
export type ProgressCallback = (done: number, total: number) => void;

/** A progress option. */
export interface ProgressOptions {
  /** Called after each graph run with the rows done and the total; see {@link ProgressCallback}. */
  readonly onProgress?: ProgressCallback;
}

/** Tiling of {@link Vae.encode}: `true` for the defaults, or tile settings. */
export type EncodeTiling = boolean | Omit<TiledEncodeOptions, 'factor' | 'layout' | 'onProgress'>;
/** Tiling of {@link Vae.decode}: `true` for the defaults, or tile settings. */
export type DecodeTiling = boolean | Omit<TiledDecodeOptions, 'factor' | 'layout' | 'onProgress'>;

/** Options of {@link Vae.encode}. */
export interface EncodeOptions extends ImageReadOptions, ProgressOptions, CallOptions, CallLimitOptions {
  /** Encode in overlapping tiles blended with linear ramps (image models). Default false. */
  readonly tiling?: EncodeTiling;
}

/** Options of {@link Vae.decode}. */
export interface DecodeOptions extends ProgressOptions, CallOptions, CallLimitOptions {
  /** Decode in overlapping tiles blended with linear ramps (image models). Default false. */
  readonly tiling?: DecodeTiling;
  /** Crop the decoded images to this size (top-left), e.g. the size before padding. */
  readonly size?: SpatialSize;
}

/** Options of {@link createVae}. */
export interface CreateVaeOptions<I = never, O = never, W = never> extends VaeOptions {
  /**
   * The validated manifest, or a function that detects one from the graphs' inputs and outputs (for exports
   * without `vae.json`, see `detectManifest`).
   */
  readonly manifest: Manifest | ((graphs: { readonly encoder?: GraphInfo; readonly decoder?: GraphInfo }) => Detection);
  /** The runtime binding. */
  readonly backend: Backend;
  /** Where the encoder graph is; left out for a decoder-only model (whose manifest has no `encoder`). */
  readonly encoder?: ModelSource;
  /** Where the decoder graph is; left out for an encoder-only model. */
  readonly decoder?: ModelSource;
  /** The runtime's image reader and writer, if it has one. */
  readonly images?: ImageCodec<I, O, W>;
  /**
   * Opens a graph given by path for reading its inputs and outputs without a session (Node: a file handle). Without
   * it, graphs given by path are opened at load whatever `preload` says.
   */
  readonly openFile?: (path: string) => Promise<RandomAccessFile>;
}

/** Options of prior draws ({@link Vae.sample} without a posterior, {@link Vae.generate}). */
export interface PriorSampleOptions extends NoiseOptions, CallLimitOptions {
  /** Number of draws. Default 1. */
  readonly n?: number;
  /** Latent item shape, needed only when the manifest leaves spatial sizes open (`null`). */
  readonly latentShape?: readonly number[];
}

/** Options of {@link Vae.generate}. */
export interface GenerateOptions extends PriorSampleOptions, ProgressOptions, CallOptions {}

/** Options of {@link Vae.reconstruct}. */
export interface ReconstructOptions extends ImageReadOptions, NoiseOptions, ProgressOptions, CallOptions, CallLimitOptions {
  /** Tiled encode and decode (image models): `true` for the defaults of both. Default false. */
  readonly tiling?: boolean | { readonly encode?: EncodeTiling; readonly decode?: DecodeTiling };
  /** Decode a posterior sample instead of the mean. Default false. */
  readonly sample?: boolean;
}

/** Options of {@link Vae.score}. */
export interface ScoreOptions extends ImageReadOptions, CallOptions, CallLimitOptions {
  /** Importance samples k per item. Default 1. */
  readonly samples?: number;
  /** Seed of the `normal-v1` generator. Default: a fresh random seed, reported in the result. */
  readonly seed?: number;
  /** Caller-supplied noise of dims `[k, N, ...latent]`; overrides `seed`. */
  readonly eps?: TensorInput;
  /** Called after each decoder run with the sample rows done and the total (k x N). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Per-item evaluation numbers from {@link Vae.score}; `null` where the model cannot give a number (see `notes`). */
export interface ScoreResult {
  /** Importance samples k used. */
  readonly samples: number;
  /** Seed used, or `null` when the caller supplied `eps`. */
  readonly seed: number | null;
  /** ELBO: mean over the k samples of log p(x|z), minus the closed-form KL. Nats. */
  readonly elbo: Float64Array | null;
  /** IWAE estimate of log p(x): logsumexp of the k log weights minus log k (Burda et al. 2015). Nats. */
  readonly logLikelihood: Float64Array | null;
  /** E_q log p(x|z), estimated with the k samples. Nats. */
  readonly reconstruction: Float64Array | null;
  /** KL(q(z|x) || N(0, I)), closed form. Nats. */
  readonly kl: Float64Array | null;
  /** -logLikelihood / (D ln 2), D = elements per item. */
  readonly bitsPerDim: Float64Array | null;
  /** Mean squared error between x and decode(mean), in the data space. */
  readonly reconstructionError: Float64Array;
  /** Latent elements whose variance of the posterior mean across the batch exceeds 0.01; `null` for one item. */
  readonly activeUnits: number | null;
  /** Why any number is `null`, and other caveats. */
  readonly notes: readonly string[];
}
