import * as ort from 'onnxruntime-node';
import { BackendError, InvalidOptionError, ModelFileError, describe } from '@onnx-vae/core';
import type { Backend, BackendInfo, BackendSession, ModelSource } from '@onnx-vae/core';
import { GRAPH_OPTIMIZATION_LEVELS, OrtSession, createOrtSession, optionChoice, optionalBoolean, optionalInteger } from '@onnx-vae/ort-common';
import type { GraphOptimizationLevel } from '@onnx-vae/ort-common';

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
  /** Why the CUDA execution provider was not used, after a fallback; else `null`. */
  private fallbackReason: string | null = null;

  /**
   * @param options - see {@link OrtNodeOptions}
   * @throws {@link InvalidOptionError} for a bad option, listing the valid values
   */
  constructor(options: OrtNodeOptions = {}) {
    this.device = optionChoice(options.device, 'device', DEVICES, 'cpu');
    this.deviceId = optionalInteger(options.deviceId, 'deviceId', 0) ?? 0;
    this.strict = optionalBoolean(options.strict, 'strict') ?? false;
    const intra = optionalInteger(options.intraOpNumThreads, 'intraOpNumThreads', 0);
    const inter = optionalInteger(options.interOpNumThreads, 'interOpNumThreads', 0);
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

  /** The device asked for and the one the sessions run on, and why (`vae.backendInfo`). */
  get info(): BackendInfo {
    const fellBack = this.fallbackReason !== null;
    const reason = fellBack
      ? `device "cuda" was requested, but the CUDA execution provider could not be loaded (${this.fallbackReason}); running on the CPU`
      : this.device === 'cuda'
        ? `requested (CUDA device ${this.deviceId})`
        : 'requested (the default)';
    return { name: this.name, requestedDevice: this.device, device: this.executionProvider, precision: 'float32', reason, fellBack };
  }

  async createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
    const label = 'path' in source ? source.path : `${role} bytes`;
    if (this.executionProvider === 'cuda') {
      // onnxruntime logs a failed CUDA provider load itself, in red, before throwing; onnx-vae reports it (warning or
      // BACKEND_UNAVAILABLE) with a fix, so keep onnxruntime's own log to fatal errors unless the caller chose a level.
      if (ort.env.logLevel === undefined || ort.env.logLevel === 'warning') ort.env.logLevel = 'fatal';
      try {
        return await this.open(source, label, role, [{ name: 'cuda', deviceId: this.deviceId }], 4);
      } catch (error) {
        if (error instanceof ModelFileError) throw error;
        const reason = (error as Error)?.message ?? String(error);
        if (this.strict) {
          throw new BackendError('BACKEND_UNAVAILABLE', `The CUDA execution provider could not be loaded for the ${role} (${reason}). ${CUDA_HELP}`, {
            cause: error,
          });
        }
        this.executionProvider = 'cpu';
        this.fallbackReason = reason.split('\n')[0]!;
        this.onWarning({
          code: 'CUDA_FALLBACK',
          message: `onnx-vae: the CUDA execution provider could not be loaded (${reason}); running on the CPU instead. ${CUDA_HELP} Pass strict: true to make this an error.`,
          cause: error,
        });
      }
    }
    return this.open(source, label, role, ['cpu']);
  }

  private async open(
    source: ModelSource,
    label: string,
    role: 'encoder' | 'decoder',
    providers: ort.InferenceSession.ExecutionProviderConfig[],
    logSeverityLevel?: 0 | 1 | 2 | 3 | 4,
  ): Promise<BackendSession> {
    const options: ort.InferenceSession.SessionOptions = {
      ...this.sessionOptions,
      executionProviders: providers,
      ...(logSeverityLevel === undefined ? {} : { logSeverityLevel }),
    };
    const session = await createOrtSession(
      () => ('path' in source ? ort.InferenceSession.create(source.path, options) : ort.InferenceSession.create(source.bytes, options)),
      'onnxruntime',
      label,
    );
    return new OrtSession(session, ort, { runtime: 'onnxruntime', role });
  }
}
