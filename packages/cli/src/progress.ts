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
 * One status line on stderr, redrawn in place on a terminal (at most every 100 ms) and written as a new line
 * elsewhere (at most every second). Disabled lines draw nothing. {@link ProgressBar} draws through one; commands
 * with their own status text (the dataset jobs) use it directly.
 */
export class ProgressLine {
  private lastDraw = -Infinity;
  private latest: string | null = null;
  private drawn: string | null = null;

  /**
   * @param stream - where to draw (stderr)
   * @param enabled - false: draw nothing
   */
  constructor(
    private readonly stream: ProgressStream,
    private readonly enabled: boolean,
  ) {}

  /** Shows `text`, unless the last draw was too recent; `force` draws it anyway (e.g. when the work is complete). */
  update(text: string, force = false): void {
    this.latest = text;
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < (this.stream.isTTY ? TTY_INTERVAL_MS : LOG_INTERVAL_MS)) return;
    this.lastDraw = now;
    this.draw(text);
  }

  /** Whether anything was drawn. */
  get hasDrawn(): boolean {
    return this.drawn !== null;
  }

  /** Draws the latest text if it was not drawn, and ends the line on a terminal. */
  finish(): void {
    if (!this.enabled || this.latest === null) return;
    if (this.drawn !== this.latest) this.draw(this.latest);
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private draw(text: string): void {
    this.drawn = text;
    this.stream.write(this.stream.isTTY ? `\r${text}\x1b[K` : `${text}\n`);
  }
}

/**
 * A progress bar over a known number of items. Disabled bars do nothing.
 *
 * @example
 * const bar = new ProgressBar('encode', 1000, process.stderr, true);
 * bar.advance(256); ... bar.finish();
 */
export class ProgressBar {
  private done = 0;
  private readonly started = Date.now();
  private readonly line: ProgressLine;

  /**
   * @param label - what is being done, e.g. `"encode"`
   * @param total - items to process
   * @param stream - where to draw (stderr)
   * @param enabled - false: draw nothing
   */
  constructor(
    private readonly label: string,
    private readonly total: number,
    stream: ProgressStream,
    enabled: boolean,
  ) {
    this.line = new ProgressLine(stream, enabled);
  }

  /** Marks `count` more items as done and redraws (at most every 100 ms on a terminal, every second elsewhere). */
  advance(count: number): void {
    this.done = Math.min(this.total, this.done + count);
    this.line.update(this.text(), this.done >= this.total);
  }

  /** Draws the final state (unless the complete bar is drawn already) and ends the line. */
  finish(): void {
    if (this.done < this.total || !this.line.hasDrawn) this.line.update(this.text());
    this.line.finish();
  }

  private text(): string {
    const fraction = this.total === 0 ? 1 : this.done / this.total;
    const filled = Math.round(fraction * BAR_WIDTH);
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    return `${this.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor(this.done)}/${this.total} items ${String(Math.floor(fraction * 100)).padStart(3)}% ${seconds}s`;
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
