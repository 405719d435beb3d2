import { InvalidOptionError, describe } from '../errors.js';

/** One coalesced graph run, as reported to {@link BatchingOptions.onBatch} and `vae.batching.subscribe`. */
export interface BatchEvent {
  /** Which graph ran. */
  readonly graph: 'encoder' | 'decoder';
  /** Calls served by the run. */
  readonly requests: number;
  /** Items (rows of the batch axis) in the run. */
  readonly size: number;
  /** Longest time a call of the run waited in the queue, ms. */
  readonly waitMs: number;
  /** Time the graph took, ms. */
  readonly runMs: number;
  /** Calls still waiting (both graphs) when the run ended. */
  readonly queued: number;
  /** Whether the run failed (every call in it was rejected). */
  readonly failed: boolean;
}

/** Micro-batching: concurrent calls with items of one shape are coalesced into one graph run. */
export interface BatchingOptions {
  /** Most items (rows) in one graph run; a call larger than this runs alone. Default 32. */
  readonly maxBatchSize?: number;
  /**
   * Longest time the oldest waiting call is held for others to join, ms. Default 0: a run takes what is queued
   * when the graph is free (calls made in the same event-loop turn, and those that arrived while it ran).
   */
  readonly maxDelayMs?: number;
  /** Most calls waiting (both graphs); more are refused at once with `QUEUE_FULL`. Default 1024. */
  readonly maxQueue?: number;
  /** Called after each graph run. */
  readonly onBatch?: (event: BatchEvent) => void;
}

/** The batching defaults. */
export const BATCHING_DEFAULTS = Object.freeze({ maxBatchSize: 32, maxDelayMs: 0, maxQueue: 1024 });

/** Validated batching settings. */
export interface BatchingSettings {
  readonly maxBatchSize: number;
  readonly maxDelayMs: number;
  readonly maxQueue: number;
}

function count(value: unknown, option: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
  throw new InvalidOptionError(`batching.${option}`, `Expected "batching.${option}" to be an integer of at least ${min} but received ${describe(value)}.`);
}

/** @internal Checks {@link BatchingOptions} and fills in the defaults. */
export function batchingSettings(options: BatchingOptions): BatchingSettings {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError(
      'batching',
      `Expected "batching" to be an object such as { maxBatchSize: 32, maxDelayMs: 0 } but received ${describe(options)}.`,
    );
  if (options.onBatch !== undefined && typeof options.onBatch !== 'function') {
    throw new InvalidOptionError('batching.onBatch', `Expected "batching.onBatch" to be a function but received ${describe(options.onBatch)}.`);
  }
  const maxDelayMs = options.maxDelayMs ?? BATCHING_DEFAULTS.maxDelayMs;
  if (typeof maxDelayMs !== 'number' || !(maxDelayMs >= 0) || maxDelayMs > 60_000) {
    throw new InvalidOptionError(
      'batching.maxDelayMs',
      `Expected "batching.maxDelayMs" to be a number of milliseconds from 0 to 60000 but received ${describe(options.maxDelayMs)}.`,
    );
  }
  return {
    maxBatchSize: count(options.maxBatchSize, 'maxBatchSize', BATCHING_DEFAULTS.maxBatchSize, 1),
    maxDelayMs,
    maxQueue: count(options.maxQueue, 'maxQueue', BATCHING_DEFAULTS.maxQueue, 0),
  };
}
