import type { Backend, BackendSession, DeviceTensor, ModelSource } from './backend.js';
import { DeviceLatent } from './device-latent.js';
import { BackendError, InvalidInputError, InvalidOptionError, ModelMismatchError, VaeError, describe } from './errors.js';
import { interpolateLatents } from './interpolate.js';
import type { InterpolateOptions } from './interpolate.js';
import { logScaleBroadcasts, rowLogLikelihood, toDataSpace } from './likelihood.js';
import type { DecoderRows } from './likelihood.js';
import { checkManifestAgainstGraphs, decoderOutputNames, encoderOutputNames } from './manifest.js';
import type { Dim, GraphInfo, Manifest } from './manifest.js';
import type { Detection } from './detect.js';
import { logSumExp, standardNormalLogDensity } from './math.js';
import { Posterior, noise } from './posterior.js';
import type { PosteriorSampleOptions } from './posterior.js';
import { NormalV1, assertSeed, randomSeed } from './rng.js';
import { fromDiffusionLatent, toDiffusionLatent } from './presets.js';
import { VaeTensor, assertFinite, concatBatches, sizeOf, toTensor } from './tensor.js';
import { cropTo, padToMultiple } from './spatial.js';
import type { SpatialSize } from './spatial.js';
import { tiledDecode, tiledEncode } from './tiling.js';
import type { TileSource, TiledDecodeOptions, TiledEncodeOptions } from './tiling.js';
import { checkLimit, resolveLimits } from './limits.js';
import type { ResolvedLimits, ResourceLimits } from './limits.js';
import { checkBatchItems, checkDecodeOutput, checkDraws, checkScoreWork, checkSizeOption, checkTilingOption, checkUntiledInput } from './vae-limits.js';
import type { TensorInput } from './tensor.js';

/** Options every runtime's `loadVae` accepts. */
export interface VaeOptions {
  /** Largest batch sent to a graph in one run; bigger inputs are split and joined. Default 256. */
  readonly maxBatch?: number;
  /** Resource limits of every call (see `LIMITS`, docs/limits.md); calls may override them with their own `limits`. */
  readonly limits?: ResourceLimits;
}

/** The `limits` option of a call: overrides the VAE's limits for this call only. */
export interface CallLimitOptions {
  /** Resource limits for this call, over the VAE's (see `LIMITS`). */
  readonly limits?: ResourceLimits;
}

/** What an image read must respect; checked before the pixels are decoded. */
export interface ImageReadLimits {
  /** The limits in force. */
  readonly limits?: ResolvedLimits;
  /** The whole image runs through a graph (no tiling), so `maxUntiledPixels` applies. */
  readonly untiled?: boolean;
}

/** Images opened for a tiled encode, read region by region (see {@link ImageCodec.openTiles}). */
export interface ImageTileSource extends TileSource {
  /** Height and width before padding to the spatial factor; `null` when nothing was padded. */
  readonly original: SpatialSize | null;
  /** Releases what the source holds. */
  close(): Promise<void>;
}

/** How an image whose size is not a multiple of the model's spatial factor is fitted. */
export const IMAGE_FITS = Object.freeze({
  /** Pad the bottom and right by reflection, and crop the output back (default). */
  pad: 'pad',
  /** Resize to the nearest multiple (images only). */
  resize: 'resize',
  /** Crop the centre to the largest multiple (images only). */
  crop: 'crop',
} as const);
/** One of {@link IMAGE_FITS}. */
export type ImageFit = keyof typeof IMAGE_FITS;

/** What to do with an image's alpha channel. */
export const ALPHA_MODES = Object.freeze({
  /** Composite over `background` (default white). */
  composite: 'composite',
  /** Drop the alpha channel. */
  drop: 'drop',
} as const);
/** One of {@link ALPHA_MODES}. */
export type AlphaMode = keyof typeof ALPHA_MODES;

/** How images are read into model data. */
export interface ImageReadOptions {
  /** Fitting to the spatial factor. Default `'pad'`. */
  readonly fit?: ImageFit;
  /** Alpha handling. Default `'composite'`. */
  readonly alpha?: AlphaMode;
  /** RGB background (0-255) for `alpha: 'composite'`. Default white. */
  readonly background?: readonly [number, number, number];
}

/**
 * Reads and writes images for a runtime (sharp in Node, canvas in browsers); core converts nothing itself.
 *
 * @typeParam I - image inputs the runtime takes (paths and encoded bytes in Node)
 * @typeParam O - images it gives back (encoded bytes in Node)
 * @typeParam W - its write options (format, quality)
 */
export interface ImageCodec<I, O, W> {
  /** Whether an input is an image this codec reads. */
  isImage(input: unknown): input is I;
  /**
   * Reads images into one data tensor `[N, ...item]` in the manifest's range and layout. With `fit: 'resize'` or
   * `'crop'` sizes become multiples of `multiple`; with `'pad'` they stay as they are.
   */
  read(inputs: readonly I[], manifest: Manifest, options: ImageReadOptions & ImageReadLimits & { readonly multiple: number }): Promise<VaeTensor>;
  /**
   * Optional: opens images for a tiled encode (NCHW), padded by reflection to multiples of `multiple` and read
   * region by region, so memory is bounded by the tiles, not the image. Codecs without it are read whole.
   */
  openTiles?(inputs: readonly I[], manifest: Manifest, options: ImageReadOptions & { readonly multiple: number; readonly limits: ResolvedLimits }): Promise<ImageTileSource>;
  /** Writes each item of a data tensor as an image. */
  write(data: VaeTensor, manifest: Manifest, options: W): Promise<O[]>;
}

/** Tiling of {@link Vae.encode}: `true` for the defaults, or tile settings. */
export type EncodeTiling = boolean | Omit<TiledEncodeOptions, 'factor' | 'layout'>;
/** Tiling of {@link Vae.decode}: `true` for the defaults, or tile settings. */
export type DecodeTiling = boolean | Omit<TiledDecodeOptions, 'factor' | 'layout'>;

/** Options of {@link Vae.encode}. */
export interface EncodeOptions extends ImageReadOptions, CallLimitOptions {
  /** Encode in overlapping tiles blended with linear ramps (image models). Default false. */
  readonly tiling?: EncodeTiling;
}

/** Options of {@link Vae.decode}. */
export interface DecodeOptions extends CallLimitOptions {
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
  readonly manifest: Manifest | ((graphs: { readonly encoder: GraphInfo; readonly decoder: GraphInfo }) => Detection);
  /** The runtime binding. */
  readonly backend: Backend;
  /** Where the encoder graph is. */
  readonly encoder: ModelSource;
  /** Where the decoder graph is. */
  readonly decoder: ModelSource;
  /** The runtime's image reader and writer, if it has one. */
  readonly images?: ImageCodec<I, O, W>;
}

/** Options of prior draws ({@link Vae.sample} without a posterior, {@link Vae.generate}). */
export interface PriorSampleOptions extends CallLimitOptions {
  /** Number of draws. Default 1. */
  readonly n?: number;
  /** Seed of the `normal-v1` generator; default: a fresh random seed. */
  readonly seed?: number;
  /** Caller-supplied noise of dims `[n, ...latent]`; overrides `seed`. */
  readonly eps?: TensorInput;
  /** Latent item shape, needed only when the manifest leaves spatial sizes open (`null`). */
  readonly latentShape?: readonly number[];
}

/** Options of {@link Vae.reconstruct}. */
export interface ReconstructOptions extends ImageReadOptions, CallLimitOptions {
  /** Tiled encode and decode (image models): `true` for the defaults of both. Default false. */
  readonly tiling?: boolean | { readonly encode?: EncodeTiling; readonly decode?: DecodeTiling };
  /** Decode a posterior sample instead of the mean. Default false. */
  readonly sample?: boolean;
  /** Seed for the sample. Default: random. */
  readonly seed?: number;
  /** Caller-supplied noise for the sample, dims `[N, ...latent]`. */
  readonly eps?: TensorInput;
}

/** Options of {@link Vae.score}. */
export interface ScoreOptions extends ImageReadOptions, CallLimitOptions {
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

/** Data ready for the encoder, and the size before padding (`null` when nothing was padded). */
interface Prepared {
  readonly tensor: VaeTensor;
  readonly original: SpatialSize | null;
}

const DEFAULT_MAX_BATCH = 256;
const ACTIVE_UNIT_THRESHOLD = 0.01;

/**
 * Loads both graphs through a backend, checks them against the manifest and returns a {@link Vae}.
 * Runtime packages wrap this as `loadVae(folder)`.
 *
 * @throws {@link ModelMismatchError} when the manifest and the graphs disagree; backend errors as thrown
 */
export async function createVae<I = never, O = never, W = never>(options: CreateVaeOptions<I, O, W>): Promise<Vae<I, O, W>> {
  const maxBatch = checkMaxBatch(options.maxBatch);
  const limits = resolveLimits(options.limits);
  const encoder = await options.backend.createSession(options.encoder, 'encoder');
  let decoder: BackendSession;
  try {
    decoder = await options.backend.createSession(options.decoder, 'decoder');
  } catch (error) {
    await encoder.release();
    throw error;
  }
  let manifest: Manifest;
  let detection: Detection | null = null;
  try {
    if (typeof options.manifest === 'function') {
      detection = options.manifest({ encoder, decoder });
      manifest = detection.manifest;
    } else manifest = options.manifest;
    checkManifestAgainstGraphs(manifest, encoder, decoder);
  } catch (error) {
    await Promise.all([encoder.release(), decoder.release()]);
    throw error;
  }
  return new Vae<I, O, W>(manifest, encoder, decoder, options.backend.name, maxBatch, detection, options.images ?? null, limits);
}

function checkMaxBatch(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BATCH;
  if (value === Infinity || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1)) return value;
  throw new InvalidOptionError('maxBatch', `Expected "maxBatch" to be a positive integer (or Infinity) but received ${describe(value)}.`);
}

function positiveInteger(value: unknown, option: string, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new InvalidOptionError(option, `Expected "${option}" to be a positive integer but received ${describe(value)}.`);
  }
  return v;
}

function checkShape(dims: readonly number[], itemShape: readonly Dim[], argument: string, what: string, modelName: string, hint: string): void {
  const ok = dims.length === itemShape.length + 1 && dims[0]! >= 1 && itemShape.every((d, i) => (d === null ? dims[i + 1]! >= 1 : d === dims[i + 1]));
  if (!ok) {
    const expected = `[N, ${itemShape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
    throw new InvalidInputError(
      'SHAPE_MISMATCH',
      argument,
      `Expected ${what} "${argument}" of shape ${expected} for model "${modelName}" but received ${describe([...dims])}${hint}.`,
    );
  }
}

/**
 * A VAE: an encoder and a decoder graph described by one manifest. Made by `loadVae` of a runtime package.
 *
 * @example
 * const vae = await loadVae('models/mnist-vae');
 * const q = await vae.encode(x);            // posterior
 * const xr = await vae.reconstruct(x);      // decode(mean)
 * const s = await vae.score(x, { samples: 100, seed: 0 });
 * await vae.dispose();
 */
export class Vae<I = never, O = never, W = never> {
  /** The validated manifest. */
  readonly manifest: Manifest;
  /** Which backend runs the graphs, e.g. `onnxruntime-node (cpu)`. */
  readonly backendName: string;
  /** Largest batch per graph run. */
  readonly maxBatch: number;
  /** How the manifest was detected, for an export loaded without `vae.json`; `null` when a manifest was given. */
  readonly detection: Detection | null;
  /** The resource limits of its calls (see `LIMITS`). */
  readonly limits: ResolvedLimits;
  private readonly encoder: BackendSession;
  private readonly decoder: BackendSession;
  private readonly images: ImageCodec<I, O, W> | null;
  private readonly encoderOutputs: readonly string[];
  private readonly decoderOutputs: readonly string[];
  private disposed = false;

  /** @internal Use `loadVae` or {@link createVae}. */
  constructor(manifest: Manifest, encoder: BackendSession, decoder: BackendSession, backendName: string, maxBatch: number, detection: Detection | null = null, images: ImageCodec<I, O, W> | null = null, limits: ResolvedLimits = resolveLimits(undefined)) {
    this.manifest = manifest;
    this.limits = limits;
    this.detection = detection;
    this.images = images;
    this.encoder = encoder;
    this.decoder = decoder;
    this.backendName = backendName;
    this.maxBatch = maxBatch;
    this.encoderOutputs = Object.freeze(encoderOutputNames(manifest));
    this.decoderOutputs = Object.freeze(decoderOutputNames(manifest));
  }

  /** Elements of one data item, when the manifest fixes them. */
  get dataSize(): number | null {
    return this.manifest.data.shape.includes(null) ? null : sizeOf(this.manifest.data.shape as number[]);
  }

  /**
   * Encodes data into the approximate posterior q(z|x).
   *
   * @param x - data of dims `[N, ...data.shape]` in the manifest's range, float32, finite; or, where the runtime
   *   reads images (Node: file paths and encoded bytes), an image or a list of images of one size
   * @param options - image reading (`fit` `'pad'` default, `'resize'`, `'crop'`; `alpha`; `background`) and
   *   `tiling` (image models: `true` or `{ tileSize, overlap }` in image pixels)
   * @returns the posterior; an image model pads inputs whose size is not a multiple of `latent.spatialFactor`, so
   *   its latent covers the padded size (`reconstruct` crops back)
   * @throws {@link InvalidInputError} `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `NON_FINITE_INPUT`, `INVALID_INPUT`;
   *   {@link LimitExceededError} over `maxInputPixels`, `maxUntiledPixels` (without tiling) or `maxBatchItems`
   *   (`limits` overrides the VAE's for this call). With tiling, Node reads images region by region.
   * @example
   * const q = await vae.encode({ data: pixels, dims: [1, 784] });
   * q.mean; q.std; q.kl(); q.sample({ seed: 0 });
   */
  async encode(x: TensorInput | I | readonly I[], options: EncodeOptions = {}): Promise<Posterior> {
    this.assertUsable();
    checkTilingOption(options.tiling);
    const limits = resolveLimits(options.limits, this.limits);
    if (options.tiling) {
      const streamed = await this.encodeStreamed(x, options, options.tiling, limits);
      if (streamed !== null) return streamed.posterior;
    }
    const prepared = this.prepare(x, options, 'pad', limits, !options.tiling);
    const { tensor } = prepared instanceof Promise ? await prepared : prepared;
    return this.encodePrepared(tensor, options.tiling);
  }

  /**
   * Encodes to the posterior mean (the latent that `reconstruct` decodes) and keeps it in device memory where the
   * backend has it: onnxruntime-web on WebGPU leaves the encoder's output in a GPU buffer (a moments output is split
   * on the GPU), so `decode` reads it there and only the decoded data comes back to the CPU. Elsewhere (wasm, Node)
   * the latent is in CPU memory (`location: 'cpu'`), so the same code runs everywhere.
   *
   * @param x - as for {@link Vae.encode}
   * @param options - image reading (`fit`, `alpha`, `background`)
   * @returns a {@link DeviceLatent}; dispose it (or `using`) when done
   * @example
   * using z = await vae.encodeToDevice(image);
   * const y = await vae.decode(z);
   */
  async encodeToDevice(x: TensorInput | I | readonly I[], options: ImageReadOptions = {}): Promise<DeviceLatent> {
    this.assertUsable();
    if ((options as EncodeOptions).tiling) throw new InvalidOptionError('tiling', 'encodeToDevice does not tile; use encode(x, { tiling }) and decode the mean.');
    const prepared = this.prepare(x, options, 'pad', resolveLimits((options as EncodeOptions).limits, this.limits), true);
    const { tensor } = prepared instanceof Promise ? await prepared : prepared;
    return (await this.encodeOnDevice(tensor)) ?? new DeviceLatent((await this.encodeTensor(tensor)).mean);
  }

  /**
   * Decodes latents into the data space (probabilities for a Bernoulli-logits decoder).
   *
   * @param z - latents of dims `[N, ...latent.shape]`
   * @param options - `tiling` (image models: `true` or `{ tileSize, overlap }` in latent pixels), `size` (crop),
   *   `limits`
   * @throws {@link InvalidInputError} for a wrong shape, type or non-finite values; {@link InvalidOptionError} for
   *   a bad `tiling` or `size`; {@link LimitExceededError} when the output is over `maxOutputPixels`, or over
   *   `maxUntiledPixels` without tiling (checked before the decoder runs)
   */
  async decode(z: TensorInput | DeviceLatent, options: DecodeOptions = {}): Promise<VaeTensor> {
    this.assertUsable();
    checkTilingOption(options.tiling);
    checkSizeOption(options.size);
    const limits = resolveLimits(options.limits, this.limits);
    if (z instanceof DeviceLatent) {
      const held = z.peek('z');
      if (!(held instanceof VaeTensor)) {
        checkShape(held.dims, this.manifest.latent.shape, 'z', 'latent', this.manifest.name, '');
        checkDecodeOutput(limits, this.manifest, held.dims, Boolean(options.tiling));
        if (!options.tiling && held.dims[0]! <= this.maxBatch) {
          const data = await this.decodeOnDevice(held);
          return options.size === undefined ? data : cropTo(data, options.size, this.manifest.data.layout);
        }
        // Tiles and batch splits are cut on the CPU.
        return this.decode(await held.download(), options);
      }
      return this.decode(held, options);
    }
    const latent = this.latentInput(z, 'z');
    checkBatchItems(limits, latent.dims, 'z');
    checkDecodeOutput(limits, this.manifest, latent.dims, Boolean(options.tiling));
    let data: VaeTensor;
    if (options.tiling) {
      const tiling = options.tiling === true ? {} : options.tiling;
      data = await tiledDecode((tile) => this.decodeData(tile), latent, { ...tiling, factor: this.spatialFactor('tiling'), layout: this.manifest.data.layout });
    } else data = await this.decodeData(latent);
    return options.size === undefined ? data : cropTo(data, options.size, this.manifest.data.layout);
  }

  /**
   * Converts data-space tensors (from `decode`, `reconstruct`, `generate`) to the runtime's images (Node: encoded
   * PNG, JPEG or WebP bytes).
   *
   * @throws {@link BackendError} `UNSUPPORTED` where the runtime writes no images
   */
  async toImages(data: TensorInput, options: W): Promise<O[]> {
    const codec = this.images;
    if (codec === null) throw new BackendError('UNSUPPORTED', `The backend ${this.backendName} writes no images; convert the tensor with tensorToPixels().`);
    return codec.write(this.dataInput(data, 'data'), this.manifest, options);
  }

  /** `decode` then {@link Vae.toImages}: latents to images. */
  async decodeImages(z: TensorInput, options: DecodeOptions & W): Promise<O[]> {
    return this.toImages(await this.decode(z, options), options);
  }

  /**
   * Draws latents: z = mean + std * eps from a posterior, or z ~ N(0, I) from the prior.
   *
   * @throws {@link InvalidOptionError} for a bad `n`, `seed` or `latentShape`; {@link LimitExceededError} over
   *   `maxDraws` (n x items) or, for image models, `maxOutputPixels`
   * @example
   * const z = vae.sample(await vae.encode(x), { seed: 1 });
   * const prior = vae.sample({ n: 16, seed: 1 });
   */
  sample(posterior: Posterior, options?: PosteriorSampleOptions): VaeTensor;
  sample(options?: PriorSampleOptions): VaeTensor;
  sample(first?: Posterior | PriorSampleOptions, options?: PosteriorSampleOptions): VaeTensor {
    if (first instanceof Posterior) {
      // The VAE's limits, unless the call brings its own (or options that the posterior refuses).
      const inherit = options === undefined || (typeof options === 'object' && options !== null && options.limits === undefined);
      return first.sample(inherit ? { ...options, limits: this.limits } : options);
    }
    const prior = first ?? {};
    const n = positiveInteger(prior.n, 'n', 1);
    const itemShape = this.latentItemShape(prior.latentShape);
    checkDraws(resolveLimits(prior.limits, this.limits), this.manifest, n, itemShape);
    return noise([n, ...itemShape], prior);
  }

  /**
   * Decodes draws from the prior.
   *
   * @param options - `n` (default 1), `seed`, `eps`, `latentShape`
   */
  async generate(options: PriorSampleOptions = {}): Promise<VaeTensor> {
    this.assertUsable();
    return this.decode(this.sample(options), options.limits === undefined ? {} : { limits: options.limits });
  }

  /**
   * Decodes points on the path between two latents.
   *
   * @param a - start latents, dims `[B, ...latent]`
   * @param b - end latents, same dims
   * @param options - `steps` (default 8, at least 2), `method` `'linear'` (default) or `'slerp'`
   * @returns data of dims `[steps * B, ...data]`, step-major
   */
  async interpolate(a: TensorInput, b: TensorInput, options: InterpolateOptions = {}): Promise<VaeTensor> {
    this.assertUsable();
    const start = this.latentInput(a, 'a');
    const steps = (options as InterpolateOptions | null)?.steps;
    // steps x B latents are allocated before the decode's own checks.
    if (typeof steps === 'number' && Number.isSafeInteger(steps)) checkLimit(this.limits, 'maxDraws', steps * start.dims[0]!, `"steps" x items (${steps} x ${start.dims[0]})`);
    return this.decode(interpolateLatents(start, this.latentInput(b, 'b'), options));
  }

  /**
   * decode(encode(x)): decodes the posterior mean, or a posterior sample when `sample` is true. Padded images are
   * cropped back to their size.
   *
   * @param x - data of dims `[N, ...data.shape]`, or images where the runtime reads them
   * @param options - `sample` (default false), `seed`, `eps`; image reading (`fit`, `alpha`, `background`);
   *   `tiling` (`true`, or `{ encode, decode }` tile settings)
   */
  async reconstruct(x: TensorInput | I | readonly I[], options: ReconstructOptions = {}): Promise<VaeTensor> {
    this.assertUsable();
    if (options.sample !== undefined && typeof options.sample !== 'boolean') {
      throw new InvalidOptionError('sample', `Expected "sample" to be true or false but received ${describe(options.sample)}.`);
    }
    checkTilingOption(options.tiling);
    const limits = resolveLimits(options.limits, this.limits);
    const callLimits = options.limits === undefined ? {} : { limits: options.limits };
    const tilingSettings = options.tiling === true ? { encode: true, decode: true } : options.tiling || {};
    checkTilingOption(tilingSettings.encode, 'tiling.encode');
    checkTilingOption(tilingSettings.decode, 'tiling.decode');
    // The decode's output is known from the input's size: refuse it before any encoding work.
    const beforeEncode = (dims: readonly number[]): void => {
      const factor = this.manifest.latent.spatialFactor ?? 1;
      if (this.manifest.data.layout === 'NCHW' && dims.length === 4) checkDecodeOutput(limits, this.manifest, [dims[0]!, 1, Math.ceil(dims[2]! / factor), Math.ceil(dims[3]! / factor)], Boolean(tilingSettings.decode));
    };
    if (tilingSettings.encode) {
      const streamed = await this.encodeStreamed(x, options, tilingSettings.encode, limits, beforeEncode);
      if (streamed !== null) {
        const z = options.sample ? streamed.posterior.sample({ seed: options.seed, eps: options.eps }) : streamed.posterior.mode();
        const crop = streamed.original === null ? {} : { size: streamed.original };
        return this.decode(z, { ...(tilingSettings.decode === undefined ? {} : { tiling: tilingSettings.decode }), ...crop, ...callLimits });
      }
    }
    const { tensor, original } = await this.prepare(x, options, 'pad', limits, !tilingSettings.encode);
    beforeEncode(tensor.dims);
    const size = original === null ? {} : { size: original };
    if (!options.sample && !options.tiling) {
      // The mean stays in device memory between the graphs where the backend keeps it there (WebGPU).
      const latent = await this.encodeOnDevice(tensor);
      if (latent !== null) {
        try {
          return await this.decode(latent, { ...size, ...callLimits });
        } finally {
          latent.dispose();
        }
      }
    }
    const posterior = await this.encodePrepared(tensor, tilingSettings.encode);
    const z = options.sample ? posterior.sample({ seed: options.seed, eps: options.eps }) : posterior.mode();
    return this.decode(z, { ...(tilingSettings.decode === undefined ? {} : { tiling: tilingSettings.decode }), ...size, ...callLimits });
  }

  /**
   * Per-item evaluation: ELBO, the IWAE log-likelihood estimate with k samples, E_q log p(x|z), KL, bits per
   * dimension, reconstruction error, and the batch's active units.
   *
   * @param x - data of dims `[N, ...data.shape]`
   * @param options - `samples` k (default 1), `seed` (default random, reported), `eps` of dims `[k, N, ...latent]`
   * @throws {@link InvalidInputError} for bad data (for a Bernoulli decoder: values outside [0, 1]);
   *   {@link LimitExceededError} over `maxSamples` (k) or `maxScoreRows` (k x N), before any work
   * @example
   * const { logLikelihood, bitsPerDim } = await vae.score(x, { samples: 1000, seed: 0 });
   */
  async score(x: TensorInput | I | readonly I[], options: ScoreOptions = {}): Promise<ScoreResult> {
    this.assertUsable();
    // No padding: padded pixels would enter the likelihood.
    const limits = resolveLimits(options.limits, this.limits);
    const samples = positiveInteger(options.samples, 'samples', 1);
    checkScoreWork(limits, samples, 1);
    const { tensor: data } = await this.prepare(x, options, 'refuse', limits, true);
    checkScoreWork(limits, samples, data.dims[0]!);
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
      throw new InvalidOptionError('onProgress', `Expected "onProgress" to be a function but received ${describe(options.onProgress)}.`);
    }
    const likelihood = this.manifest.likelihood;
    if (likelihood.kind === 'bernoulli') {
      const values = data.data;
      for (let i = 0; i < values.length; i++) {
        if (values[i]! < 0 || values[i]! > 1) {
          throw new InvalidInputError('INVALID_INPUT', 'x', `Model "${this.manifest.name}" has a Bernoulli decoder, so score() needs x in [0, 1], but x holds ${values[i]} at flat index ${i}.`);
        }
      }
    }
    const seed = options.eps === undefined ? (options.seed ?? randomSeed()) : null;
    if (seed !== null) assertSeed(seed);
    const posterior = await this.encodeTensor(data);
    const batch = posterior.batch;
    const latentSize = posterior.latentSize;
    const itemSize = data.size / batch;
    const notes: string[] = [];

    const meanDecoded = await this.decodeRows(posterior.mean);
    this.checkDecodedSize(meanDecoded, itemSize);
    const reconstructionError = meanSquaredError(data.data, toDataSpace(likelihood, meanDecoded.output), batch, itemSize);
    const activeUnits = countActiveUnits(posterior);
    if (activeUnits === null) notes.push('activeUnits needs at least 2 items; it is null for a batch of 1.');

    const empty = { samples, seed, reconstructionError, activeUnits };
    if (likelihood.kind === 'none') {
      notes.push(`Model "${this.manifest.name}" declares no likelihood (likelihood.kind "none"): elbo, logLikelihood, reconstruction and bitsPerDim are not defined; only reconstructionError and kl are reported.`);
      const kl = posterior.deterministic ? null : posterior.kl();
      if (kl === null) notes.push('The encoder is deterministic (std 0): the KL to N(0, I) is infinite, so kl is null.');
      return { ...empty, elbo: null, logLikelihood: null, reconstruction: null, kl, bitsPerDim: null, notes };
    }
    if (posterior.deterministic) {
      notes.push('The encoder is deterministic (std 0): KL, ELBO and the IWAE estimate are not defined; reconstruction is log p(x|z) at the encoded latent.');
      const reconstruction = new Float64Array(batch);
      for (let i = 0; i < batch; i++) reconstruction[i] = rowLogLikelihood(likelihood, data.data, i * itemSize, meanDecoded, i, itemSize);
      return { ...empty, elbo: null, logLikelihood: null, reconstruction, kl: null, bitsPerDim: null, notes };
    }

    // k * N rows in (sample, item) order; noise streamed in that order, so chunking never changes the draws.
    const rows = samples * batch;
    const latentDims = posterior.mean.dims.slice(1);
    let epsTensor: VaeTensor | null = null;
    if (options.eps !== undefined) epsTensor = noise([samples, batch, ...latentDims], options);
    const rng = seed === null ? null : new NormalV1(seed);
    const logPx = new Float64Array(rows);
    const logWeight = new Float64Array(rows);
    const mean = posterior.mean.data;
    const logvar = posterior.logvar.data;
    const std = posterior.std.data;
    const chunkRows = Math.min(rows, this.maxBatch === Infinity ? rows : this.maxBatch);
    const epsChunk = new Float32Array(chunkRows * latentSize);
    const z = new Float32Array(chunkRows * latentSize);
    // log q(z|x) at z = mean + std * eps is sum(-eps^2/2 - logvar/2) - L log(2 pi)/2: exact, where recomputing
    // (z - mean) / std from the float32 z would lose everything when std is tiny (logvar near -30).
    const logvarSums = new Float64Array(batch);
    for (let i = 0; i < batch; i++) {
      let sum = 0;
      for (let j = i * latentSize; j < (i + 1) * latentSize; j++) sum += logvar[j]!;
      logvarSums[i] = sum;
    }
    for (let start = 0; start < rows; start += chunkRows) {
      const count = Math.min(chunkRows, rows - start);
      const eps = epsChunk.subarray(0, count * latentSize);
      const chunk = z.subarray(0, count * latentSize);
      if (epsTensor) eps.set(epsTensor.data.subarray(start * latentSize, (start + count) * latentSize));
      else rng!.fill(eps);
      for (let r = 0; r < count; r++) {
        const item = (start + r) % batch;
        const base = item * latentSize;
        const offset = r * latentSize;
        for (let j = 0; j < latentSize; j++) chunk[offset + j] = mean[base + j]! + Math.fround(std[base + j]! * eps[offset + j]!);
      }
      const decoded = await this.decodeRows(new VaeTensor(chunk, [count, ...latentDims]));
      this.checkDecodedSize(decoded, itemSize);
      for (let r = 0; r < count; r++) {
        const row = start + r;
        const item = row % batch;
        const lpx = rowLogLikelihood(likelihood, data.data, item * itemSize, decoded, r, itemSize);
        const lpz = standardNormalLogDensity(chunk, r * latentSize, latentSize);
        const lqz = standardNormalLogDensity(eps, r * latentSize, latentSize) - 0.5 * logvarSums[item]!;
        logPx[row] = lpx;
        logWeight[row] = lpx + lpz - lqz;
      }
      options.onProgress?.(start + count, rows);
    }
    const kl = posterior.kl();
    const reconstruction = new Float64Array(batch);
    const elbo = new Float64Array(batch);
    const logLikelihood = new Float64Array(batch);
    const bitsPerDim = new Float64Array(batch);
    const weights = new Float64Array(samples);
    const logK = Math.log(samples);
    for (let i = 0; i < batch; i++) {
      let sum = 0;
      for (let s = 0; s < samples; s++) {
        sum += logPx[s * batch + i]!;
        weights[s] = logWeight[s * batch + i]!;
      }
      reconstruction[i] = sum / samples;
      elbo[i] = reconstruction[i]! - kl[i]!;
      logLikelihood[i] = logSumExp(weights) - logK;
      bitsPerDim[i] = -logLikelihood[i]! / (itemSize * Math.LN2);
    }
    if (likelihood.kind === 'gaussian') {
      notes.push('bitsPerDim is of the Gaussian density in the data space, without a dequantisation correction.');
    }
    return { ...empty, elbo, logLikelihood, reconstruction, kl, bitsPerDim, notes };
  }

  /** Raw latents -> the diffusion model's latent space, `(z - shiftFactor) * scalingFactor` with the manifest's factors. */
  toDiffusionLatent(z: TensorInput): VaeTensor {
    return toDiffusionLatent(this.latentInput(z, 'z'), this.manifest.latent);
  }

  /** Diffusion latents -> raw latents, `latent / scalingFactor + shiftFactor`; the inverse of {@link Vae.toDiffusionLatent}. */
  fromDiffusionLatent(latent: TensorInput): VaeTensor {
    return fromDiffusionLatent(this.latentInput(latent, 'latent'), this.manifest.latent);
  }

  /** Releases both graphs. Later calls throw `DISPOSED`; a second `dispose()` does nothing. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }

  /** `await using vae = await loadVae(...)` disposes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private assertUsable(): void {
    if (this.disposed) throw new BackendError('DISPOSED', `The VAE "${this.manifest.name}" was disposed; load it again with loadVae().`);
  }

  /**
   * Data for the graphs from tensors or images: images read by the runtime's codec, shapes and values checked, and
   * image-model inputs padded to the spatial factor (`'pad'`) or refused when they are not multiples (`'refuse'`).
   * Synchronous for tensors (the hot path), a promise only for images.
   */
  private prepare(x: unknown, options: ImageReadOptions, padding: 'pad' | 'refuse', limits: ResolvedLimits, untiled: boolean): Prepared | Promise<Prepared> {
    const fit = options.fit ?? 'pad';
    if (!Object.hasOwn(IMAGE_FITS, fit)) throw new InvalidOptionError('fit', `Expected "fit" to be one of ${Object.keys(IMAGE_FITS).map((k) => `"${k}"`).join(', ')} but received ${describe(fit)}.`);
    if (options.alpha !== undefined && !Object.hasOwn(ALPHA_MODES, options.alpha)) {
      throw new InvalidOptionError('alpha', `Expected "alpha" to be one of ${Object.keys(ALPHA_MODES).map((k) => `"${k}"`).join(', ')} but received ${describe(options.alpha)}.`);
    }
    const codec = this.images;
    if (codec !== null) {
      const list = Array.isArray(x) ? (x as unknown[]) : [x];
      if (list.length > 0 && list.every((item) => codec.isImage(item))) {
        const multiple = this.manifest.latent.spatialFactor ?? 1;
        checkLimit(limits, 'maxBatchItems', list.length, 'The list of images "x"');
        return codec.read(list as I[], this.manifest, { ...options, fit, multiple, limits, untiled }).then((tensor) => this.checkedFit(this.dataInput(tensor, 'x'), padding, limits, untiled));
      }
    }
    if (fit !== 'pad') throw new InvalidOptionError('fit', `"fit: '${fit}'" applies to images; tensors are padded ("fit: 'pad'") or must already fit.`);
    return this.checkedFit(this.dataInput(x as TensorInput, 'x'), padding, limits, untiled);
  }

  private checkedFit(tensor: VaeTensor, padding: 'pad' | 'refuse', limits: ResolvedLimits, untiled: boolean): Prepared {
    checkBatchItems(limits, tensor.dims, 'x');
    const prepared = this.fitToFactor(tensor, padding);
    if (untiled) checkUntiledInput(limits, this.manifest, prepared.tensor.dims);
    return prepared;
  }

  /**
   * A tiled encode of images read region by region, where the codec can (`openTiles`); `null` otherwise (tensors,
   * or a codec that reads images whole).
   */
  private async encodeStreamed(x: unknown, options: ImageReadOptions, tiling: EncodeTiling, limits: ResolvedLimits, beforeEncode?: (dims: readonly number[]) => void): Promise<{ posterior: Posterior; original: SpatialSize | null } | null> {
    const codec = this.images;
    if (codec === null || codec.openTiles === undefined || this.manifest.data.layout !== 'NCHW') return null;
    const list = Array.isArray(x) ? (x as unknown[]) : [x];
    if (list.length === 0 || !list.every((item) => codec.isImage(item))) return null;
    const fit = options.fit ?? 'pad';
    if (!Object.hasOwn(IMAGE_FITS, fit)) throw new InvalidOptionError('fit', `Expected "fit" to be one of ${Object.keys(IMAGE_FITS).map((k) => `"${k}"`).join(', ')} but received ${describe(fit)}.`);
    checkLimit(limits, 'maxBatchItems', list.length, 'The list of images "x"');
    const source = await codec.openTiles(list as I[], this.manifest, { ...options, fit, multiple: this.spatialFactor('tiling'), limits });
    try {
      beforeEncode?.(source.dims);
      return { posterior: await this.encodeTiled(source, tiling), original: source.original };
    } finally {
      await source.close();
    }
  }

  private fitToFactor(tensor: VaeTensor, padding: 'pad' | 'refuse'): Prepared {
    const factor = this.manifest.latent.spatialFactor ?? 1;
    const layout = this.manifest.data.layout;
    if (factor === 1 || layout === 'flat') return { tensor, original: null };
    const padded = padToMultiple(tensor, factor, layout);
    if (padded.tensor === tensor) return { tensor, original: null };
    if (padding === 'refuse') {
      const { height, width } = padded.original;
      throw new InvalidInputError('SHAPE_MISMATCH', 'x', `Model "${this.manifest.name}" needs heights and widths that are multiples of ${factor} here, but "x" is ${width}x${height}; padding would change the likelihood, so crop or resize it (images: fit "crop" or "resize").`);
    }
    return { tensor: padded.tensor, original: padded.original };
  }

  private spatialFactor(option: string): number {
    const factor = this.manifest.latent.spatialFactor;
    if (factor === undefined || this.manifest.data.layout !== 'NCHW') {
      throw new InvalidOptionError(option, `"${option}" needs an image model with an NCHW layout and latent.spatialFactor in its manifest; model "${this.manifest.name}" has layout "${this.manifest.data.layout}"${factor === undefined ? ' and no spatialFactor' : ''}.`);
    }
    return factor;
  }

  private encodePrepared(tensor: VaeTensor, tiling: EncodeTiling | undefined): Promise<Posterior> {
    return tiling ? this.encodeTiled(tensor, tiling) : this.encodeTensor(tensor);
  }

  private async encodeTiled(tensor: VaeTensor | TileSource, tiling: EncodeTiling): Promise<Posterior> {
    const settings = tiling === true ? {} : tiling;
    const { mean, logvar } = await tiledEncode(
      async (tile) => {
        const q = await this.encodeTensor(tile);
        return { mean: q.mean, logvar: q.deterministic ? null : q.logvar };
      },
      tensor,
      { ...settings, factor: this.spatialFactor('tiling'), layout: this.manifest.data.layout },
    );
    return new Posterior(mean, logvar);
  }

  private async decodeData(latent: VaeTensor): Promise<VaeTensor> {
    const decoded = await this.decodeRows(latent);
    return new VaeTensor(toDataSpace(this.manifest.likelihood, decoded.output), decoded.dims);
  }

  private dataInput(x: TensorInput, argument: string): VaeTensor {
    const tensor = toTensor(x, argument);
    const image = this.manifest.data.image;
    const hint = image && this.manifest.data.layout === 'flat' ? `; flatten each ${image.height}x${image.width} image to ${image.channels * image.height * image.width} values` : '';
    checkShape(tensor.dims, this.manifest.data.shape, argument, 'data', this.manifest.name, hint);
    assertFinite(tensor, argument);
    return tensor;
  }

  private latentInput(z: TensorInput, argument: string): VaeTensor {
    const tensor = toTensor(z, argument);
    checkShape(tensor.dims, this.manifest.latent.shape, argument, 'latent', this.manifest.name, '');
    assertFinite(tensor, argument);
    return tensor;
  }

  private latentItemShape(given: readonly number[] | undefined): number[] {
    const shape = this.manifest.latent.shape;
    if (given === undefined) {
      if (shape.includes(null)) {
        throw new InvalidOptionError('latentShape', `Model "${this.manifest.name}" leaves latent sizes open (${describe([...shape])}); pass "latentShape" with the sizes to draw.`);
      }
      return shape as number[];
    }
    const ok = Array.isArray(given) && given.length === shape.length && given.every((d, i) => Number.isSafeInteger(d) && d >= 1 && (shape[i] === null || shape[i] === d));
    if (!ok) throw new InvalidOptionError('latentShape', `Expected "latentShape" to fit the manifest's latent shape ${describe([...shape])} but received ${describe(given)}.`);
    return [...given];
  }

  private runChunks(session: BackendSession, graph: 'encoder' | 'decoder', input: string, outputs: readonly string[], tensor: VaeTensor): Promise<VaeTensor[]> {
    const batch = tensor.dims[0]!;
    // One run: no extra async frame (this sits on every call's path).
    if (batch <= this.maxBatch) return this.runOnce(session, graph, input, outputs, tensor);
    return this.runSplit(session, graph, input, outputs, tensor);
  }

  private async runSplit(session: BackendSession, graph: 'encoder' | 'decoder', input: string, outputs: readonly string[], tensor: VaeTensor): Promise<VaeTensor[]> {
    const batch = tensor.dims[0]!;
    const parts: VaeTensor[][] = [];
    for (let start = 0; start < batch; start += this.maxBatch) {
      parts.push(await this.runOnce(session, graph, input, outputs, tensor.slice(start, Math.min(batch, start + this.maxBatch))));
    }
    return outputs.map((_, k) => concatBatches(parts.map((p) => p[k]!)));
  }

  private runOnce(session: BackendSession, graph: 'encoder' | 'decoder', input: string, outputs: readonly string[], feed: VaeTensor): Promise<VaeTensor[]> {
    let pending: Promise<Record<string, VaeTensor>>;
    try {
      pending = session.run({ [input]: feed }, outputs);
    } catch (error) {
      pending = Promise.reject(error);
    }
    return pending.then(
      (result) => this.checkOutputs(result, graph, outputs, feed.dims[0]!),
      (error: unknown) => this.runFailed(error, graph, feed.dims),
    );
  }

  private runFailed(error: unknown, graph: 'encoder' | 'decoder', dims: readonly number[]): never {
    if (VaeError.isInstance(error)) throw error;
    throw new BackendError('INFERENCE_FAILED', `The ${graph} of "${this.manifest.name}" failed on a batch of dims ${describe([...dims])}: ${(error as Error)?.message ?? error}`, { cause: error });
  }

  /**
   * The posterior mean left in device memory, or `null` where the backend keeps nothing there (then the caller
   * takes the CPU path) or the batch would be split.
   */
  private async encodeOnDevice(x: VaeTensor): Promise<DeviceLatent | null> {
    const encoder = this.encoder;
    if (!encoder.runDevice || !this.decoder.runDevice || x.dims[0]! > this.maxBatch) return null;
    const output = this.manifest.encoder.output;
    const name = output.kind === 'gaussian' ? output.mean : output.name;
    let result: Record<string, VaeTensor | DeviceTensor>;
    try {
      result = await encoder.runDevice({ [this.manifest.encoder.input]: x }, [name]);
    } catch (error) {
      this.runFailed(error, 'encoder', x.dims);
    }
    const out = result[name];
    if (out === undefined) throw new ModelMismatchError('encoder', `The encoder gave no output "${name}".`);
    if (out instanceof VaeTensor) {
      // Kept in CPU memory after all: the same latent, from CPU memory.
      const mean = output.kind === 'moments' ? splitMoments(out).mean : out;
      this.checkLatentDims(mean.dims, x.dims[0]!);
      return new DeviceLatent(mean);
    }
    let mean: DeviceTensor = out;
    try {
      if (output.kind === 'moments') mean = await out.sliceChannels(0, momentsHalf(out.dims));
      this.checkLatentDims(mean.dims, x.dims[0]!);
    } catch (error) {
      if (mean !== out) mean.dispose();
      out.dispose();
      throw error;
    }
    if (mean !== out) out.dispose();
    return new DeviceLatent(mean);
  }

  private checkLatentDims(dims: readonly number[], rows: number): void {
    const latent = this.manifest.latent.shape;
    if (dims[0] !== rows || dims.length !== latent.length + 1 || latent.some((d, i) => d !== null && d !== dims[i + 1])) {
      throw new ModelMismatchError('encoder', `The encoder produced a latent of dims ${describe([...dims])} for a batch of ${rows} but the manifest's latent shape is ${describe([...latent])}.`);
    }
  }

  /** Decodes latents in device memory; the decoder's outputs come back to the CPU. */
  private async decodeOnDevice(z: DeviceTensor): Promise<VaeTensor> {
    const names = this.decoderOutputs;
    let result: Record<string, VaeTensor | DeviceTensor>;
    try {
      result = await this.decoder.runDevice!({ [this.manifest.decoder.input]: z }, names);
    } catch (error) {
      this.runFailed(error, 'decoder', z.dims);
    }
    const cpu: Record<string, VaeTensor> = {};
    for (const name of names) {
      const value = result[name];
      if (value === undefined || value instanceof VaeTensor) {
        if (value !== undefined) cpu[name] = value;
        continue;
      }
      try {
        cpu[name] = await value.download();
      } finally {
        value.dispose();
      }
    }
    const decoded = this.decodedRows(this.checkOutputs(cpu, 'decoder', names, z.dims[0]!));
    return new VaeTensor(toDataSpace(this.manifest.likelihood, decoded.output), decoded.dims);
  }

  private checkOutputs(result: Record<string, VaeTensor>, graph: 'encoder' | 'decoder', outputs: readonly string[], rows: number): VaeTensor[] {
    return outputs.map((name) => {
      const out = result[name];
      if (!out || out.dims[0] !== rows) {
        throw new ModelMismatchError(graph, `The ${graph} output "${name}" has dims ${describe(out ? [...out.dims] : undefined)} for a batch of ${rows}; expected the batch axis first.`);
      }
      return out;
    });
  }

  private async encodeTensor(x: VaeTensor): Promise<Posterior> {
    const output = this.manifest.encoder.output;
    const results = await this.runChunks(this.encoder, 'encoder', this.manifest.encoder.input, this.encoderOutputs, x);
    let posterior: Posterior;
    if (output.kind === 'gaussian') posterior = new Posterior(results[0]!, results[1]!);
    else if (output.kind === 'deterministic') posterior = new Posterior(results[0]!, null);
    else posterior = splitMoments(results[0]!);
    const dims = posterior.mean.dims;
    this.checkLatentDims(dims, x.dims[0]!);
    if (output.kind === 'gaussian' && results[1]!.dims.some((d, i) => d !== dims[i])) {
      throw new ModelMismatchError('encoder', `The encoder's mean has dims ${describe([...dims])} but its logvar has ${describe([...results[1]!.dims])}.`);
    }
    return posterior;
  }

  private async decodeRows(z: VaeTensor): Promise<DecoderRows & { dims: readonly number[] }> {
    return this.decodedRows(await this.runChunks(this.decoder, 'decoder', this.manifest.decoder.input, this.decoderOutputs, z));
  }

  private decodedRows(results: readonly VaeTensor[]): DecoderRows & { dims: readonly number[] } {
    const names = this.decoderOutputs;
    const output = results[0]!;
    const rows = output.dims[0]!;
    if (names.length === 1) return { output: output.data, rows, dims: output.dims };
    const logScale = results[1]!;
    if (!logScaleBroadcasts(logScale.size, rows, output.size / rows)) {
      throw new ModelMismatchError('decoder', `The decoder's log-scale output "${names[1]}" has dims ${describe([...logScale.dims])}, which do not broadcast against the data ${describe([...output.dims])}.`);
    }
    return { output: output.data, logScale: logScale.data, rows, dims: output.dims };
  }

  private checkDecodedSize(decoded: DecoderRows, itemSize: number): void {
    if (decoded.output.length !== decoded.rows * itemSize) {
      throw new ModelMismatchError('decoder', `The decoder produced ${decoded.output.length / decoded.rows} values per item but the data has ${itemSize}.`);
    }
  }
}

/** C, for a moments output of 2C channels on axis 1 (mean then logvar). */
function momentsHalf(dims: readonly number[]): number {
  if (dims.length < 2 || dims[1]! % 2 !== 0) {
    throw new ModelMismatchError('encoder', `The encoder's moments output has dims ${describe([...dims])}; expected 2C channels on axis 1 (mean then logvar).`);
  }
  return dims[1]! / 2;
}

function splitMoments(moments: VaeTensor): Posterior {
  const dims = moments.dims;
  const half = momentsHalf(dims);
  const inner = sizeOf(dims.slice(2));
  const batch = dims[0]!;
  const mean = new Float32Array(batch * half * inner);
  const logvar = new Float32Array(batch * half * inner);
  const block = half * inner;
  for (let b = 0; b < batch; b++) {
    mean.set(moments.data.subarray(b * 2 * block, b * 2 * block + block), b * block);
    logvar.set(moments.data.subarray(b * 2 * block + block, (b + 1) * 2 * block), b * block);
  }
  const latentDims = [batch, half, ...dims.slice(2)];
  return new Posterior(new VaeTensor(mean, latentDims), new VaeTensor(logvar, latentDims));
}

function meanSquaredError(x: Float32Array, y: Float32Array, batch: number, size: number): Float64Array {
  const out = new Float64Array(batch);
  for (let i = 0; i < batch; i++) {
    let sum = 0;
    for (let j = i * size; j < (i + 1) * size; j++) {
      const d = x[j]! - y[j]!;
      sum += d * d;
    }
    out[i] = sum / size;
  }
  return out;
}

function countActiveUnits(posterior: Posterior): number | null {
  const batch = posterior.batch;
  if (batch < 2) return null;
  const size = posterior.latentSize;
  const mean = posterior.mean.data;
  let active = 0;
  for (let j = 0; j < size; j++) {
    let sum = 0;
    for (let i = 0; i < batch; i++) sum += mean[i * size + j]!;
    const average = sum / batch;
    let variance = 0;
    for (let i = 0; i < batch; i++) {
      const d = mean[i * size + j]! - average;
      variance += d * d;
    }
    if (variance / batch > ACTIVE_UNIT_THRESHOLD) active++;
  }
  return active;
}
