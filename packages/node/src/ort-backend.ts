import * as ort from 'onnxruntime-node';
import {
  BackendError,
  GRAPH_OPTIMIZATION_LEVELS,
  InvalidOptionError,
  ModelFileError,
  VaeTensor,
  describe,
  float16Inputs,
  isCorruptModelMessage,
  optionChoice,
  ortFeedData,
  ortOutputData,
  tensorInfoFromOrt,
} from '@onnx-vae/core';
import type { Backend, BackendSession, GraphOptimizationLevel, ModelSource, TensorInfo } from '@onnx-vae/core';

/** Devices onnxruntime-node can run on. */
export const DEVICES = Object.freeze({
  /** The CPU execution provider (bundled with onnxruntime-node). */
  cpu: 'cpu',
  /** The CUDA execution provider (needs the CUDA binaries of onnxruntime-node and a GPU). */
  cuda: 'cuda',
} as const);
/** One of {@link DEVICES}. */
export type Device = keyof typeof DEVICES;

/** A warning the Node runtime raises (e.g. a CUDA fallback). */
export interface VaeWarning {
  /** Stable code, e.g. `CUDA_FALLBACK`. */
  readonly code: 'CUDA_FALLBACK';
  /** What happened and how to fix it. */
  readonly message: string;
  /** The underlying error. */
  readonly cause?: unknown;
}

/** Options of the onnxruntime-node backend. */
export interface OrtNodeOptions {
  /** `'cpu'` (default) or `'cuda'`. */
  readonly device?: Device;
  /** CUDA device ordinal. Default 0. */
  readonly deviceId?: number;
  /** With `device: 'cuda'`: throw `BACKEND_UNAVAILABLE` instead of falling back to the CPU. Default false. */
  readonly strict?: boolean;
  /** Threads inside one operator. Default: onnxruntime's choice (the physical cores). */
  readonly intraOpNumThreads?: number;
  /** Threads across operators. Default: onnxruntime's choice. */
  readonly interOpNumThreads?: number;
  /** onnxruntime's CPU memory arena. Default true; false lowers peak memory at some speed. */
  readonly enableCpuMemArena?: boolean;
  /**
   * onnxruntime's memory-pattern planning (one block per run, sized from the first run's allocations). Default
   * false: measured on every model size here it costs memory and saves no time (Stable Diffusion's VAE decoding
   * 512x512: peak 2292 MiB with it, 1462 MiB without; docs/benchmarks.md); true restores onnxruntime's default.
   */
  readonly enableMemPattern?: boolean;
  /** Graph optimisation level. Default `'all'`. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** Receives warnings; default: `process.emitWarning`, observable with `process.on('warning')`. */
  readonly onWarning?: (warning: VaeWarning) => void;
}

const CUDA_HELP =
  'onnxruntime-node ships its CUDA execution provider as a separate download done by its install script; ' +
  'reinstall it with the script enabled (pnpm: add "onnxruntime-node" to onlyBuiltDependencies; npm: run without ' +
  '--ignore-scripts, with ONNXRUNTIME_NODE_INSTALL_CUDA=v12) on a machine with an NVIDIA driver, CUDA 12 and cuDNN 9.';

function optionalCount(value: unknown, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(option, `Expected "${option}" to be a non-negative integer but received ${describe(value)}.`);
  }
  return value;
}

function optionalBoolean(value: unknown, option: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidOptionError(option, `Expected "${option}" to be true or false but received ${describe(value)}.`);
  return value;
}

/**
 * The onnxruntime-node backend: CPU, or CUDA with a fallback to CPU.
 *
 * @example
 * const backend = new OrtNodeBackend({ device: 'cuda', strict: true });
 */
export class OrtNodeBackend implements Backend {
  readonly specificationVersion = 'v1' as const;
  private readonly device: Device;
  private readonly deviceId: number;
  private readonly strict: boolean;
  private readonly sessionOptions: ort.InferenceSession.SessionOptions;
  private readonly onWarning: (warning: VaeWarning) => void;
  /** The execution provider the sessions really run on; `'cpu'` after a CUDA fallback. */
  executionProvider: Device;

  /**
   * @param options - see {@link OrtNodeOptions}
   * @throws {@link InvalidOptionError} for a bad option, listing the valid values
   */
  constructor(options: OrtNodeOptions = {}) {
    this.device = optionChoice(options.device, 'device', DEVICES, 'cpu');
    this.deviceId = optionalCount(options.deviceId, 'deviceId') ?? 0;
    this.strict = optionalBoolean(options.strict, 'strict') ?? false;
    const intra = optionalCount(options.intraOpNumThreads, 'intraOpNumThreads');
    const inter = optionalCount(options.interOpNumThreads, 'interOpNumThreads');
    const arena = optionalBoolean(options.enableCpuMemArena, 'enableCpuMemArena');
    const pattern = optionalBoolean(options.enableMemPattern, 'enableMemPattern');
    const level = optionChoice(options.graphOptimizationLevel, 'graphOptimizationLevel', GRAPH_OPTIMIZATION_LEVELS, 'all');
    if (options.onWarning !== undefined && typeof options.onWarning !== 'function') {
      throw new InvalidOptionError('onWarning', `Expected "onWarning" to be a function but received ${describe(options.onWarning)}.`);
    }
    this.onWarning = options.onWarning ?? ((w) => process.emitWarning(w.message, { code: `ONNX_VAE_${w.code}` }));
    this.sessionOptions = {
      graphOptimizationLevel: level,
      ...(intra === undefined ? {} : { intraOpNumThreads: intra }),
      ...(inter === undefined ? {} : { interOpNumThreads: inter }),
      ...(arena === undefined ? {} : { enableCpuMemArena: arena }),
      enableMemPattern: pattern ?? false,
    };
    this.executionProvider = this.device;
  }

  get name(): string {
    return `onnxruntime-node ${ort.env.versions.node} (${this.executionProvider})`;
  }

  async createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
    const label = 'path' in source ? source.path : `${role} bytes`;
    if (this.executionProvider === 'cuda') {
      // onnxruntime logs a failed CUDA provider load itself, in red, before throwing; onnx-vae reports it (warning or
      // BACKEND_UNAVAILABLE) with a fix, so keep onnxruntime's own log to fatal errors unless the caller chose a level.
      if (ort.env.logLevel === undefined || ort.env.logLevel === 'warning') ort.env.logLevel = 'fatal';
      try {
        return await this.open(source, label, [{ name: 'cuda', deviceId: this.deviceId }], 4);
      } catch (error) {
        if (error instanceof ModelFileError) throw error;
        const reason = (error as Error)?.message ?? String(error);
        if (this.strict) {
          throw new BackendError('BACKEND_UNAVAILABLE', `The CUDA execution provider could not be loaded for the ${role} (${reason}). ${CUDA_HELP}`, { cause: error });
        }
        this.executionProvider = 'cpu';
        this.onWarning({ code: 'CUDA_FALLBACK', message: `onnx-vae: the CUDA execution provider could not be loaded (${reason}); running on the CPU instead. ${CUDA_HELP} Pass strict: true to make this an error.`, cause: error });
      }
    }
    return this.open(source, label, ['cpu']);
  }

  private async open(source: ModelSource, label: string, providers: ort.InferenceSession.ExecutionProviderConfig[], logSeverityLevel?: 0 | 1 | 2 | 3 | 4): Promise<BackendSession> {
    const options: ort.InferenceSession.SessionOptions = {
      ...this.sessionOptions,
      executionProviders: providers,
      ...(logSeverityLevel === undefined ? {} : { logSeverityLevel }),
    };
    let session: ort.InferenceSession;
    try {
      session = 'path' in source ? await ort.InferenceSession.create(source.path, options) : await ort.InferenceSession.create(source.bytes, options);
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      if (isCorruptModelMessage(message)) {
        throw new ModelFileError('MODEL_FILE_CORRUPT', label, `onnxruntime could not load ${label}: ${message.split('\n')[0]}. Check that the file is a complete ONNX model (re-export or re-download it).`, { cause: error });
      }
      throw error;
    }
    return new OrtNodeSession(session);
  }
}

class OrtNodeSession implements BackendSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  private session: ort.InferenceSession | null;
  private readonly outputCount: number;
  private readonly halfInputs: ReadonlySet<string>;

  constructor(session: ort.InferenceSession) {
    this.session = session;
    this.outputCount = session.outputNames.length;
    this.inputs = tensorInfoFromOrt(session.inputMetadata);
    this.outputs = tensorInfoFromOrt(session.outputMetadata);
    this.halfInputs = float16Inputs(this.inputs);
  }

  run(feeds: Readonly<Record<string, VaeTensor>>, outputs: readonly string[]): Promise<Record<string, VaeTensor>> {
    const session = this.session;
    if (!session) return Promise.reject(new BackendError('DISPOSED', 'This onnxruntime session was released.'));
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name in feeds) {
      const tensor = feeds[name]!;
      if (this.halfInputs.size === 0) ortFeeds[name] = new ort.Tensor('float32', tensor.data, tensor.dims as number[]);
      else {
        const { type, data } = ortFeedData(tensor, this.halfInputs.has(name));
        ortFeeds[name] = new ort.Tensor(type, data, tensor.dims as number[]);
      }
    }
    // Asking for every output by name costs onnxruntime-common a fetch table per call; without names it returns all.
    const pending = outputs.length === this.outputCount ? session.run(ortFeeds) : session.run(ortFeeds, outputs as string[]);
    return pending.then((results) => {
      const out: Record<string, VaeTensor> = {};
      for (const name of outputs) {
        const tensor = results[name];
        if (tensor === undefined) throw new BackendError('INFERENCE_FAILED', `onnxruntime returned no output "${name}".`);
        out[name] = new VaeTensor(ortOutputData(name, tensor.type, tensor.data), tensor.dims);
      }
      return out;
    });
  }

  async release(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await session.release();
  }
}
