/**
 * The messages between the main thread and the session workers (piscina tasks and their results). Tensors cross
 * as `{ data, dims }`; errors as {@link SerializedError}s, so they keep their class and code.
 */
import type { SerializedError, TensorInfo } from '@onnx-vae/core';
import type { OrtNodeOptions } from '../ort-backend.js';

/** Where a worker loads a graph from: a path, or the bytes in memory shared by every worker. */
export type WorkerSource = { readonly path: string } | { readonly shared: SharedArrayBuffer };

/** What each worker gets at start: the onnxruntime options (functions cannot cross). */
export interface WorkerData {
  readonly ort: Omit<OrtNodeOptions, 'onWarning'>;
}

/** A tensor as it crosses. */
export interface WireTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

interface GraphTask {
  /** Identifies the graph in each worker's cache of loaded sessions. */
  readonly graph: string;
  readonly source: WorkerSource;
  readonly role: 'encoder' | 'decoder';
}

/** A task for a worker: load a graph (and say what it takes), or run it. */
export type WorkerTask =
  | (GraphTask & { readonly type: 'open' })
  | (GraphTask & { readonly type: 'run'; readonly feeds: Readonly<Record<string, WireTensor>>; readonly outputs: readonly string[] });

/** A worker's answer. */
export type WorkerResult =
  | { readonly info: { readonly inputs: readonly TensorInfo[]; readonly outputs: readonly TensorInfo[] } }
  | { readonly outputs: Readonly<Record<string, WireTensor>> }
  | { readonly error: SerializedError };
