import type { BackendSession } from '../backend.js';
import { host } from '../cancellation.js';
import { BatchingSession } from './batching-session.js';
import { batchingSettings } from './options.js';
import type { BatchEvent, BatchingOptions, BatchingSettings } from './options.js';

/** Counters of a batching VAE since it was loaded. */
export interface BatchingStats {
  /** Calls waiting now (both graphs). */
  readonly queued: number;
  /** Graph runs executing now. */
  readonly running: number;
  /** Graph runs done. */
  readonly batches: number;
  /** Calls served by them. */
  readonly requests: number;
  /** Items (rows) run. */
  readonly items: number;
  /** Calls refused with `QUEUE_FULL`. */
  readonly rejected: number;
}

/**
 * The batching of one VAE (`vae.batching`): its settings, live counters, and batch events. Both graphs' queues
 * report here, and `maxQueue` bounds their sum.
 */
export class Batching {
  /** The settings in force. */
  readonly settings: BatchingSettings;
  private readonly listeners = new Set<(event: BatchEvent) => void>();
  private counts = { queued: 0, running: 0, batches: 0, requests: 0, items: 0, rejected: 0 };

  /** Made by `createVae` from its `batching` option (kept in the declarations so that `new Batching()` without options does not type-check). */
  constructor(options: BatchingOptions) {
    this.settings = Object.freeze(batchingSettings(options));
    if (options.onBatch) this.listeners.add(options.onBatch);
  }

  /** A snapshot of the counters. */
  stats(): BatchingStats {
    return { ...this.counts };
  }

  /**
   * Calls `listener` after every graph run.
   *
   * @returns a function that unsubscribes
   */
  subscribe(listener: (event: BatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal Wraps a session so its runs are batched under these settings. */
  wrap(session: BackendSession, graph: 'encoder' | 'decoder'): BatchingSession {
    return new BatchingSession(session, graph, this.settings, this);
  }

  /** @internal */
  get queued(): number {
    return this.counts.queued;
  }

  /** @internal */
  changeQueued(delta: number): void {
    this.counts.queued += delta;
  }

  /** @internal */
  changeRunning(delta: number): void {
    this.counts.running += delta;
  }

  /** @internal */
  refused(): void {
    this.counts.rejected++;
  }

  /** @internal */
  report(event: Omit<BatchEvent, 'queued'>): void {
    this.counts.batches++;
    this.counts.requests += event.requests;
    this.counts.items += event.size;
    const full: BatchEvent = { ...event, queued: this.counts.queued };
    for (const listener of this.listeners) {
      try {
        listener(full);
      } catch (error) {
        // A listener's fault must not fail the calls of the batch; report it as uncaught, as an event emitter would.
        host.setTimeout(() => {
          throw error;
        }, 0);
      }
    }
  }
}
