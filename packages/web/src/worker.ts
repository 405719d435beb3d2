/**
 * Running a VAE in a Web Worker, so inference never blocks the page: {@link serveVaeInWorker} in the worker's
 * script, {@link loadVaeInWorker} on the page. Calls cross as structured-clone messages; results come back as the
 * same types the in-page API returns (tensors, posteriors, score results), errors as {@link VaeError}s with their
 * `code`.
 */
import {
  DeviceLatent,
  Posterior,
  VaeError,
  VaeTensor,
  deserializeError,
  fromDiffusionLatent,
  raceAbort,
  sampleLatents,
  serializeError,
  toDiffusionLatent,
} from '@onnx-vae/core';
import type {
  AbortSignalLike,
  BackendInfo,
  DecodeOptions,
  Detection,
  ImageReadOptions,
  InterpolateOptions,
  PosteriorSampleOptions,
  SerializedError,
  Manifest,
  PriorSampleOptions,
  ReconstructOptions,
  ScoreOptions,
  ScoreResult,
  EncodeOptions,
  TensorInput,
  Vae,
} from '@onnx-vae/core';
import type { WebImageWriteOptions } from './image-codec.js';
import { loadVae } from './load.js';
import type { LoadVaeOptions, ModelFiles, WebVae } from './load.js';

/** Inputs a worker VAE takes: tensors, or images that can cross to a worker (ImageData, ImageBitmap, Blob). */
export type WorkerInput = TensorInput | ImageData | ImageBitmap | Blob | readonly (ImageData | ImageBitmap | Blob)[];

/** Images that can cross to a worker. */
export type WorkerImageInput = ImageData | ImageBitmap | Blob;

/** Options of {@link loadVaeInWorker}: those of `loadVae` but `onProgress` runs on the page. */
export type WorkerLoadOptions = LoadVaeOptions;

/**
 * What a worker VAE shares with the in-page {@link WebVae} (which has this type too, so code written against it runs
 * either way): the in-page API. `encodeToDevice` gives a latent in page (CPU) memory, since a GPU buffer cannot cross
 * to another thread; the synchronous helpers (`sample`, `toDiffusionLatent`, `fromDiffusionLatent`) run on the page
 * from the manifest, with core's seeded noise (the same numbers as in the worker). `onProgress` options are called
 * on the page.
 */
export type WorkerVaeApi = Pick<
  Vae<WorkerImageInput, ImageData, WebImageWriteOptions>,
  | 'manifest'
  | 'backendName'
  | 'backendInfo'
  | 'maxBatch'
  | 'detection'
  | 'encode'
  | 'encodeToDevice'
  | 'decode'
  | 'sample'
  | 'toDiffusionLatent'
  | 'fromDiffusionLatent'
  | 'reconstruct'
  | 'generate'
  | 'interpolate'
  | 'score'
  | 'toImages'
  | 'decodeImages'
  | 'dispose'
>;

type Method = 'encode' | 'decode' | 'reconstruct' | 'generate' | 'interpolate' | 'score' | 'toImages' | 'decodeImages' | 'dispose';
type Request =
  | {
      readonly id: number;
      readonly method: 'load';
      readonly args: readonly [string | ModelFiles, Omit<LoadVaeOptions, 'onProgress'>];
      readonly progress?: boolean;
    }
  | { readonly id: number; readonly method: Method; readonly args: readonly unknown[]; readonly progress?: boolean };
/** What the worker loads: the model's description, which the page's {@link WorkerVae} holds. */
interface Loaded {
  readonly manifest: Manifest;
  readonly backendName: string;
  readonly backendInfo: BackendInfo;
  readonly maxBatch: number;
  readonly detection: Detection | null;
}
type Reply =
  | { readonly id: number; readonly progress: readonly unknown[] }
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: SerializedError };

interface WireTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** The scope of a worker, as far as this module uses it. */
interface MessageScope {
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  postMessage(message: unknown): void;
}

function isRequest(value: unknown): value is Request {
  const request = value as Partial<Request> | null;
  return typeof request === 'object' && request !== null && typeof request.id === 'number' && typeof request.method === 'string' && Array.isArray(request.args);
}

function wire(tensor: VaeTensor): WireTensor {
  return { data: tensor.data, dims: [...tensor.dims] };
}

function unwire(tensor: WireTensor): VaeTensor {
  return new VaeTensor(tensor.data, tensor.dims);
}

/**
 * Serves one VAE at a time to the page that started this worker. Call it once at the top of the worker's script.
 *
 * @param scope - the worker's global scope; default `self`
 * @example
 * // vae-worker.ts, bundled as a module worker
 * import { serveVaeInWorker } from '@onnx-vae/web';
 * serveVaeInWorker();
 */
export function serveVaeInWorker(scope: MessageScope = globalThis as unknown as MessageScope): void {
  let vae: WebVae | null = null;
  const handle = async (request: Request): Promise<unknown> => {
    // The page's onProgress stays on the page: calls that had one get one that posts what it is called with.
    const progress =
      request.progress === true ? { onProgress: (...values: unknown[]) => scope.postMessage({ id: request.id, progress: values } satisfies Reply) } : {};
    if (request.method === 'load') {
      const [source, options] = request.args;
      await vae?.dispose();
      vae = await loadVae(source, { ...options, ...progress });
      return {
        manifest: vae.manifest,
        backendName: vae.backendName,
        backendInfo: vae.backendInfo,
        maxBatch: vae.maxBatch,
        detection: vae.detection,
      } satisfies Loaded;
    }
    // Disposing twice is allowed, as on the page.
    if (request.method === 'dispose' && !vae) return null;
    if (!vae) throw new VaeError('DISPOSED', 'No VAE is loaded in this worker; call loadVaeInWorker() first.');
    const args = request.args as readonly [never, never, never];
    const last = (index: number): never => ({ ...(args[index] as object | undefined), ...progress }) as never;
    switch (request.method) {
      case 'encode': {
        const q = await vae.encode(args[0], args[1]);
        return { mean: wire(q.mean), logvar: q.deterministic ? null : wire(q.logvar) };
      }
      case 'decode':
        return wire(await vae.decode(args[0], args[1]));
      case 'reconstruct':
        return wire(await vae.reconstruct(args[0], args[1]));
      case 'generate':
        return wire(await vae.generate(args[0]));
      case 'interpolate':
        return wire(await vae.interpolate(args[0], args[1], args[2]));
      case 'score':
        return vae.score(args[0], last(1));
      case 'toImages':
        return vae.toImages(args[0], args[1]);
      case 'decodeImages':
        return vae.decodeImages(args[0], args[1]);
      case 'dispose':
        await vae.dispose();
        vae = null;
        return null;
    }
  };
  // A listener, not onmessage: a bundle that holds onnxruntime-web's threaded wasm also starts as its pthread
  // workers, whose own messages ({ cmd }) this must leave alone.
  scope.addEventListener('message', (event: MessageEvent) => {
    const request = event.data as unknown;
    if (!isRequest(request)) return;
    handle(request).then(
      (result) => scope.postMessage({ id: request.id, result } satisfies Reply),
      // The error's class, code and typed fields cross too (deserializeError on the page).
      (error: unknown) => scope.postMessage({ id: request.id, error: serializeError(error) } satisfies Reply),
    );
  });
}

/**
 * A VAE running in a Web Worker: the in-page API's inference methods, asynchronous, with the same results.
 */
export class WorkerVae implements WorkerVaeApi {
  /** The validated manifest. */
  readonly manifest: Manifest;
  /** The backend in the worker, e.g. `onnxruntime-web 1.30.0 (webgpu)`. */
  readonly backendName: string;
  /** What the worker's VAE runs on and why, as `vae.backendInfo` in the page. */
  readonly backendInfo: BackendInfo;
  /** Items per graph run in the worker. */
  readonly maxBatch: number;
  /** For graphs loaded without a manifest: what was detected and why; else `null`. */
  readonly detection: Detection | null;
  private readonly call: (method: Method, args: readonly unknown[]) => Promise<unknown>;

  /** @internal Use {@link loadVaeInWorker}. */
  constructor(loaded: Loaded, call: (method: Method, args: readonly unknown[]) => Promise<unknown>) {
    this.manifest = loaded.manifest;
    this.backendName = loaded.backendName;
    this.backendInfo = Object.freeze({ ...loaded.backendInfo });
    this.maxBatch = loaded.maxBatch;
    this.detection = loaded.detection;
    this.call = call;
  }

  /** `vae.encode` in the worker. */
  async encode(x: WorkerInput, options: EncodeOptions = {}): Promise<Posterior> {
    const q = (await this.call('encode', [x, options])) as { mean: WireTensor; logvar: WireTensor | null };
    return new Posterior(unwire(q.mean), q.logvar ? unwire(q.logvar) : null);
  }

  /**
   * `vae.encode` in the worker, its mean kept as a {@link DeviceLatent} in page memory (`location` `'cpu'`): a GPU
   * buffer cannot cross to another thread, so code written for `encodeToDevice` runs here too.
   */
  async encodeToDevice(x: WorkerInput, options: ImageReadOptions = {}): Promise<DeviceLatent> {
    return new DeviceLatent((await this.encode(x, options)).mean);
  }

  /** `vae.decode` in the worker; a {@link DeviceLatent} crosses as its tensor. */
  async decode(z: TensorInput | DeviceLatent, options: DecodeOptions = {}): Promise<VaeTensor> {
    // peek first: a disposed latent is refused as `vae.decode` refuses it, naming "z".
    const latent = z instanceof DeviceLatent ? z.peek('z') && (await z.download()) : z;
    return unwire((await this.call('decode', [latent, options])) as WireTensor);
  }

  /**
   * `vae.sample`, on the page: z = mean + std * eps from a posterior, or z ~ N(0, I) from the prior; the same
   * numbers as in the worker for the same seed.
   *
   * @throws {@link InvalidOptionError} for a bad `n`, `seed`, `noise` or `latentShape`
   */
  sample(posterior: Posterior, options?: PosteriorSampleOptions): VaeTensor;
  sample(options?: PriorSampleOptions): VaeTensor;
  sample(first?: Posterior | PriorSampleOptions, options?: PosteriorSampleOptions): VaeTensor {
    return sampleLatents(this.manifest, first, options);
  }

  /** `vae.toDiffusionLatent`, on the page: `(z - shiftFactor) * scalingFactor`. */
  toDiffusionLatent(z: TensorInput): VaeTensor {
    return toDiffusionLatent(z, this.manifest.latent);
  }

  /** `vae.fromDiffusionLatent`, on the page: `latent / scalingFactor + shiftFactor`. */
  fromDiffusionLatent(latent: TensorInput): VaeTensor {
    return fromDiffusionLatent(latent, this.manifest.latent);
  }

  /** `vae.reconstruct` in the worker. */
  async reconstruct(x: WorkerInput, options: ReconstructOptions = {}): Promise<VaeTensor> {
    return unwire((await this.call('reconstruct', [x, options])) as WireTensor);
  }

  /** `vae.generate` in the worker. */
  async generate(options: PriorSampleOptions = {}): Promise<VaeTensor> {
    return unwire((await this.call('generate', [options])) as WireTensor);
  }

  /** `vae.interpolate` in the worker. */
  async interpolate(a: TensorInput, b: TensorInput, options: InterpolateOptions = {}): Promise<VaeTensor> {
    return unwire((await this.call('interpolate', [a, b, options])) as WireTensor);
  }

  /** `vae.score` in the worker; `onProgress` is called on the page. */
  async score(x: WorkerInput, options: ScoreOptions = {}): Promise<ScoreResult> {
    return (await this.call('score', [x, options])) as ScoreResult;
  }

  /** `vae.toImages` in the worker: ImageData of data in the model's range. */
  async toImages(data: TensorInput, options: WebImageWriteOptions = {}): Promise<ImageData[]> {
    return (await this.call('toImages', [data, options])) as ImageData[];
  }

  /** `vae.decodeImages` in the worker. */
  async decodeImages(z: TensorInput, options: DecodeOptions & WebImageWriteOptions = {}): Promise<ImageData[]> {
    return (await this.call('decodeImages', [z, options])) as ImageData[];
  }

  /** Releases the graphs in the worker; the worker itself stays (terminate it when done). */
  async dispose(): Promise<void> {
    await this.call('dispose', []);
  }

  /** `await using vae = await loadVaeInWorker(...)` disposes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/**
 * Loads a VAE in a worker that runs {@link serveVaeInWorker}.
 *
 * @param worker - a module worker, e.g. `new Worker(new URL('./vae-worker.js', import.meta.url), { type: 'module' })`
 * @param source - the model folder's URL (resolved against the page, since the worker's base differs) or
 *   `{ manifest, encoder, decoder }`
 * @param options - as `loadVae`; `onProgress` is called on the page
 * @throws what `loadVae` throws, as {@link VaeError}s with their code
 * @example
 * const vae = await loadVaeInWorker(new Worker(new URL('./vae-worker.js', import.meta.url), { type: 'module' }), '/models/mnist-vae/');
 * const q = await vae.encode({ data: new Float32Array(784), dims: [1, 784] });
 */
export async function loadVaeInWorker(worker: Worker, source: string | URL | ModelFiles, options: WorkerLoadOptions = {}): Promise<WorkerVae> {
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void; onProgress?: (...values: unknown[]) => void }>();
  worker.addEventListener('message', (event: MessageEvent) => {
    const reply = event.data as Reply;
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    if ('progress' in reply) return waiting.onProgress?.(...reply.progress);
    pending.delete(reply.id);
    if ('error' in reply) waiting.reject(deserializeError(reply.error));
    else waiting.resolve(reply.result);
  });
  const send = (method: Request['method'], args: readonly unknown[]): Promise<unknown> => {
    // A function or an AbortSignal cannot cross to the worker: an options object's onProgress and signal (the last
    // argument) stay here; an aborted call rejects at once on the page (timeoutMs crosses and works in the worker).
    const options = args.at(-1) as { onProgress?: unknown; signal?: AbortSignalLike } | undefined;
    const onProgress = typeof options?.onProgress === 'function' ? (options.onProgress as (...values: unknown[]) => void) : undefined;
    const signal = options?.signal;
    const sent = onProgress || signal ? [...args.slice(0, -1), { ...options, onProgress: undefined, signal: undefined }] : args;
    const reply = new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      worker.postMessage({ id, method, args: sent, progress: onProgress !== undefined });
    });
    return raceAbort(reply, signal);
  };
  const location = (globalThis as { location?: { href: string } }).location?.href;
  const resolved = typeof source === 'string' || source instanceof URL ? new URL(source, location).href : source;
  const loaded = (await send('load', [resolved, options])) as Loaded;
  return new WorkerVae(loaded, send);
}
