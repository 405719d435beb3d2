import type { GraphInfo } from './manifest/types.js';
import type { VaeTensor } from './tensor/tensor.js';
import type { AbortSignalLike } from './cancellation.js';

/** Options of one {@link BackendSession.run}. */
export interface RunOptions {
  /** The call's signal (its reason is a typed `ABORTED` or `TIMEOUT` error); a backend may drop work not started. */
  readonly signal?: AbortSignalLike;
}

/**
 * Where a backend reads a graph from: a file path (Node) or the graph's bytes (anywhere).
 */
export type ModelSource = { readonly path: string } | { readonly bytes: Uint8Array };

/**
 * One loaded graph. The seam between core and a runtime binding: create, run with named float32 tensors, release.
 */
export interface BackendSession extends GraphInfo {
  /**
   * Runs the graph.
   *
   * @param feeds - inputs by name
   * @param outputs - names of the outputs to fetch
   * @param options - `signal`: backends that can, drop the run when it aborts before it starts
   * @returns the fetched outputs, as float32 tensors in CPU memory
   */
  run(feeds: Readonly<Record<string, VaeTensor>>, outputs: readonly string[], options?: RunOptions): Promise<Record<string, VaeTensor>>;
  /** Optional: how many runs the session executes at once (a pool of worker threads); default 1. */
  readonly concurrency?: number;
  /**
   * Optional: runs with device-memory feeds allowed, and leaves the outputs that the session keeps in device memory
   * (onnxruntime-web on WebGPU: the encoder's outputs) there, as {@link DeviceTensor}s; other outputs come back as
   * VaeTensors. Backends without device memory leave it out, and core then uses {@link BackendSession.run}.
   */
  runDevice?(feeds: Readonly<Record<string, VaeTensor | DeviceTensor>>, outputs: readonly string[]): Promise<Record<string, VaeTensor | DeviceTensor>>;
  /** Releases the graph's native resources. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * A float32 tensor in device memory (a WebGPU buffer), made by {@link BackendSession.runDevice}. Opaque to core: it
 * is fed back to a session of the same backend, downloaded, or disposed.
 */
export interface DeviceTensor {
  /** Where the data lives, e.g. `'gpu-buffer'`. */
  readonly location: string;
  /** Dimensions, batch first. */
  readonly dims: readonly number[];
  /** Copies the data to CPU memory. The tensor stays valid. */
  download(): Promise<VaeTensor>;
  /**
   * Channels `start` to `start + count` (axis 1) of every item, copied into a new device tensor (the mean half of a
   * moments output) without leaving the device.
   */
  sliceChannels(start: number, count: number): Promise<DeviceTensor>;
  /** Frees the device memory. Safe to call twice. */
  dispose(): void;
}

/**
 * What a backend really runs the graphs on, after its own choices (an `'auto'` device, a fallback): read it from
 * `vae.backendInfo`.
 */
export interface BackendInfo {
  /** The backend's name, as {@link Backend.name}, e.g. `onnxruntime-web 1.30.0 (wasm, float32)`. */
  readonly name: string;
  /** The device asked for, e.g. `'auto'`, `'webgpu'`, `'cuda'`. */
  readonly requestedDevice: string;
  /** The device the graphs run on, e.g. `'wasm'`, `'webgpu'`, `'cpu'`, `'cuda'`. */
  readonly device: string;
  /** The graphs' precision: `'float16'` where a manifest's float16 graphs were chosen, else `'float32'`. */
  readonly precision: 'float32' | 'float16';
  /** Why this device (and precision), in words, e.g. `auto: the WebGPU adapter is a fallback (software) adapter; ...`. */
  readonly reason: string;
  /** True when a device was tried and could not be used, so the backend moved to another (CUDA to CPU, WebGPU to wasm). */
  readonly fellBack: boolean;
}

/**
 * A runtime binding (onnxruntime-node, onnxruntime-web, ...). Adding a backend touches no core code.
 */
export interface Backend {
  /** Version of this interface. */
  readonly specificationVersion: 'v1';
  /** Human-readable name, e.g. `onnxruntime-node (cpu)`. */
  readonly name: string;
  /** Optional: what the backend runs on and why, once its sessions exist (see {@link BackendInfo}). */
  readonly info?: BackendInfo;
  /**
   * Loads one graph.
   *
   * @param source - the graph's path or bytes
   * @param role - which graph of the pair, for messages
   */
  createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession>;
}
