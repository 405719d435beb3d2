// `#ort` is this package's one onnxruntime-web import (package.json "imports"): the WebGPU build
// (`onnxruntime-web/webgpu`) in browsers and bundlers, the wasm build for Node (`onnxruntime-web`, whose "node"
// export runs the same wasm in plain Node, as the contract tests do).
import * as ort from '#ort';
import { BackendError, InvalidOptionError, VaeTensor, describe, hasNonFinite } from '@onnx-vae/core';
import type { Backend, BackendInfo, BackendSession, DeviceTensor, ModelSource } from '@onnx-vae/core';
import {
  GRAPH_OPTIMIZATION_LEVELS,
  OrtSession,
  createOrtSession,
  isCorruptModelMessage,
  optionChoice,
  optionalBoolean,
  optionalInteger,
} from '@onnx-vae/ort-common';
import type { GraphOptimizationLevel, OrtTensor } from '@onnx-vae/ort-common';
import { recordingRuntimeFetches, runtimeFileError } from './wasm-files.js';

/** Devices onnxruntime-web can run on. */
export const DEVICES = Object.freeze({
  /** WebGPU where the browser gives a hardware adapter, else wasm (default): fallback (software) adapters are skipped. */
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

/** Which graphs to run: the manifest's float32 graphs, or its optional float16 ones. */
export const PRECISIONS = Object.freeze({
  /** float16 graphs where the manifest has them and the backend runs on WebGPU with `shader-f16`, else float32 (default). */
  auto: 'auto',
  /** The float32 graphs. */
  float32: 'float32',
  /** The float16 graphs; `BACKEND_UNAVAILABLE` without WebGPU `shader-f16`. */
  float16: 'float16',
} as const);
/** One of {@link PRECISIONS}. */
export type Precision = keyof typeof PRECISIONS;

/** Options of the onnxruntime-web backend. */
export interface OrtWebOptions {
  /**
   * `'auto'` (default: WebGPU when the browser gives a hardware adapter, else wasm; a fallback (software) adapter
   * such as SwiftShader is skipped, being slower than wasm), `'webgpu'` (any adapter) or `'wasm'`.
   */
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
  /**
   * On wasm, onnxruntime's memory-pattern planning. Default false, as in Node, where it costs memory for no time;
   * on wasm no difference was measured either way (docs/benchmarks.md). WebGPU sessions keep onnxruntime's own
   * setting.
   */
  readonly enableMemPattern?: boolean;
  /**
   * On WebGPU, leave the encoder's outputs in GPU buffers (`preferredOutputLocation: 'gpu-buffer'`), so
   * `reconstruct` and `encodeToDevice` + `decode` hand the latent to the decoder without a round trip through the
   * CPU. Default true; false copies every output to the CPU (the behaviour before, for comparisons).
   */
  readonly keepLatentsOnGpu?: boolean;
  /**
   * `'auto'` (default): the manifest's float16 graphs (its `float16` block) on a WebGPU adapter with the
   * `shader-f16` feature, else the float32 graphs; `'float32'`; `'float16'` (throws `BACKEND_UNAVAILABLE` without
   * `shader-f16`). Applies to models loaded from a URL; graphs passed as bytes run as they are.
   */
  readonly precision?: Precision;
}

/** @internal The part of `navigator.gpu` the backend uses (TypeScript's DOM library has no WebGPU types). */
interface GpuLike {
  requestAdapter(): Promise<{
    readonly info?: { readonly vendor?: string; readonly architecture?: string; readonly description?: string; readonly isFallbackAdapter?: boolean };
    readonly isFallbackAdapter?: boolean;
    readonly features?: { has(feature: string): boolean };
  } | null>;
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

/** Software WebGPU implementations, by adapter vendor/architecture/description, for browsers that do not flag them. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/** What `'auto'` found: WebGPU with a description of the adapter (and whether it is a software one), or why not. */
async function probeWebGpu(): Promise<{ ok: true; adapter: string; shaderF16: boolean; fallback: boolean } | { ok: false; reason: string }> {
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
  const fallback =
    (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter) === true || SOFTWARE_ADAPTER.test(`${info} ${adapter.info?.description ?? ''}`);
  return {
    ok: true,
    adapter: `${info}${fallback ? ', a fallback (software) adapter' : ''}`,
    shaderF16: adapter.features?.has('shader-f16') === true,
    fallback,
  };
}

/**
 * The onnxruntime-web backend: WebGPU or wasm. With `device: 'auto'` it picks WebGPU when
 * `navigator.gpu.requestAdapter()` gives a hardware adapter, else wasm (a fallback/software adapter runs slower than
 * wasm), and says which and why in {@link OrtWebBackend.info} (as `vae.backendInfo`),
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
  private readonly keepLatentsOnGpu: boolean;
  private readonly enableMemPattern: boolean;
  private readonly precisionOption: Precision;
  private shaderF16 = false;
  private resolved: Promise<ExecutionProvider> | null = null;
  /** The execution provider the sessions run on; `null` until the first session is created. */
  executionProvider: ExecutionProvider | null = null;
  /** Why that execution provider, e.g. `'auto: WebGPU adapter google swiftshader'`; empty until the first session. */
  deviceReason = '';
  /** The graphs `loadVae` chose for a manifest with float16 graphs (see {@link OrtWebOptions.precision}); else `null`. */
  precision: Exclude<Precision, 'auto'> | null = null;
  /** Whether 'auto' chose WebGPU and then had to fall back to wasm. */
  private fellBack = false;

  /**
   * @param options - see {@link OrtWebOptions}
   * @throws {@link InvalidOptionError} for a bad option, listing the valid values
   */
  constructor(options: OrtWebOptions = {}) {
    this.device = optionChoice(options.device, 'device', DEVICES, 'auto');
    this.numThreads = optionalInteger(options.numThreads, 'numThreads', 1) ?? defaultThreads();
    if (options.wasmPaths !== undefined && (typeof options.wasmPaths !== 'string' || !options.wasmPaths.endsWith('/'))) {
      throw new InvalidOptionError('wasmPaths', `Expected "wasmPaths" to be a URL prefix ending in "/" but received ${describe(options.wasmPaths)}.`);
    }
    this.wasmPaths = options.wasmPaths;
    this.graphOptimizationLevel = optionChoice(options.graphOptimizationLevel, 'graphOptimizationLevel', GRAPH_OPTIMIZATION_LEVELS, 'all');
    this.keepLatentsOnGpu = optionalBoolean(options.keepLatentsOnGpu, 'keepLatentsOnGpu') ?? true;
    this.enableMemPattern = optionalBoolean(options.enableMemPattern, 'enableMemPattern') ?? false;
    this.precisionOption = optionChoice(options.precision, 'precision', PRECISIONS, 'auto');
  }

  /** `onnxruntime-web VERSION (EXECUTION_PROVIDER)`; the device asked for until the first session. */
  get name(): string {
    return `onnxruntime-web ${ort.env.versions.web} (${this.executionProvider ?? this.device}${this.precision === null ? '' : `, ${this.precision}`})`;
  }

  /** What the sessions run on and why (`vae.backendInfo`); the device asked for until the first session. */
  get info(): BackendInfo {
    return {
      name: this.name,
      requestedDevice: this.device,
      device: this.executionProvider ?? this.device,
      precision: this.precision ?? 'float32',
      reason: this.deviceReason,
      fellBack: this.fellBack,
    };
  }

  /**
   * Chooses the manifest's float32 or float16 graphs (see {@link OrtWebOptions.precision}) and says why in
   * {@link OrtWebBackend.deviceReason}. Resolves the execution provider first.
   *
   * @param model - the model's name, for messages
   * @param hasFloat16 - whether the manifest lists float16 graphs
   * @throws {@link InvalidOptionError} for `'float16'` without float16 graphs; {@link BackendError}
   *   `BACKEND_UNAVAILABLE` for `'float16'` without WebGPU `shader-f16`
   */
  async choosePrecision(model: string, hasFloat16: boolean): Promise<Exclude<Precision, 'auto'>> {
    const provider = await (this.resolved ??= this.resolve());
    const capable = provider === 'webgpu' && this.shaderF16;
    const why = provider !== 'webgpu' ? 'the backend runs on wasm' : this.shaderF16 ? 'the adapter has shader-f16' : 'the adapter has no shader-f16';
    let precision: Exclude<Precision, 'auto'>;
    if (this.precisionOption === 'float16') {
      if (!hasFloat16)
        throw new InvalidOptionError(
          'precision',
          `Model "${model}" has no float16 graphs (no "float16" block in its manifest); use precision "auto" or "float32".`,
        );
      if (!capable)
        throw new BackendError(
          'BACKEND_UNAVAILABLE',
          `precision "float16" needs WebGPU with the shader-f16 feature, but ${why}; use precision "auto" to run the float32 graphs instead.`,
        );
      precision = 'float16';
    } else precision = this.precisionOption === 'auto' && hasFloat16 && capable ? 'float16' : 'float32';
    if (hasFloat16) {
      // Said only where there was a choice: the name then reads e.g. "onnxruntime-web 1.30.0 (webgpu, float32)".
      this.precision = precision;
      this.deviceReason += `; ${precision} graphs (${this.precisionOption === 'float32' ? 'requested' : why})`;
    }
    return precision;
  }

  /**
   * Creates a session from a graph's bytes, on the execution provider chosen by the first call.
   *
   * @throws {@link InvalidOptionError} for a path source; {@link ModelFileError} `MODEL_FILE_CORRUPT`;
   *   {@link BackendError} `BACKEND_UNAVAILABLE` for `device: 'webgpu'` without a usable adapter
   */
  async createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
    if ('path' in source) {
      throw new InvalidOptionError(
        'source',
        `onnxruntime-web loads graphs from bytes, not paths (${describe(source.path)}); fetch the file and pass { bytes }, or use loadVae(url).`,
      );
    }
    const provider = await (this.resolved ??= this.resolve());
    this.configureEnvironment();
    const onGpu = provider === 'webgpu' && this.keepLatentsOnGpu;
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: this.graphOptimizationLevel,
      ...(provider === 'wasm' ? { enableMemPattern: this.enableMemPattern } : {}),
      // The encoder's outputs stay in GPU buffers; `run` downloads them, `runDevice` hands them on.
      ...(onGpu && role === 'encoder' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
    };
    let session: ort.InferenceSession;
    try {
      session = await createOrtSession(
        () => exclusive(() => recordingRuntimeFetches(() => ort.InferenceSession.create(source.bytes, options))),
        'onnxruntime-web',
        `${role} bytes`,
        `the ${role}`,
      );
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      if (isCorruptModelMessage(message)) throw error;
      // A .wasm (or .mjs) that did not arrive fails WebGPU and wasm alike: name the file, the URL and the fix.
      const missing = await runtimeFileError(error, ort.env.wasm.wasmPaths);
      if (missing) throw missing;
      if (provider === 'webgpu' && this.device === 'auto') {
        // 'auto' promised a working device: fall back to wasm for this and later sessions, and say why.
        this.resolved = Promise.resolve(this.choose('wasm', `auto: a WebGPU adapter exists but onnxruntime-web could not use it (${message.split('\n')[0]})`));
        this.fellBack = true;
        return this.createSession(source, role);
      }
      if (provider === 'webgpu') {
        throw new BackendError(
          'BACKEND_UNAVAILABLE',
          `onnxruntime-web could not create a WebGPU session for the ${role} (${message}). ${WEBGPU_HELP} Import onnx-vae's default build (onnxruntime-web/webgpu), not a wasm-only one.`,
          { cause: error },
        );
      }
      throw error;
    }
    if (provider === 'webgpu' && !this.shaderF16) {
      // WebGPU runs no float16 shader without shader-f16 (not even a Cast); say so now rather than at the first run.
      const half = [...session.inputMetadata, ...session.outputMetadata].filter((m) => m.isTensor && m.type === 'float16').map((m) => `"${m.name}"`);
      if (half.length > 0) {
        await exclusive(() => session.release());
        throw new BackendError(
          'BACKEND_UNAVAILABLE',
          `The ${role} has float16 tensors (${half.join(', ')}), and this WebGPU adapter lacks the shader-f16 feature that float16 needs; load the float32 graphs (precision "auto" or "float32" picks them from a manifest's "float16" block) or use device "wasm".`,
        );
      }
    }
    // onnxruntime-web 1.30's WebGPU EP fuses Conv with its activation from level "extended" on, and the fused kernels
    // overflow to NaN where activations reach |x| ~ 1e3 (microsoft/onnxruntime#32145): check what comes back.
    const guard = provider === 'webgpu' && (this.graphOptimizationLevel === 'extended' || this.graphOptimizationLevel === 'all');
    return onGpu
      ? new OrtWebGpuSession(session, ort, { runtime: 'onnxruntime-web', role }, guard)
      : new OrtWebSession(session, ort, { runtime: 'onnxruntime-web', role }, guard);
  }

  /** Chooses the execution provider once; WebGPU goes alone in `executionProviders`, since ort drops it silently otherwise. */
  private async resolve(): Promise<ExecutionProvider> {
    if (this.device === 'wasm') return this.choose('wasm', 'requested');
    const probe = await probeWebGpu();
    if (probe.ok && probe.fallback && this.device === 'auto') {
      return this.choose(
        'wasm',
        `auto: the WebGPU adapter ${probe.adapter}, is usually slower than wasm, so wasm was chosen; pass device "webgpu" to use it anyway`,
      );
    }
    if (probe.ok) {
      this.shaderF16 = probe.shaderF16;
      return this.choose('webgpu', `${this.device === 'auto' ? 'auto: ' : ''}WebGPU adapter ${probe.adapter}`);
    }
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

/** An onnxruntime-web session: one call at a time (see `exclusive`), outputs checked where WebGPU can make NaNs. */
class OrtWebSession extends OrtSession {
  constructor(
    session: ort.InferenceSession,
    runtime: typeof ort,
    labels: ConstructorParameters<typeof OrtSession>[2],
    private readonly guardFinite: boolean,
  ) {
    super(session, runtime, labels);
  }

  protected override schedule<T>(task: () => Promise<T>): Promise<T> {
    return exclusive(task);
  }

  /** An output in CPU memory, refusing non-finite values where the WebGPU fusion bug can make them. */
  protected override async output(name: string, tensor: ort.Tensor): Promise<VaeTensor> {
    const result = await super.output(name, tensor);
    const data = result.data;
    if (this.guardFinite && hasNonFinite(data)) {
      let bad = 0;
      for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) bad++;
      throw new BackendError(
        'INFERENCE_FAILED',
        `onnxruntime-web's WebGPU execution provider gave ${bad} non-finite values of ${data.length} in the ${this.labels.role}'s output "${name}" from finite inputs. ` +
          'onnxruntime-web 1.30 fuses Conv with its activation at graphOptimizationLevel "extended" and "all", and the fused WebGPU kernels overflow to NaN where activations reach |x| of about 1000 (microsoft/onnxruntime#32145). ' +
          'Load the model with graphOptimizationLevel: "basic" (or device: "wasm").',
      );
    }
    return result;
  }
}

/** A WebGPU session whose outputs in GPU buffers can be kept there ({@link BackendSession.runDevice}). */
class OrtWebGpuSession extends OrtWebSession {
  async runDevice(feeds: Readonly<Record<string, VaeTensor | DeviceTensor>>, outputs: readonly string[]): Promise<Record<string, VaeTensor | DeviceTensor>> {
    this.live();
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) {
      if (tensor instanceof VaeTensor) ortFeeds[name] = this.feed(name, tensor);
      // GPU latents are float32; a float16 input takes them through the CPU, rounded.
      else if (this.halfInputs.has(name)) ortFeeds[name] = this.feed(name, await tensor.download());
      else ortFeeds[name] = WebGpuTensor.unwrap(tensor, name);
    }
    return this.execute(ortFeeds, outputs, true);
  }

  /** float32 outputs that onnxruntime left in GPU buffers stay there, as {@link WebGpuTensor}s. */
  protected override deviceOutput(tensor: ort.Tensor): DeviceTensor | null {
    return tensor.location === 'gpu-buffer' && tensor.type === 'float32' ? new WebGpuTensor(tensor) : null;
  }
}

/** @internal The part of WebGPU the channel slice uses (TypeScript's DOM library has no WebGPU types). */
interface GpuBufferLike {
  destroy(): void;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}
interface GpuDeviceLike {
  createBuffer(descriptor: { size: number; usage: number }): GpuBufferLike;
  createCommandEncoder(): {
    copyBufferToBuffer(source: GpuBufferLike, sourceOffset: number, destination: GpuBufferLike, destinationOffset: number, size: number): void;
    finish(): unknown;
  };
  readonly queue: { submit(buffers: unknown[]): void };
}
// GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST: what onnxruntime-web's own buffers have.
const BUFFER_USAGE = 0x80 | 0x04 | 0x08;
// GPUBufferUsage.MAP_READ | COPY_DST, and GPUMapMode.READ: a staging buffer to read a GPU buffer back.
const STAGING_USAGE = 0x01 | 0x08;
const MAP_READ = 0x01;

/** Reads the first `length` floats of a GPU buffer through a staging buffer. */
async function readBuffer(device: GpuDeviceLike, buffer: GpuBufferLike, size: number, length: number): Promise<Float32Array> {
  // size: bytes to copy, a multiple of 4 within the buffer; length: floats to return.
  const staging = device.createBuffer({ size, usage: STAGING_USAGE });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ);
    const data = new Float32Array(staging.getMappedRange().slice(0, 4 * length));
    staging.unmap();
    return data;
  } finally {
    staging.destroy();
  }
}

/** A float32 onnxruntime-web tensor in a GPU buffer. */
class WebGpuTensor implements DeviceTensor {
  readonly location = 'gpu-buffer';
  readonly dims: readonly number[];
  private tensor: ort.Tensor | null;

  constructor(tensor: ort.Tensor) {
    this.tensor = tensor;
    this.dims = Object.freeze([...tensor.dims]);
  }

  static unwrap(value: DeviceTensor, name: string): ort.Tensor {
    if (!(value instanceof WebGpuTensor))
      throw new BackendError('UNSUPPORTED', `Feed "${name}" is a ${value.location} tensor of another backend; onnxruntime-web takes its own GPU tensors only.`);
    return value.live();
  }

  private live(): ort.Tensor {
    if (!this.tensor) throw new BackendError('DISPOSED', 'This GPU tensor was disposed.');
    return this.tensor;
  }

  async download(): Promise<VaeTensor> {
    const tensor = this.live();
    // Read the buffer through a staging copy: onnxruntime's tensor.getData() would turn the tensor into a CPU tensor
    // (location "cpu"), and a later decode would upload it again.
    let length = 1;
    for (const d of this.dims) length *= d;
    const device = (await ort.env.webgpu.device) as unknown as GpuDeviceLike;
    const data = await exclusive(() => readBuffer(device, tensor.gpuBuffer as unknown as GpuBufferLike, 4 * length, length));
    return new VaeTensor(data, this.dims);
  }

  async sliceChannels(start: number, count: number): Promise<DeviceTensor> {
    const source = this.live();
    const [batch, channels] = this.dims as [number, number];
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 1 && start + count <= channels)) {
      throw new BackendError('INFERENCE_FAILED', `Channels ${start} to ${start + count} do not fit a tensor of dims ${describe([...this.dims])}.`);
    }
    let inner = 1;
    for (const d of this.dims.slice(2)) inner *= d;
    const device = (await ort.env.webgpu.device) as unknown as GpuDeviceLike;
    const bytes = 4 * count * inner;
    const target = device.createBuffer({ size: Math.ceil((batch * bytes) / 16) * 16, usage: BUFFER_USAGE });
    // One copy per item, on the device queue that onnxruntime-web's own work is ordered on.
    const encoder = device.createCommandEncoder();
    for (let b = 0; b < batch; b++)
      encoder.copyBufferToBuffer(source.gpuBuffer as unknown as GpuBufferLike, 4 * inner * (b * channels + start), target, b * bytes, bytes);
    device.queue.submit([encoder.finish()]);
    const dims = [batch, count, ...this.dims.slice(2)];
    const size = Math.ceil((batch * bytes) / 16) * 16;
    const download = () => readBuffer(device, target, size, (batch * bytes) / 4);
    return new WebGpuTensor(
      ort.Tensor.fromGpuBuffer(target as never, { dataType: 'float32', dims, download: download as never, dispose: () => target.destroy() }),
    );
  }

  dispose(): void {
    const tensor = this.tensor;
    this.tensor = null;
    tensor?.dispose();
  }
}
