/**
 * Dynamic micro-batching of one graph: concurrent runs whose feeds have the same names and the same item shape
 * (the dims after the batch axis) and that ask for the same outputs are concatenated along the batch axis, run
 * once, and split back by rows. Runs of different shapes queue in separate groups; nothing is padded. All of
 * onnx-vae's maths (noise, posteriors, scores) happens outside the session, so each call's numbers are its own
 * whatever it was batched with.
 */
import type { BackendSession, DeviceTensor, RunOptions } from '../backend.js';
import { abortReason, host } from '../cancellation.js';
import type { AbortSignalLike } from '../cancellation.js';
import { BackendError, RequestError } from '../errors.js';
import type { TensorInfo } from '../manifest/types.js';
import { VaeTensor, sizeOf } from '../tensor/tensor.js';
import type { BatchingSettings } from './options.js';
import type { Batching } from './monitor.js';

type Feeds = Readonly<Record<string, VaeTensor>>;
type Outputs = Record<string, VaeTensor>;

interface Pending {
  readonly feeds: Feeds;
  readonly outputs: readonly string[];
  readonly rows: number;
  /** Calls with equal keys can share a run. */
  readonly key: string;
  readonly enqueued: number;
  readonly signal: AbortSignalLike | undefined;
  readonly resolve: (outputs: Outputs) => void;
  readonly reject: (error: unknown) => void;
  onAbort?: () => void;
  started: boolean;
  settled: boolean;
}

function now(): number {
  return host.performance ? host.performance.now() : Date.now();
}

/** Rows of a run's feeds, or -1 when they disagree (such a run is never batched with another). */
function rowsOf(feeds: Feeds): number {
  let rows = -1;
  for (const name in feeds) {
    const first = feeds[name]!.dims[0] ?? 1;
    if (rows === -1) rows = first;
    else if (rows !== first) return -1;
  }
  return rows;
}

function keyOf(feeds: Feeds, outputs: readonly string[], rows: number, serial: number): string {
  if (rows === -1) return `alone:${serial}`;
  const parts = Object.keys(feeds)
    .sort()
    .map((name) => `${name}[${feeds[name]!.dims.slice(1).join(',')}]`);
  return `${parts.join(';')}->${outputs.join(',')}`;
}

/**
 * A {@link BackendSession} that batches the runs of another. Made by `createVae` with its `batching` option.
 *
 * @internal
 */
export class BatchingSession implements BackendSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  private readonly inner: BackendSession;
  private readonly graph: 'encoder' | 'decoder';
  private readonly settings: BatchingSettings;
  private readonly batching: Batching;
  private queue: Pending[] = [];
  private readonly running = new Set<Promise<void>>();
  private timer: { readonly at: number; cancel(): void } | undefined = undefined;
  private serial = 0;
  private released = false;

  constructor(inner: BackendSession, graph: 'encoder' | 'decoder', settings: BatchingSettings, batching: Batching) {
    this.inner = inner;
    this.graph = graph;
    this.settings = settings;
    this.batching = batching;
    this.inputs = inner.inputs;
    this.outputs = inner.outputs;
  }

  /** Device-memory runs (WebGPU) pass straight through, unbatched; read from the inner session when asked (a lazy one has them once it exists). */
  get runDevice(): BackendSession['runDevice'] {
    const inner = this.inner;
    return inner.runDevice && ((feeds: Readonly<Record<string, VaeTensor | DeviceTensor>>, outputs: readonly string[]) => inner.runDevice!(feeds, outputs));
  }

  /** Runs in flight at once: the inner session's concurrency (a worker pool's), read when scheduling. */
  private get parallel(): number {
    return Math.max(1, this.inner.concurrency ?? 1);
  }

  run(feeds: Feeds, outputs: readonly string[], options: RunOptions = {}): Promise<Outputs> {
    const signal = options.signal;
    if (this.released) return Promise.reject(new BackendError('DISPOSED', `The ${this.graph} session was released; load the VAE again.`));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.batching.queued >= this.settings.maxQueue) {
      this.batching.refused();
      return Promise.reject(
        new RequestError(
          'QUEUE_FULL',
          `The request queue is full (${this.settings.maxQueue} calls waiting, batching.maxQueue); retry later, or raise maxQueue or the throughput (workers, maxBatchSize).`,
        ),
      );
    }
    const rows = rowsOf(feeds);
    return new Promise<Outputs>((resolve, reject) => {
      const pending: Pending = {
        feeds,
        outputs,
        rows,
        key: keyOf(feeds, outputs, rows, this.serial++),
        enqueued: now(),
        signal,
        resolve,
        reject,
        started: false,
        settled: false,
      };
      if (signal) {
        pending.onAbort = () => this.abort(pending);
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.queue.push(pending);
      this.batching.changeQueued(1);
      this.schedule();
    });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.clearTimer();
    const waiting = this.queue;
    this.queue = [];
    this.batching.changeQueued(-waiting.length);
    for (const pending of waiting) this.settle(pending, new BackendError('DISPOSED', `The VAE was disposed before this ${this.graph} call ran.`));
    // Runs already started finish (their calls get their results), then the graph is released.
    await Promise.all(this.running);
    await this.inner.release();
  }

  /** An aborted call: removed from the queue if it has not started, and rejected at once either way. */
  private abort(pending: Pending): void {
    if (!pending.started) {
      const index = this.queue.indexOf(pending);
      if (index >= 0) {
        this.queue.splice(index, 1);
        this.batching.changeQueued(-1);
      }
    }
    this.settle(pending, abortReason(pending.signal!));
  }

  private settle(pending: Pending, error: unknown, outputs?: Outputs): void {
    if (pending.settled) return;
    pending.settled = true;
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
    if (outputs) pending.resolve(outputs);
    else pending.reject(error);
  }

  private clearTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * Arranges the next flush, when a run can start: after the oldest call's delay; with no delay, at the end of this
   * turn (a microtask, so calls made in the same turn join), or, right after a run, on the next turn of the event
   * loop, so that the requests that arrived during the run (read in its I/O phase) join the next one.
   */
  private schedule(afterRun = false): void {
    if (this.released || this.queue.length === 0 || this.running.size >= this.parallel) return;
    const oldest = this.queue[0]!;
    const full = this.groupRows(oldest.key) >= this.settings.maxBatchSize;
    const due = full ? 0 : Math.max(0, oldest.enqueued + this.settings.maxDelayMs - now());
    const at = now() + due;
    if (this.timer !== undefined) {
      if (this.timer.at <= at) return;
      this.clearTimer();
    }
    if (due === 0 && !afterRun) {
      let cancelled = false;
      void Promise.resolve().then(() => cancelled || this.flush());
      this.timer = { at, cancel: () => (cancelled = true) };
    } else if (due === 0 && host.setImmediate && host.clearImmediate) {
      const handle = host.setImmediate(() => this.flush());
      this.timer = { at, cancel: () => host.clearImmediate!(handle) };
    } else {
      const handle = host.setTimeout(() => this.flush(), due);
      this.timer = { at, cancel: () => host.clearTimeout(handle) };
    }
  }

  private flush(): void {
    this.timer = undefined;
    while (!this.released && this.queue.length > 0 && this.running.size < this.parallel) {
      const oldest = this.queue[0]!;
      const full = this.groupRows(oldest.key) >= this.settings.maxBatchSize;
      if (!full && now() - oldest.enqueued < this.settings.maxDelayMs) break;
      this.start(this.take());
    }
    this.schedule();
  }

  private groupRows(key: string): number {
    let rows = 0;
    for (const pending of this.queue) if (pending.key === key) rows += pending.rows;
    return rows;
  }

  /** The oldest call and the next calls of its group that fit in `maxBatchSize` rows, in arrival order. */
  private take(): Pending[] {
    const first = this.queue[0]!;
    const batch = [first];
    let rows = first.rows;
    for (let i = 1; i < this.queue.length && rows < this.settings.maxBatchSize; i++) {
      const pending = this.queue[i]!;
      if (pending.key === first.key && rows + pending.rows <= this.settings.maxBatchSize) {
        batch.push(pending);
        rows += pending.rows;
      }
    }
    const taken = new Set(batch);
    this.queue = this.queue.filter((pending) => !taken.has(pending));
    this.batching.changeQueued(-batch.length);
    return batch;
  }

  private start(batch: Pending[]): void {
    const started = now();
    let waitMs = 0;
    for (const pending of batch) {
      pending.started = true;
      waitMs = Math.max(waitMs, started - pending.enqueued);
    }
    const rows = batch.reduce((sum, pending) => sum + pending.rows, 0);
    const outputs = batch[0]!.outputs;
    let result: Promise<Outputs>;
    try {
      result = this.inner.run(batch.length === 1 ? batch[0]!.feeds : concatFeeds(batch), outputs);
    } catch (error) {
      result = Promise.reject(error);
    }
    this.batching.changeRunning(1);
    const done: Promise<void> = result
      .then(
        (out) => {
          if (batch.length === 1) this.settle(batch[0]!, null, out);
          else splitOutputs(out, batch, rows, (pending, split) => this.settle(pending, null, split));
          return false;
        },
        (error: unknown) => {
          // A failed run fails exactly the calls in it.
          for (const pending of batch) this.settle(pending, error);
          return true;
        },
      )
      .then((failed) => {
        this.running.delete(done);
        this.batching.changeRunning(-1);
        this.batching.report({ graph: this.graph, requests: batch.length, size: rows, waitMs, runMs: now() - started, failed });
        this.schedule(true);
      });
    this.running.add(done);
  }
}

function concatFeeds(batch: readonly Pending[]): Feeds {
  const rows = batch.reduce((sum, pending) => sum + pending.rows, 0);
  const feeds: Record<string, VaeTensor> = {};
  for (const name in batch[0]!.feeds) {
    const itemDims = batch[0]!.feeds[name]!.dims.slice(1);
    const data = new Float32Array(rows * sizeOf(itemDims));
    let offset = 0;
    for (const pending of batch) {
      const part = pending.feeds[name]!.data;
      data.set(part, offset);
      offset += part.length;
    }
    feeds[name] = new VaeTensor(data, [rows, ...itemDims]);
  }
  return feeds;
}

/**
 * Each call's rows of every output (copied, so no call's result holds another's memory); an output without the
 * batch axis (e.g. a learned scale of fixed dims) goes whole to every call.
 */
function splitOutputs(out: Outputs, batch: readonly Pending[], rows: number, give: (pending: Pending, outputs: Outputs) => void): void {
  let start = 0;
  for (const pending of batch) {
    const mine: Outputs = {};
    for (const name of pending.outputs) {
      const tensor = out[name];
      if (tensor === undefined) continue;
      if (tensor.dims[0] === rows) {
        const per = sizeOf(tensor.dims.slice(1));
        mine[name] = new VaeTensor(tensor.data.slice(start * per, (start + pending.rows) * per), [pending.rows, ...tensor.dims.slice(1)]);
      } else mine[name] = new VaeTensor(tensor.data.slice(), tensor.dims);
    }
    start += pending.rows;
    give(pending, mine);
  }
}
