/**
 * Progress of a dataset job over its shards: items done (stored or failed), items/s in this run, and the ETA. Local
 * runs feed it from their workers; distributed runs from BullMQ's job progress events.
 */

/** A snapshot of a job's progress. */
export interface DatasetProgress {
  /** Items handled (stored or failed), skipped shards included. */
  readonly done: number;
  /** Items failed. */
  readonly errors: number;
  /** Items planned. */
  readonly total: number;
  /** Shards finished (written, skipped or failed for good). */
  readonly shardsDone: number;
  /** Shards planned. */
  readonly shards: number;
  /** Items per second handled in this run (skipped shards not counted). */
  readonly itemsPerSecond: number;
  /** Seconds left at that rate; `null` before the first item. */
  readonly etaSeconds: number | null;
  /** Seconds since the run started. */
  readonly seconds: number;
}

/** Sums per-shard progress into {@link DatasetProgress}. */
export class ProgressTracker {
  private readonly perShard = new Map<string, { done: number; errors: number; finished: boolean; skipped: boolean }>();
  private readonly started = performance.now();

  /**
   * @param total - items planned
   * @param shards - shards planned
   */
  constructor(
    private readonly total: number,
    private readonly shards: number,
  ) {}

  /** Records a shard's progress (counts only grow: a retried shard restarting at 0 does not go back). */
  update(file: string, done: number, errors: number): void {
    const entry = this.perShard.get(file) ?? { done: 0, errors: 0, finished: false, skipped: false };
    entry.done = Math.max(entry.done, done);
    entry.errors = Math.max(entry.errors, errors);
    this.perShard.set(file, entry);
  }

  /** Marks a shard finished; `skipped` when it was already complete (its items do not count towards the rate). */
  finish(file: string, done: number, errors: number, skipped = false): void {
    this.perShard.set(file, { done, errors, finished: true, skipped });
  }

  /** The current snapshot. */
  snapshot(): DatasetProgress {
    let done = 0;
    let errors = 0;
    let shardsDone = 0;
    let skippedItems = 0;
    for (const entry of this.perShard.values()) {
      done += entry.done;
      errors += entry.errors;
      if (entry.finished) shardsDone++;
      if (entry.skipped) skippedItems += entry.done;
    }
    const seconds = (performance.now() - this.started) / 1000;
    const worked = done - skippedItems;
    const itemsPerSecond = seconds > 0 ? worked / seconds : 0;
    const etaSeconds = itemsPerSecond > 0 ? (this.total - done) / itemsPerSecond : null;
    return { done, errors, total: this.total, shardsDone, shards: this.shards, itemsPerSecond, etaSeconds, seconds };
  }
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * One line of progress: `[#########-----------] 512/1000 items, 3 errors, 41.2 items/s, ETA 12s`.
 */
export function formatProgress(progress: DatasetProgress): string {
  const width = 20;
  const fraction = progress.total === 0 ? 1 : progress.done / progress.total;
  const filled = Math.round(fraction * width);
  const eta = progress.etaSeconds === null ? 'ETA --' : `ETA ${duration(progress.etaSeconds)}`;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${progress.done}/${progress.total} items, ${progress.errors} errors, shards ${progress.shardsDone}/${progress.shards}, ${progress.itemsPerSecond.toFixed(1)} items/s, ${eta}`;
}
