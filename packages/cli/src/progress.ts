/**
 * A small progress bar for the CLI, written to stderr: `encode [#########-----------] 512/1000 items  51%  1.2s`.
 */

/** Where the bar is drawn. */
export interface ProgressStream {
  /** Writes text (stderr's `write`). */
  write(text: string): unknown;
  /** A terminal redraws the bar in place; elsewhere each update is a line. */
  readonly isTTY?: boolean;
}

const BAR_WIDTH = 24;
const TTY_INTERVAL_MS = 100;
const LOG_INTERVAL_MS = 1000;

/**
 * A progress bar over a known number of items. Disabled bars do nothing.
 *
 * @example
 * const bar = new ProgressBar('encode', 1000, process.stderr, true);
 * bar.advance(256); ... bar.finish();
 */
export class ProgressBar {
  private done = 0;
  private lastDraw = -Infinity;
  private readonly started = Date.now();

  /**
   * @param label - what is being done, e.g. `"encode"`
   * @param total - items to process
   * @param stream - where to draw (stderr)
   * @param enabled - false: draw nothing
   */
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: ProgressStream,
    private readonly enabled: boolean,
  ) {}

  /** Marks `count` more items as done and redraws (at most every 100 ms on a terminal, every second elsewhere). */
  advance(count: number): void {
    this.done = Math.min(this.total, this.done + count);
    if (!this.enabled) return;
    const now = Date.now();
    if (this.done < this.total && now - this.lastDraw < (this.stream.isTTY ? TTY_INTERVAL_MS : LOG_INTERVAL_MS)) return;
    this.lastDraw = now;
    this.draw();
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.enabled) return;
    if (this.lastDraw === -Infinity || this.done < this.total) this.draw();
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private draw(): void {
    const fraction = this.total === 0 ? 1 : this.done / this.total;
    const filled = Math.round(fraction * BAR_WIDTH);
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    const text = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${this.done}/${this.total} items ${String(Math.floor(fraction * 100)).padStart(3)}% ${seconds}s`;
    this.stream.write(this.stream.isTTY ? `\r${text}\x1b[K` : `${text}\n`);
  }
}

/**
 * Whether to show a bar: only when the work takes more than one batch, and then on a terminal, or anywhere with
 * `--progress`; never with `--no-progress`.
 */
export function progressEnabled(batches: number, stream: ProgressStream, flags: { progress: boolean; noProgress: boolean }): boolean {
  if (flags.noProgress || batches <= 1) return false;
  return flags.progress || stream.isTTY === true;
}
