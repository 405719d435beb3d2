import type { Backend, BackendInfo, BackendSession } from '../backend.js';
import type { Batching } from '../batching/index.js';
import type { AbortSignalLike, CallOptions } from '../cancellation.js';
import { startCall } from '../cancellation.js';
import { BackendError, InvalidOptionError } from '../errors.js';
import type { ImageCodec, ImageReadOptions } from '../image/codec.js';
import { checkLimit, resolveLimits } from '../limits.js';
import type { ResolvedLimits } from '../limits.js';
import type { Detection } from '../manifest/detect.js';
import { PRESETS } from '../manifest/presets.js';
import type { Manifest } from '../manifest/types.js';
import { cropTo } from '../tensor/spatial.js';
import type { SpatialSize } from '../tensor/spatial.js';
import { VaeTensor, sizeOf } from '../tensor/tensor.js';
import type { TensorInput } from '../tensor/tensor.js';
import { tiledDecode, tiledEncode } from '../tiling/tiled.js';
import type { TileProgress, TilingPreset } from '../tiling/tiled.js';
import type { TileSource } from '../tiling/source.js';
import { booleanOption, functionOption, optionsObject, positiveIntegerOption } from '../validate.js';
import { DeviceLatent } from './device-latent.js';
import { GraphRunner } from './graph-runner.js';
import type { GraphRole } from './lazy-session.js';
import type { RowsDone } from './graph-runner.js';
import { checkShape, dataInput, latentInput, openImageTiles, prepareInput, spatialFactor } from './inputs.js';
import { checkBatchItems, checkDecodeOutput, checkScoreWork, checkSizeOption, checkTilingOption } from './limit-checks.js';
import { interpolateLatents } from './interpolate.js';
import { Lifecycle } from './lifecycle.js';
import type { InterpolateOptions } from './interpolate.js';
import { fromDiffusionLatent, toDiffusionLatent } from './latent-scaling.js';
import { Posterior } from './posterior.js';
import type { PosteriorSampleOptions } from './posterior.js';
import { sampleLatents } from './sample.js';
import { scoreData } from './scoring.js';
import type {
  DecodeOptions,
  DecodeTiling,
  EncodeOptions,
  EncodeTiling,
  GenerateOptions,
  PriorSampleOptions,
  ProgressCallback,
  ReconstructOptions,
  ScoreOptions,
  ScoreResult,
} from './types.js';

/** Where one stage of a call sits in its progress (rows before it, and the call's total rows), and its signal. */
interface Stage {
  readonly signal: AbortSignalLike | undefined;
  readonly onProgress: ProgressCallback | undefined;
  readonly offset: number;
  readonly total: number;
}

function rowsDone(stage: Stage): RowsDone | undefined {
  const { onProgress, offset, total } = stage;
  if (onProgress === undefined) return undefined;
  let done = 0;
  return (rows) => {
    done += rows;
    onProgress(offset + done, total);
  };
}

function tilesDone(stage: Stage, rows: number): TileProgress | undefined {
  const { onProgress, offset, total } = stage;
  return onProgress && ((done, tiles) => onProgress(offset + (done * rows) / tiles, total));
}

/**
 * A VAE: an encoder and a decoder graph described by one manifest. Made by `loadVae` of a runtime package.
 *
 * @typeParam I - image inputs the runtime reads (Node: paths and encoded bytes); `unknown` where not known
 * @typeParam O - images it writes (Node: encoded bytes)
 * @typeParam W - its image write options
 * @example
 * const vae = await loadVae('models/mnist-vae');
 * const q = await vae.encode(x);            // posterior
 * const xr = await vae.reconstruct(x);      // decode(mean)
 * const s = await vae.score(x, { samples: 100, seed: 0 });
 * await vae.dispose();
 */
export class Vae<I = unknown, O = unknown, W = unknown> {
  /** The validated manifest. */
  readonly manifest: Manifest;
  /** Largest batch per graph run. */
  readonly maxBatch: number;
  /** How the manifest was detected, for an export loaded without `vae.json`; `null` when a manifest was given. */
  readonly detection: Detection | null;
  /** The resource limits of its calls (see `LIMITS`). */
  readonly limits: ResolvedLimits;
  /** The micro-batching settings, counters and events; `null` without the `batching` option. */
  readonly batching: Batching | null;
  private readonly images: ImageCodec<I, O, W> | null;
  private readonly graphs: GraphRunner;
  private readonly backend: Pick<Backend, 'name' | 'info'>;
  private readonly lifecycle: Lifecycle;

  /** Use `loadVae` or {@link createVae} (kept in the declarations so that `new Vae()` without arguments does not type-check). */
  constructor(
    manifest: Manifest,
    encoder: BackendSession | null,
    decoder: BackendSession | null,
    backend: Pick<Backend, 'name' | 'info'>,
    maxBatch: number,
    detection: Detection | null = null,
    images: ImageCodec<I, O, W> | null = null,
    batching: Batching | null = null,
    limits: ResolvedLimits = resolveLimits(undefined),
  ) {
    this.manifest = manifest;
    this.batching = batching;
    this.limits = limits;
    this.backend = backend;
    this.detection = detection;
    this.images = images;
    this.maxBatch = maxBatch;
    this.lifecycle = new Lifecycle(manifest.name);
    this.graphs = new GraphRunner(manifest, this.lifecycle.guard(encoder), this.lifecycle.guard(decoder), maxBatch);
  }

  /**
   * Which backend runs the graphs, e.g. `onnxruntime-node (cpu)`; read when asked, since a backend decides its device
   * (an `'auto'` choice, a CUDA fallback) when a session is created, and sessions may be created by first use.
   */
  get backendName(): string {
    return this.backend.name;
  }

  /**
   * What the graphs run on and why: the device asked for and the one chosen, the precision, the reason, and whether
   * the backend fell back (read when asked, like {@link Vae.backendName}; see {@link BackendInfo}).
   */
  get backendInfo(): BackendInfo {
    const info = this.backend.info ?? {
      name: this.backend.name,
      requestedDevice: 'unknown',
      device: 'unknown',
      precision: 'float32',
      reason: 'the backend does not say',
      fellBack: false,
    };
    return Object.freeze({ ...info });
  }

  /**
   * Whether the model has this graph: a decoder-only model (a diffusion pipeline's `vae_decoder/`) has no encoder, an
   * encoder-only one no decoder. Methods that need a missing graph throw {@link GraphMissingError} `GRAPH_MISSING`.
   *
   * @example
   * if (!vae.has('encoder')) console.log('decode-only model');
   */
  has(graph: GraphRole): boolean {
    return this.graphs.has(graph);
  }

  /** Elements of one data item, when the manifest fixes them. */
  get dataSize(): number | null {
    return this.manifest.data.shape.includes(null) ? null : sizeOf(this.manifest.data.shape as number[]);
  }

  /**
   * Encodes data into the approximate posterior q(z|x).
   *
   * @param x - data of dims `[N, ...data.shape]` in the manifest's range, float32, finite; or, where the runtime
   *   reads images (Node: file paths and encoded bytes), an image or a list of images of one size; a tensor's values
   *   are copied when the call is made, so the caller may reuse its buffer at once
   * @param options - image reading (`fit` `'pad'` default, `'resize'`, `'crop'`; `alpha`; `background`),
   *   `tiling` (image models: `true` or `{ tileSize, overlap }` in image pixels), `onProgress(done, total)` (rows)
   * @returns the posterior; an image model pads inputs whose size is not a multiple of `latent.spatialFactor`, so
   *   its latent covers the padded size (`reconstruct` crops back)
   * @throws {@link InvalidInputError} `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `NON_FINITE_INPUT`, `INVALID_INPUT`;
   *   {@link LimitExceededError} over `maxInputPixels`, `maxUntiledPixels` (without tiling) or `maxBatchItems`
   *   (`limits` overrides the VAE's for this call). With tiling, Node reads images region by region.
   *   {@link GraphMissingError} `GRAPH_MISSING` for a model without an encoder
   *   {@link RequestError} `ABORTED`/`TIMEOUT` (checked before each graph run: batches over `maxBatch`, tiles);
   *   {@link BackendError} `DISPOSED` when the VAE is (or gets) disposed
   * @example
   * const q = await vae.encode({ data: pixels, dims: [1, 784] });
   * q.mean; q.std; q.kl(); q.sample({ seed: 0 });
   */
  async encode(x: TensorInput | I | readonly I[], options: EncodeOptions = {}): Promise<Posterior> {
    optionsObject(options, 'vae.encode()');
    this.assertUsable('encode', 'encoder');
    const onProgress = functionOption(options.onProgress, 'onProgress');
    checkTilingOption(options.tiling);
    const limits = resolveLimits(options.limits, this.limits);
    const call = startCall(options);
    try {
      if (options.tiling) {
        const streamed = await this.encodeStreamed(x, options, options.tiling, limits, { signal: call.signal, onProgress });
        if (streamed !== null) return streamed.posterior;
      }
      const { tensor } = await this.prepare(x, options, 'pad', limits, !options.tiling);
      const rows = tensor.dims[0]!;
      return await this.encodePrepared(tensor, options.tiling, { signal: call.signal, onProgress, offset: 0, total: rows });
    } finally {
      call.end();
    }
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
    optionsObject(options, 'vae.encodeToDevice()');
    this.assertUsable('encodeToDevice', 'encoder');
    if ((options as EncodeOptions).tiling)
      throw new InvalidOptionError('tiling', 'encodeToDevice does not tile; use encode(x, { tiling }) and decode the mean.');
    const { tensor } = await this.prepare(x, options, 'pad', resolveLimits((options as EncodeOptions).limits, this.limits), true);
    return (await this.graphs.encodeOnDevice(tensor)) ?? new DeviceLatent((await this.graphs.encode(tensor)).mean);
  }

  /**
   * Decodes latents into the data space (probabilities for a Bernoulli-logits decoder).
   *
   * @param z - latents of dims `[N, ...latent.shape]` (copied when the call is made), or a {@link DeviceLatent} from
   *   {@link Vae.encodeToDevice}
   * @param options - `tiling` (image models: `true` or `{ tileSize, overlap }` in latent pixels), `size` (crop),
   *   `onProgress(done, total)` (rows), `limits`
   * @throws {@link InvalidInputError} for a wrong shape, type or non-finite values; {@link InvalidOptionError} for
   *   a bad `tiling` or `size`; {@link LimitExceededError} when the output is over `maxOutputPixels`, or over
   *   `maxUntiledPixels` without tiling (checked before the decoder runs); {@link GraphMissingError}
   *   `GRAPH_MISSING` for a model without a decoder; {@link RequestError} `ABORTED`/`TIMEOUT` (checked before each
   *   graph run: batches over `maxBatch`, tiles); {@link BackendError} `DISPOSED`
   */
  async decode(z: TensorInput | DeviceLatent, options: DecodeOptions = {}): Promise<VaeTensor> {
    optionsObject(options, 'vae.decode()');
    this.assertUsable('decode', 'decoder');
    const onProgress = functionOption(options.onProgress, 'onProgress');
    checkTilingOption(options.tiling);
    checkSizeOption(options.size);
    const rows = z instanceof DeviceLatent ? z.dims[0]! : undefined;
    const limits = resolveLimits(options.limits, this.limits);
    const call = startCall(options);
    try {
      return await this.decodeStage(z, options, { signal: call.signal, onProgress, offset: 0, total: rows ?? this.rowsOf(z) }, limits);
    } finally {
      call.end();
    }
  }

  /**
   * Converts data-space tensors (from `decode`, `reconstruct`, `generate`) to the runtime's images (Node: encoded
   * PNG, JPEG or WebP bytes).
   *
   * @param options - the runtime's write options (Node: `format` `'png'` default, `'jpeg'`, `'webp'`; `quality`);
   *   absent: the runtime's defaults
   * @throws {@link BackendError} `UNSUPPORTED` where the runtime writes no images
   * @example
   * const [png] = await vae.toImages(await vae.generate({ seed: 0 }));
   */
  async toImages(data: TensorInput, options?: W): Promise<O[]> {
    optionsObject(options, 'vae.toImages()');
    const codec = this.images;
    if (codec === null) throw new BackendError('UNSUPPORTED', `The backend ${this.backendName} writes no images; convert the tensor with tensorToPixels().`);
    return codec.write(dataInput(this.manifest, data, 'data'), this.manifest, options);
  }

  /**
   * `decode` then {@link Vae.toImages}: latents to images.
   *
   * @param options - those of {@link Vae.decode} and of {@link Vae.toImages}; absent: the defaults of both
   */
  async decodeImages(z: TensorInput, options?: DecodeOptions & W): Promise<O[]> {
    optionsObject(options, 'vae.decodeImages()');
    this.assertUsable('decodeImages', 'decoder');
    return this.toImages(await this.decode(z, options), options);
  }

  /**
   * Draws latents: z = mean + std * eps from a posterior, or z ~ N(0, I) from the prior.
   *
   * @param options - `seed`, `eps` or `noise` (a shared stream from {@link createNoise}); `n`; for the prior,
   *   `latentShape` where the manifest leaves sizes open
   * @throws {@link InvalidOptionError} for a bad `n`, `seed`, `noise` or `latentShape`; {@link LimitExceededError}
   *   over `maxDraws` (n x items) or, for image models, `maxOutputPixels`
   * @example
   * const z = vae.sample(await vae.encode(x), { seed: 1 });
   * const prior = vae.sample({ n: 16, seed: 1 });
   */
  sample(posterior: Posterior, options?: PosteriorSampleOptions): VaeTensor;
  sample(options?: PriorSampleOptions): VaeTensor;
  sample(first?: Posterior | PriorSampleOptions, options?: PosteriorSampleOptions): VaeTensor {
    if (first instanceof Posterior) optionsObject(options, 'vae.sample(posterior, options)');
    else optionsObject(first, 'vae.sample()');
    return sampleLatents(this.manifest, first, options, this.limits);
  }

  /**
   * Decodes draws from the prior.
   *
   * @param options - `n` (default 1), `seed`, `eps`, `noise`, `latentShape`, `onProgress(done, total)` (rows)
   */
  async generate(options: GenerateOptions = {}): Promise<VaeTensor> {
    optionsObject(options, 'vae.generate()');
    this.assertUsable('generate', 'decoder');
    return this.decode(this.sample(options), {
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
  }

  /**
   * Decodes points on the path between two latents.
   *
   * @param a - start latents, dims `[B, ...latent]`
   * @param b - end latents, same dims
   * @param options - `steps` (default 8, at least 2), `method` `'linear'` (default) or `'slerp'`
   * @returns data of dims `[steps * B, ...data]`, step-major
   */
  async interpolate(a: TensorInput, b: TensorInput, options: InterpolateOptions & CallOptions = {}): Promise<VaeTensor> {
    optionsObject(options, 'vae.interpolate()');
    this.assertUsable('interpolate', 'decoder');
    const start = latentInput(this.manifest, a, 'a');
    const steps = (options as InterpolateOptions | null)?.steps;
    // steps x B latents are allocated before the decode's own checks.
    if (typeof steps === 'number' && Number.isSafeInteger(steps))
      checkLimit(this.limits, 'maxDraws', steps * start.dims[0]!, `"steps" x items (${steps} x ${start.dims[0]})`);
    return this.decode(interpolateLatents(start, latentInput(this.manifest, b, 'b'), options), { signal: options.signal, timeoutMs: options.timeoutMs });
  }

  /**
   * decode(encode(x)): decodes the posterior mean, or a posterior sample when `sample` is true. Padded images are
   * cropped back to their size.
   *
   * @param x - data of dims `[N, ...data.shape]`, or images where the runtime reads them
   * @param options - `sample` (default false), `seed`, `eps`, `noise`; image reading (`fit`, `alpha`, `background`);
   *   `tiling` (`true`, or `{ encode, decode }` tile settings); `onProgress(done, total)` over 2N rows (encoder, then
   *   decoder)
   */
  async reconstruct(x: TensorInput | I | readonly I[], options: ReconstructOptions = {}): Promise<VaeTensor> {
    optionsObject(options, 'vae.reconstruct()');
    this.assertUsable('reconstruct', 'encoder', 'decoder');
    booleanOption(options.sample, 'sample');
    const onProgress = functionOption(options.onProgress, 'onProgress');
    checkTilingOption(options.tiling);
    const limits = resolveLimits(options.limits, this.limits);
    const tiling = options.tiling === true ? { encode: true, decode: true } : options.tiling || {};
    checkTilingOption(tiling.encode, 'tiling.encode');
    checkTilingOption(tiling.decode, 'tiling.decode');
    const decodeTiling = tiling.decode === undefined ? {} : { tiling: tiling.decode };
    // The decode's output is known from the input's size: refuse it before any encoding work.
    const beforeEncode = (dims: readonly number[]): void => {
      const factor = this.manifest.latent.spatialFactor ?? 1;
      if (this.manifest.data.layout === 'NCHW' && dims.length === 4)
        checkDecodeOutput(limits, this.manifest, [dims[0]!, 1, Math.ceil(dims[2]! / factor), Math.ceil(dims[3]! / factor)], Boolean(tiling.decode));
    };
    const call = startCall(options);
    const signal = call.signal;
    try {
      if (tiling.encode) {
        const streamed = await this.encodeStreamed(x, options, tiling.encode, limits, { signal, onProgress }, beforeEncode);
        if (streamed !== null) {
          const rows = streamed.rows;
          const z = options.sample ? streamed.posterior.sample({ seed: options.seed, eps: options.eps, noise: options.noise }) : streamed.posterior.mode();
          const crop = streamed.original === null ? {} : { size: streamed.original };
          return await this.decodeStage(z, { ...decodeTiling, ...crop }, { signal, onProgress, offset: rows, total: 2 * rows }, limits);
        }
      }
      const { tensor, original } = await this.prepare(x, options, 'pad', limits, !tiling.encode);
      beforeEncode(tensor.dims);
      const rows = tensor.dims[0]!;
      const size = original === null ? {} : { size: original };
      if (!options.sample && !options.tiling) {
        // The mean stays in device memory between the graphs where the backend keeps it there (WebGPU).
        const latent = await this.graphs.encodeOnDevice(tensor, call);
        if (latent !== null) {
          onProgress?.(rows, 2 * rows);
          try {
            return await this.decodeStage(latent, size, { signal, onProgress, offset: rows, total: 2 * rows }, limits);
          } finally {
            latent.dispose();
          }
        }
      }
      const posterior = await this.encodePrepared(tensor, tiling.encode, { signal, onProgress, offset: 0, total: 2 * rows });
      const z = options.sample ? posterior.sample({ seed: options.seed, eps: options.eps, noise: options.noise }) : posterior.mode();
      return await this.decodeStage(z, { ...decodeTiling, ...size }, { signal, onProgress, offset: rows, total: 2 * rows }, limits);
    } finally {
      call.end();
    }
  }

  /**
   * Per-item evaluation: ELBO, the IWAE log-likelihood estimate with k samples, E_q log p(x|z), KL, bits per
   * dimension, reconstruction error, and the batch's active units.
   *
   * @param x - data of dims `[N, ...data.shape]`
   * @param options - `samples` k (default 1), `seed` (default random, reported), `eps` of dims `[k, N, ...latent]`,
   *   `onProgress(done, total)` over the k x N sample rows
   * @throws {@link InvalidInputError} for bad data (for a Bernoulli decoder: values outside [0, 1]);
   *   {@link LimitExceededError} over `maxSamples` (k) or `maxScoreRows` (k x N), before any work;
   *   {@link RequestError} `ABORTED`/`TIMEOUT` (checked before each decoder chunk of the k x N sample rows);
   *   {@link BackendError} `DISPOSED` when the VAE is (or gets) disposed
   * @example
   * const { logLikelihood, bitsPerDim } = await vae.score(x, { samples: 1000, seed: 0 });
   */
  async score(x: TensorInput | I | readonly I[], options: ScoreOptions = {}): Promise<ScoreResult> {
    optionsObject(options, 'vae.score()');
    this.assertUsable('score', 'encoder', 'decoder');
    const limits = resolveLimits(options.limits, this.limits);
    const samples = positiveIntegerOption(options.samples, 'samples', 1);
    checkScoreWork(limits, samples, 1);
    // No padding: padded pixels would enter the likelihood.
    const call = startCall(options);
    try {
      const { tensor } = await this.prepare(x, options, 'refuse', limits, true);
      checkScoreWork(limits, samples, tensor.dims[0]!);
      return await scoreData(this.graphs, tensor, options, call);
    } finally {
      call.end();
    }
  }

  /** Raw latents -> the diffusion model's latent space, `(z - shiftFactor) * scalingFactor` with the manifest's factors. */
  toDiffusionLatent(z: TensorInput): VaeTensor {
    return toDiffusionLatent(latentInput(this.manifest, z, 'z'), this.manifest.latent);
  }

  /** Diffusion latents -> raw latents, `latent / scalingFactor + shiftFactor`; the inverse of {@link Vae.toDiffusionLatent}. */
  fromDiffusionLatent(latent: TensorInput): VaeTensor {
    return fromDiffusionLatent(latentInput(this.manifest, latent, 'latent'), this.manifest.latent);
  }

  /**
   * Releases both graphs, safely with calls in flight: the graph runs already started finish (a call whose last run
   * it was gets its result), every later run is refused, so a call in flight that needs another run (score's next
   * chunk, the decoder after the encoder, the next tile) rejects with `DISPOSED`, as do calls made later (micro-batched
   * calls still queued too); never `INFERENCE_FAILED`. The promise resolves when the sessions are released, after at
   * most one graph run per call in flight. A second `dispose()` returns the first's promise.
   */
  dispose(): Promise<void> {
    // Micro-batching sessions reject their queue and wait for their running batches themselves.
    return this.lifecycle.dispose(() => this.graphs.release(), this.batching === null);
  }

  /** `await using vae = await loadVae(...)` disposes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** @throws `DISPOSED` after dispose; `GRAPH_MISSING` when `method` needs a graph the model lacks. */
  private assertUsable(method?: string, ...graphs: readonly GraphRole[]): void {
    this.lifecycle.assertUsable();
    for (const graph of graphs) this.graphs.need(graph, method!);
  }

  private prepare(x: unknown, options: ImageReadOptions, padding: 'pad' | 'refuse', limits: ResolvedLimits, untiled: boolean) {
    return prepareInput(this.manifest, this.images as ImageCodec<unknown, unknown, unknown> | null, x, options, padding, limits, untiled);
  }

  /**
   * A tiled encode of images read region by region, where the codec can (`openTiles`); `null` otherwise (tensors,
   * or a codec that reads images whole).
   */
  private async encodeStreamed(
    x: unknown,
    options: ImageReadOptions,
    tiling: EncodeTiling,
    limits: ResolvedLimits,
    call: { readonly signal: AbortSignalLike | undefined; readonly onProgress: ProgressCallback | undefined },
    beforeEncode?: (dims: readonly number[]) => void,
  ): Promise<{ posterior: Posterior; original: SpatialSize | null; rows: number } | null> {
    const source = await openImageTiles(this.manifest, this.images as ImageCodec<unknown, unknown, unknown> | null, x, options, limits);
    if (source === null) return null;
    try {
      beforeEncode?.(source.dims);
      const rows = source.dims[0]!;
      // A reconstruct (beforeEncode given) counts 2N rows: the encoder's, then the decoder's.
      const total = beforeEncode === undefined ? rows : 2 * rows;
      return { posterior: await this.encodePrepared(source, tiling, { ...call, offset: 0, total }), original: source.original, rows };
    } finally {
      await source.close();
    }
  }

  /** Rows of a latent argument, for progress; 0 when it is not a tensor (the checks then throw). */
  private rowsOf(z: unknown): number {
    const dims = (z as { dims?: unknown; shape?: unknown })?.dims ?? (z as { shape?: unknown })?.shape;
    return Array.isArray(dims) && typeof dims[0] === 'number' ? dims[0] : 0;
  }

  /** The tiling defaults of the detected preset (an export loaded with `preset`), else the library's. */
  private tilingPreset(): { preset?: TilingPreset } {
    const preset = this.detection?.preset;
    return preset !== null && preset !== undefined && Object.hasOwn(PRESETS, preset) ? { preset: preset as TilingPreset } : {};
  }

  private async encodePrepared(tensor: VaeTensor | TileSource, tiling: EncodeTiling | undefined, stage: Stage): Promise<Posterior> {
    if (!tiling) return this.graphs.encode(tensor as VaeTensor, rowsDone(stage), stage);
    const settings = tiling === true ? {} : tiling;
    const { mean, logvar } = await tiledEncode(
      async (tile) => {
        const q = await this.graphs.encode(tile, undefined, stage);
        return { mean: q.mean, logvar: q.deterministic ? null : q.logvar };
      },
      tensor,
      {
        ...this.tilingPreset(),
        ...settings,
        factor: spatialFactor(this.manifest, 'tiling'),
        layout: this.manifest.data.layout,
        onProgress: tilesDone(stage, tensor.dims[0]!),
      },
    );
    return new Posterior(mean, logvar);
  }

  private async decodeStage(
    z: TensorInput | DeviceLatent,
    options: { readonly tiling?: DecodeTiling; readonly size?: DecodeOptions['size'] },
    stage: Stage,
    limits: ResolvedLimits,
  ): Promise<VaeTensor> {
    if (z instanceof DeviceLatent) {
      const held = z.peek('z');
      if (!(held instanceof VaeTensor)) {
        checkShape(held.dims, this.manifest.latent.shape, 'z', 'latent', this.manifest.name);
        checkDecodeOutput(limits, this.manifest, held.dims, Boolean(options.tiling));
        if (!options.tiling && held.dims[0]! <= this.maxBatch) {
          const data = await this.graphs.decodeOnDevice(held, stage);
          rowsDone(stage)?.(held.dims[0]!);
          return options.size === undefined ? data : cropTo(data, options.size, this.manifest.data.layout);
        }
        // Tiles and batch splits are cut on the CPU.
        return this.decodeStage(await held.download(), options, stage, limits);
      }
      return this.decodeStage(held, options, stage, limits);
    }
    const latent = latentInput(this.manifest, z, 'z');
    checkBatchItems(limits, latent.dims, 'z');
    checkDecodeOutput(limits, this.manifest, latent.dims, Boolean(options.tiling));
    let data: VaeTensor;
    if (options.tiling) {
      const tiling = options.tiling === true ? {} : options.tiling;
      data = await tiledDecode((tile) => this.graphs.decode(tile, undefined, stage), latent, {
        ...this.tilingPreset(),
        ...tiling,
        factor: spatialFactor(this.manifest, 'tiling'),
        layout: this.manifest.data.layout,
        onProgress: tilesDone(stage, latent.dims[0]!),
      });
    } else data = await this.graphs.decode(latent, rowsDone(stage), stage);
    return options.size === undefined ? data : cropTo(data, options.size, this.manifest.data.layout);
  }
}
