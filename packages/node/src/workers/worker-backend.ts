/**
 * Sessions in worker threads: a {@link Backend} whose graphs run in a piscina pool, so inference never blocks the
 * main thread's event loop. Each worker loads each graph once; the Vae API on top is unchanged.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { BackendError, InvalidOptionError, VaeError, VaeTensor, deserializeError, describe } from '@onnx-vae/core';
import type { Backend, BackendSession, ModelSource, RunOptions, TensorInfo } from '@onnx-vae/core';
import { OrtNodeBackend } from '../ort-backend.js';
import type { OrtNodeOptions } from '../ort-backend.js';
import type { WireTensor, WorkerData, WorkerResult, WorkerSource, WorkerTask } from './protocol.js';

/** Options of {@link WorkerPoolBackend}. */
export interface WorkerPoolOptions extends OrtNodeOptions {
  /** Worker threads, each with its own onnxruntime sessions. */
  readonly workers: number;
  /** V8 heap limits of each worker (Node's `resourceLimits`); a worker that exceeds them is replaced. */
  readonly resourceLimits?: { readonly maxOldGenerationSizeMb?: number; readonly maxYoungGenerationSizeMb?: number };
}

/**
 * Intra-op threads per worker when the caller gives none: the cores divided among the workers, at least 1, so that
 * workers x threads does not exceed the cores (`os.availableParallelism()`).
 */
export function defaultThreadsPerWorker(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / workers));
}

/** The compiled worker script: beside this module, or in the package's build when running from its sources. */
function sessionWorkerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'session-worker.js');
  return existsSync(beside) ? beside : resolve(here, '..', '..', 'dist', 'workers', 'session-worker.js');
}

function toWire(tensor: VaeTensor, transfer: ArrayBuffer[]): WireTensor {
  const data = tensor.data;
  // A view into a larger buffer (a chunk of a batch) would be cloned whole: copy its part once and move that.
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return { data, dims: [...tensor.dims] };
  const part = data.slice();
  transfer.push(part.buffer);
  return { data: part, dims: [...tensor.dims] };
}

/**
 * onnxruntime-node in a pool of worker threads (piscina). Made by `loadVae(dir, { workers })`.
 *
 * @example
 * const vae = await loadVae('models/kl-f8', { workers: 2 });   // 2 workers x (cores / 2) intra-op threads
 */
export class WorkerPoolBackend implements Backend {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  /** Worker threads. */
  readonly workers: number;
  /** Intra-op threads of each worker's sessions. */
  readonly threadsPerWorker: number;
  private readonly workerData: WorkerData;
  private readonly resourceLimits: WorkerPoolOptions['resourceLimits'];
  private started: Piscina<WorkerTask, WorkerResult> | null = null;
  private open = 0;
  private closed = false;
  private nextGraph = 0;

  /**
   * @param options - `workers` (a positive integer) and the onnxruntime-node options; `intraOpNumThreads` defaults
   *   to {@link defaultThreadsPerWorker}, `interOpNumThreads` to 1
   * @throws {@link InvalidOptionError} for a bad option
   */
  constructor(options: WorkerPoolOptions) {
    const { workers, resourceLimits, onWarning: _onWarning, ...ort } = options;
    if (typeof workers !== 'number' || !Number.isSafeInteger(workers) || workers < 1 || workers > 256) {
      throw new InvalidOptionError('workers', `Expected "workers" to be an integer from 1 to 256 but received ${describe(workers)}.`);
    }
    // Checks every onnxruntime option here, in the caller's thread, with the usual messages.
    const device = new OrtNodeBackend(options).executionProvider;
    this.workers = workers;
    this.threadsPerWorker = ort.intraOpNumThreads || defaultThreadsPerWorker(workers);
    this.workerData = { ort: { ...ort, intraOpNumThreads: this.threadsPerWorker, interOpNumThreads: ort.interOpNumThreads ?? 1 } };
    this.resourceLimits = resourceLimits;
    this.name = `onnxruntime-node (${device}) in ${workers} worker thread${workers === 1 ? '' : 's'} x ${this.threadsPerWorker} intra-op thread${this.threadsPerWorker === 1 ? '' : 's'}`;
  }

  /**
   * @internal The piscina pool (its `threads` are the workers), started with the first session, so a backend that
   * never opens a graph (a load that failed before) leaves no threads behind.
   */
  get pool(): Piscina<WorkerTask, WorkerResult> {
    if (this.started === null) {
      const { resourceLimits, workerData } = this;
      this.started = new Piscina<WorkerTask, WorkerResult>({
        filename: sessionWorkerFile(),
        minThreads: this.workers,
        maxThreads: this.workers,
        idleTimeout: 2 ** 31 - 1,
        workerData,
        ...(resourceLimits ? { resourceLimits } : {}),
      });
      // A worker that dies with no task running is replaced by piscina; nothing waits on it, so only warn.
      this.started.on('error', (error: Error) =>
        process.emitWarning(`onnx-vae: a session worker thread failed: ${error.message}`, { code: 'ONNX_VAE_WORKER_ERROR' }),
      );
    }
    return this.started;
  }

  async createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
    if (this.closed) throw new BackendError('DISPOSED', 'This worker pool was closed; load the VAE again.');
    let shared: WorkerSource;
    if ('path' in source) shared = { path: source.path };
    else {
      // The bytes once, in memory every worker reads (a SharedArrayBuffer crosses without a copy).
      const buffer = new SharedArrayBuffer(source.bytes.byteLength);
      new Uint8Array(buffer).set(source.bytes);
      shared = { shared: buffer };
    }
    const graph = `${role}:${this.nextGraph++}`;
    this.open++;
    try {
      // One open per worker, so each loads the graph now rather than on its first request.
      const replies = await Promise.all(Array.from({ length: this.workers }, () => this.pool.run({ type: 'open', graph, source: shared, role })));
      const reply = replies.find((r) => 'error' in r) ?? replies[0]!;
      if ('error' in reply) throw deserializeError(reply.error);
      if (!('info' in reply))
        throw new BackendError('INFERENCE_FAILED', `A session worker answered an open of the ${role} without the graph's inputs and outputs.`);
      return new WorkerSession(this, graph, shared, role, reply.info);
    } catch (error) {
      await this.released();
      throw VaeError.isInstance(error) ? error : workerFailure(error, role);
    }
  }

  /** @internal A session was released; the last one closes the pool (running tasks finish first). */
  async released(): Promise<void> {
    this.open--;
    if (this.open > 0 || this.closed) return;
    this.closed = true;
    await this.pool.close();
  }
}

function workerFailure(error: unknown, role: string): BackendError {
  const reason = (error as Error)?.message ?? String(error);
  return new BackendError(
    'INFERENCE_FAILED',
    `The worker thread running the ${role} stopped (${reason}); the pool has started another, so the call can be retried.`,
    { cause: error },
  );
}

class WorkerSession implements BackendSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly concurrency: number;
  private readonly backend: WorkerPoolBackend;
  private readonly graph: string;
  private readonly source: WorkerSource;
  private readonly role: 'encoder' | 'decoder';
  private readonly running = new Set<Promise<unknown>>();
  private isReleased = false;

  constructor(
    backend: WorkerPoolBackend,
    graph: string,
    source: WorkerSource,
    role: 'encoder' | 'decoder',
    info: { inputs: readonly TensorInfo[]; outputs: readonly TensorInfo[] },
  ) {
    this.backend = backend;
    this.graph = graph;
    this.source = source;
    this.role = role;
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.concurrency = backend.workers;
  }

  run(feeds: Readonly<Record<string, VaeTensor>>, outputs: readonly string[], options: RunOptions = {}): Promise<Record<string, VaeTensor>> {
    if (this.isReleased) return Promise.reject(new BackendError('DISPOSED', `The ${this.role} session was released; load the VAE again.`));
    // A signal is not handed to piscina: aborting a started task would terminate its worker and the loaded graphs.
    // The call itself rejects at once (the Vae races the signal); with batching, calls not started leave its queue.
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    const transfer: ArrayBuffer[] = [];
    const wire: Record<string, WireTensor> = {};
    for (const name in feeds) wire[name] = toWire(feeds[name]!, transfer);
    const task: WorkerTask = { type: 'run', graph: this.graph, source: this.source, role: this.role, feeds: wire, outputs };
    const pending = this.backend.pool.run(task, { transferList: transfer }).then(
      (reply) => {
        if ('error' in reply) throw deserializeError(reply.error);
        if (!('outputs' in reply)) throw new BackendError('INFERENCE_FAILED', `A session worker answered a run of the ${this.role} without outputs.`);
        const out: Record<string, VaeTensor> = {};
        for (const name in reply.outputs) out[name] = new VaeTensor(reply.outputs[name]!.data, reply.outputs[name]!.dims);
        return out;
      },
      (error: unknown) => {
        throw VaeError.isInstance(error) ? error : workerFailure(error, this.role);
      },
    );
    const tracked = pending.catch(() => {});
    this.running.add(tracked);
    void tracked.then(() => this.running.delete(tracked));
    return pending;
  }

  /** Waits for this session's running tasks, then releases it (the pool closes with its last session). */
  async release(): Promise<void> {
    if (this.isReleased) return;
    this.isReleased = true;
    await Promise.all(this.running);
    await this.backend.released();
  }
}
