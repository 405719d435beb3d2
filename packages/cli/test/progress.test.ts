// The CLI's progress output: a bar over items (ProgressBar) and the status line under it (ProgressLine, also used by
// the dataset commands), on a terminal (redrawn in place) and elsewhere (a line per update), throttled.
import { ProgressBar, ProgressLine, progressEnabled } from '../src/progress';

function stream(isTTY: boolean): { write(text: string): void; isTTY: boolean; text: string } {
  return {
    isTTY,
    text: '',
    write(text: string) {
      this.text += text;
    },
  };
}

describe('progress', () => {
  it('draws a bar as lines off a terminal: the first update, then the complete bar, once', () => {
    const out = stream(false);
    const bar = new ProgressBar('encode', 5, out, true);
    bar.advance(2);
    bar.advance(2); // within a second of the first draw: not drawn
    bar.advance(1);
    bar.finish();
    expect(out.text).toMatch(/^encode \[#{10}-{14}\] 2\/5 items {2}40% \d+\.\ds\nencode \[#{24}\] 5\/5 items 100% \d+\.\ds\n$/);
  });

  it('redraws in place on a terminal and ends the line; shows whole items of fractional (tiled) progress', () => {
    const out = stream(true);
    const bar = new ProgressBar('decode', 2, out, true);
    bar.advance(0.5);
    bar.finish(); // a failure before the end: the last state, then a new line for the error message
    const draws = out.text.split('\r').slice(1);
    expect(out.text.startsWith('\r') && out.text.endsWith('\n')).toBe(true);
    for (const draw of draws) expect(draw.replace('\x1b[K', '').trimEnd()).toMatch(/^decode \[#{6}-{18}\] 0\/2 items {2}25% \d+\.\ds$/);
  });

  it('a status line draws its latest text on finish when a throttled update was not drawn', () => {
    const out = stream(false);
    const line = new ProgressLine(out, true);
    line.update('a');
    line.update('b');
    line.finish();
    expect(out.text).toBe('a\nb\n');
    const off = stream(false);
    const disabled = new ProgressLine(off, false);
    disabled.update('a', true);
    disabled.finish();
    expect(off.text).toBe('');
  });

  it.each([
    [1, false, { progress: true, noProgress: false }, false],
    [2, false, { progress: false, noProgress: false }, false],
    [2, false, { progress: true, noProgress: false }, true],
    [2, true, { progress: false, noProgress: false }, true],
    [2, true, { progress: true, noProgress: true }, false],
  ])('shows a bar for %d steps (terminal %s, %j): %s', (steps, isTTY, flags, shown) => {
    expect(progressEnabled(steps, stream(isTTY), flags)).toBe(shown);
  });
});
