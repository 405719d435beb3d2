// `#ort` is this package's one onnxruntime-web import (package.json "imports"): the WebGPU build
// (`onnxruntime-web/webgpu`) in browsers and bundlers, the wasm build for Node (`onnxruntime-web`, whose "node"
// export runs the same wasm in plain Node, as the contract tests do).
import * as ort from '#ort';
import { BackendError, InvalidOptionError, ModelFileError, VaeTensor, describe, optionChoice, tensorInfoFromOrt } from '@onnx-vae/core';
import type { Backend, BackendSession, ModelSource, TensorInfo } from '@onnx-vae/core';

/** Devices onnxruntime-web can run on. */
export const DEVICES = Object.freeze({
  /** WebGPU where the browser gives an adapter, else wasm (default). */
  auto: 'auto',
  /** The WebGPU execution provider; throws `BACKEND_UNAVAILABLE` without an adapter. */
  webgpu: 'webgpu',
  /** The WebAssembly CPU execution provider, multi-threaded when the page is cross-origin isolated. */
  wasm: 'wasm',
} as const);
/** One of {@link DEVICES}. */
export type Device = keyof typeof DEVICES;

/** The execution provider a backend really runs on, after `'auto'` has chosen. */
export type ExecutionProvider = Exclude<Device, 'auto'>;

/** onnxruntime graph optimisation levels. */
export const GRAPH_OPTIMIZATION_LEVELS = Object.freeze({ disabled: 'disabled', basic: 'basic', extended: 'extended', all: 'all' } as const);
/** One of {@link GRAPH_OPTIMIZATION_LEVELS}. */
export type GraphOptimizationLevel = keyof typeof GRAPH_OPTIMIZATION_LEVELS;

/** Options of the onnxruntime-web backend. */
export interface OrtWebOptions {
  /** `'auto'` (default: WebGPU when the browser gives an adapter, else wasm), `'webgpu'` or `'wasm'`. */
  readonly device?: Device;
  /**
   * wasm threads. Default: `min(4, ceil(hardwareConcurrency / 2))` when the page is cross-origin isolated
   * (`crossOriginIsolated`), else 1 (threads need SharedArrayBuffer). onnxruntime reads it once, before the first
   * session of the page.
   */
  readonly numThreads?: number;
  /**
   * Where onnxruntime-web fetches its `.wasm` files: a URL prefix ending in `/`. Default: next to onnxruntime-web's
   * own script, which a bundler may have moved; set it (e.g. to a CDN or a copied folder) when the files 404.
   */
  readonly wasmPaths?: string;
  /** Graph optimisation level. Default `'all'`. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
}

/** @internal The part of `navigator.gpu` the backend uses (TypeScript's DOM library has no WebGPU types). */
interface GpuLike {
  requestAdapter(): Promise<{ readonly info?: { readonly vendor?: string; readonly architecture?: string; readonly isFallbackAdapter?: boolean }; readonly isFallbackAdapter?: boolean } | null>;
}

const WEBGPU_HELP =
  'WebGPU needs a browser that exposes navigator.gpu (Chrome/Edge 113+, or Chromium started with --enable-unsafe-webgpu where it is off), ' +
  'a secure context (https:// or http://localhost), and a GPU or software adapter; use device "wasm" or "auto" to run on the CPU instead.';

let queue: Promise<unknown> = Promise.resolve();
let environmentSet = false;

/**
 * Runs onnxruntime-web calls one at a time. Its WebGPU build suspends the wasm module while the GPU works (asyncify),
 * and a second session's call entering it meanwhile corrupts its state ("memory access out of bounds", NaNs), so
 * `Promise.all([vae.score(a), other.score(b)])` must not interleave. The module is one per page, so the queue is too.
 */
function exclusive<T>(task: () => Promise<T>): Promise<T> {
  const result = queue.then(task);
  queue = result.catch(() => undefined);
  return result;
}

function defaultThreads(): number {
  const scope = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  if (scope.crossOriginIsolated !== true) return 1;
  return Math.min(4, Math.ceil((scope.navigator?.hardwareConcurrency ?? 2) / 2));
}

/** What `'auto'` found: WebGPU with a description of the adapter, or why not. */
async function probeWebGpu(): Promise<{ ok: true; adapter: string } | { ok: false; reason: string }> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return { ok: false, reason: 'navigator.gpu is missing (no WebGPU in this environment)' };
  let adapter: Awaited<ReturnType<GpuLike['requestAdapter']>>;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return { ok: false, reason: `navigator.gpu.requestAdapter() failed: ${(error as Error)?.message ?? error}` };
  }
  if (!adapter) return { ok: false, reason: 'navigator.gpu.requestAdapter() gave no adapter' };
  const info = [adapter.info?.vendor, adapter.info?.architecture].filter(Boolean).join(' ') || 'unknown';
  return { ok: true, adapter: `${info}${adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ? ', a fallback (software) adapter' : ''}` };
}

/**
 * The onnxruntime-web backend: WebGPU or wasm. With `device: 'auto'` it picks WebGPU when
 * `navigator.gpu.requestAdapter()` gives an adapter, else wasm, and says which and why in
 * {@link OrtWebBackend.executionProvider} and {@link OrtWebBackend.deviceReason} (set by the first session).
 *
 * @example
 * const backend = new OrtWebBackend({ device: 'auto' });
 * const vae = await createVae({ manifest, backend, encoder: { bytes }, decoder: { bytes: decoderBytes } });
 * console.log(backend.executionProvider, backend.deviceReason);
 */
export class OrtWebBackend implements Backend {
  readonly specificationVersion = 'v1' as const;
  /** The device asked for. */
  readonly device: Device;
  private readonly numThreads: number;
  private readonly wasmPaths: string | undefined;
  private readonly graphOptimizationLevel: GraphOptimizationLevel;
  private resolved: Promise<ExecutionProvider> | null = null;
  /** The execution provider the sessions run on; `null` until the first session is created. */
  executionProvider: ExecutionProvider | null = null;
  /** Why that execution provider, e.g. `'auto: WebGPU adapter google swiftshader'`; empty until the first session. */
  deviceReason = '';

  /**
   * @param options - see {@link OrtWebOptions}
   * @throws {@link InvalidOptionError} for a bad option, listing the valid values
   */
  constructor(options: OrtWebOptions = {}) {
    this.device = optionChoice(options.device, 'device', DEVICES, 'auto');
    if (options.numThreads !== undefined && (!Number.isSafeInteger(options.numThreads) || options.numThreads < 1)) {
      throw new InvalidOptionError('numThreads', `Expected "numThreads" to be a positive integer but received ${describe(options.numThreads)}.`);
    }
    this.numThreads = options.numThreads ?? defaultThreads();
    if (options.wasmPaths !== undefined && (typeof options.wasmPaths !== 'string' || !options.wasmPaths.endsWith('/'))) {
      throw new InvalidOptionError('wasmPaths', `Expected "wasmPaths" to be a URL prefix ending in "/" but received ${describe(options.wasmPaths)}.`);
    }
    this.wasmPaths = options.wasmPaths;
    this.graphOptimizationLevel = optionChoice(options.graphOptimizationLevel, 'graphOptimizationLevel', GRAPH_OPTIMIZATION_LEVELS, 'all');
  }

  /** `onnxruntime-web VERSION (EXECUTION_PROVIDER)`; the device asked for until the first session. */
  get name(): string {
    return `onnxruntime-web ${ort.env.versions.web} (${this.executionProvider ?? this.device})`;
  }

  /**
   * Creates a session from a graph's bytes, on the execution provider chosen by the first call.
   *
   * @throws {@link InvalidOptionError} for a path source; {@link ModelFileError} `MODEL_FILE_CORRUPT`;
   *   {@link BackendError} `BACKEND_UNAVAILABLE` for `device: 'webgpu'` without a usable adapter
   */
  async createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
    if ('path' in source) {
      throw new InvalidOptionError('source', `onnxruntime-web loads graphs from bytes, not paths (${describe(source.path)}); fetch the file and pass { bytes }, or use loadVae(url).`);
    }
    const provider = await (this.resolved ??= this.resolve());
    this.configureEnvironment();
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: this.graphOptimizationLevel,
    };
    let session: ort.InferenceSession;
    try {
      session = await exclusive(() => ort.InferenceSession.create(source.bytes, options));
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      if (/protobuf|parsing|Load model|invalid model|ModelProto|opset/i.test(message)) {
        throw new ModelFileError('MODEL_FILE_CORRUPT', `${role} bytes`, `onnxruntime-web could not load the ${role}: ${message.split('\n')[0]}. Check that the file is a complete ONNX model (re-export or re-download it).`, { cause: error });
      }
      if (provider === 'webgpu' && this.device === 'auto') {
        // 'auto' promised a working device: fall back to wasm for this and later sessions, and say why.
        this.resolved = Promise.resolve(this.choose('wasm', `auto: a WebGPU adapter exists but onnxruntime-web could not use it (${message.split('\n')[0]})`));
        return this.createSession(source, role);
      }
      if (provider === 'webgpu') {
        throw new BackendError('BACKEND_UNAVAILABLE', `onnxruntime-web could not create a WebGPU session for the ${role} (${message}). ${WEBGPU_HELP} Import onnx-vae's default build (onnxruntime-web/webgpu), not a wasm-only one.`, { cause: error });
      }
      throw error;
    }
    return new OrtWebSession(session);
  }

  /** Chooses the execution provider once; WebGPU goes alone in `executionProviders`, since ort drops it silently otherwise. */
  private async resolve(): Promise<ExecutionProvider> {
    if (this.device === 'wasm') return this.choose('wasm', 'requested');
    const probe = await probeWebGpu();
    if (probe.ok) return this.choose('webgpu', `${this.device === 'auto' ? 'auto: ' : ''}WebGPU adapter ${probe.adapter}`);
    if (this.device === 'webgpu') {
      this.resolved = null;
      throw new BackendError('BACKEND_UNAVAILABLE', `device "webgpu" was requested but ${probe.reason}. ${WEBGPU_HELP}`);
    }
    return this.choose('wasm', `auto: ${probe.reason}`);
  }

  private choose(provider: ExecutionProvider, reason: string): ExecutionProvider {
    this.executionProvider = provider;
    this.deviceReason = provider === 'wasm' ? `${reason}; wasm with ${this.numThreads} thread(s)` : reason;
    return provider;
  }

  /** onnxruntime's wasm settings are global and read once, before the first session of the page: the first backend's win. */
  private configureEnvironment(): void {
    if (environmentSet) return;
    environmentSet = true;
    const wasm = ort.env.wasm;
    wasm.proxy = false;
    wasm.numThreads = this.numThreads;
    if (this.wasmPaths !== undefined) wasm.wasmPaths = this.wasmPaths;
  }
}

class OrtWebSession implements BackendSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  private session: ort.InferenceSession | null;

  constructor(session: ort.InferenceSession) {
    this.session = session;
    this.inputs = tensorInfoFromOrt(session.inputMetadata);
    this.outputs = tensorInfoFromOrt(session.outputMetadata);
  }

  async run(feeds: Readonly<Record<string, VaeTensor>>, outputs: readonly string[]): Promise<Record<string, VaeTensor>> {
    if (!this.session) throw new BackendError('DISPOSED', 'This onnxruntime-web session was released.');
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor('float32', tensor.data, [...tensor.dims]);
    const session = this.session;
    return exclusive(async () => {
      const results = await session.run(ortFeeds, [...outputs]);
      const out: Record<string, VaeTensor> = {};
      for (const name of outputs) {
        const tensor = results[name]!;
        if (tensor.type !== 'float32') throw new BackendError('INFERENCE_FAILED', `Output "${name}" is ${tensor.type}; onnx-vae needs float32.`);
        // WebGPU outputs live on the GPU only when asked (preferredOutputLocation); the default is CPU memory.
        const data = tensor.location === 'cpu' ? (tensor.data as Float32Array) : ((await tensor.getData(true)) as Float32Array);
        out[name] = new VaeTensor(data, tensor.dims);
      }
      return out;
    });
  }

  async release(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await exclusive(() => session.release());
  }
}
