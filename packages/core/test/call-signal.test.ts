// CallSignal, the small AbortSignal stand-in that startCall makes for every call with a signal or timeoutMs (and the
// server for every request): the parts of AbortSignal's behaviour onnx-vae relies on, checked against the host's own
// AbortController doing the same steps, and startCall's TIMEOUT / ABORTED reasons through it.
import { CallSignal, RequestError, VaeError, startCall } from '../src/index';

/** Runs the same script of steps on a CallSignal and on a real AbortController's signal; returns both logs. */
function both(
  script: (target: { add(name: string): () => void; remove(listener: () => void): void; abort(reason?: unknown): void; state(): string }) => void,
): [string[], string[]] {
  const logs: [string[], string[]] = [[], []];
  const ours = new CallSignal();
  const theirs = new AbortController();
  const targets = [
    { signal: ours, abort: (reason?: unknown) => ours.abort(reason) },
    { signal: theirs.signal, abort: (reason?: unknown) => theirs.abort(reason) },
  ];
  targets.forEach(({ signal, abort }, i) => {
    const log = logs[i]!;
    script({
      add(name) {
        const listener = (): void => void log.push(`${name} called, aborted=${signal.aborted}`);
        signal.addEventListener('abort', listener, { once: true });
        return listener;
      },
      remove: (listener) => signal.removeEventListener('abort', listener),
      abort,
      state: () => `aborted=${signal.aborted} reason=${String(signal.reason)}`,
    });
  });
  return logs;
}

describe('CallSignal', () => {
  it('calls its listeners once, in order, after setting aborted and reason, as AbortSignal does', () => {
    const [ours, theirs] = both((t) => {
      t.add('first');
      const removed = t.add('removed');
      t.add('last');
      t.remove(removed);
      t.abort('because');
      t.abort('again');
      t.add('late');
    });
    expect(ours).toEqual(['first called, aborted=true', 'last called, aborted=true']);
    expect(ours).toEqual(theirs);
  });

  it('keeps the first reason', () => {
    const signal = new CallSignal();
    expect([signal.aborted, signal.reason]).toEqual([false, undefined]);
    signal.abort('first');
    signal.abort('second');
    expect([signal.aborted, signal.reason]).toEqual([true, 'first']);
  });

  it('runs every listener even when one throws, then throws the first error to the caller of abort', () => {
    const signal = new CallSignal();
    const log: string[] = [];
    signal.addEventListener('abort', () => {
      log.push('a');
      throw new Error('listener a failed');
    });
    signal.addEventListener('abort', () => {
      log.push('b');
      throw new Error('listener b failed');
    });
    signal.addEventListener('abort', () => void log.push('c'));
    expect(() => signal.abort()).toThrow('listener a failed');
    expect(log).toEqual(['a', 'b', 'c']);
    expect(signal.aborted).toBe(true);
  });
});

describe('startCall through CallSignal', () => {
  it('aborts with TIMEOUT after timeoutMs, and never once ended', async () => {
    const timed = startCall({ timeoutMs: 20 });
    const ended = startCall({ timeoutMs: 20 });
    ended.end();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(timed.signal!.aborted).toBe(true);
    expect(timed.signal!.reason).toBeInstanceOf(RequestError);
    expect(timed.signal!.reason).toMatchObject({
      code: 'TIMEOUT',
      message: 'The call did not finish within its timeoutMs of 20 ms; raise "timeoutMs", or lower the load.',
    });
    expect(ended.signal!.aborted).toBe(false);
  });

  it("follows the caller's signal with ABORTED (the reason as cause), and lets go of it once ended", () => {
    const caller = new AbortController();
    const call = startCall({ signal: caller.signal });
    const cause = new Error('client went away');
    caller.abort(cause);
    expect(call.signal!.aborted).toBe(true);
    expect(VaeError.isInstance(call.signal!.reason)).toBe(true);
    expect(call.signal!.reason).toMatchObject({ code: 'ABORTED', message: 'The call was aborted by its signal.', cause });

    const later = new CallSignal();
    const ended = startCall({ signal: later });
    ended.end();
    later.abort();
    expect(ended.signal!.aborted).toBe(false);
  });

  it('is aborted at once for a signal that has already aborted', () => {
    const caller = new CallSignal();
    caller.abort(new RequestError('TIMEOUT', 'upstream timeout'));
    const call = startCall({ signal: caller });
    expect(call.signal!.reason).toMatchObject({ code: 'TIMEOUT', message: 'upstream timeout' });
  });
});
