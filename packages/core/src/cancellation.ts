/**
 * Cancellation of calls: a caller's `AbortSignal` and `timeoutMs` become one signal whose reason is a typed
 * {@link RequestError} (`ABORTED` or `TIMEOUT`); backends and the batcher read it, and a call rejects as soon as it
 * fires even where the runtime cannot stop a graph that has started.
 */
import { InvalidOptionError, RequestError, VaeError, describe } from './errors.js';

/** The part of the standard `AbortSignal` onnx-vae uses (core is built without DOM or Node types). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Cancellation options of `encode`, `decode`, `reconstruct`, `score`, `generate` and `interpolate`. */
export interface CallOptions {
  /** Aborts the call: it rejects with `ABORTED`, and leaves the batch queue if it has not started. */
  readonly signal?: AbortSignalLike;
  /** Rejects the call with `TIMEOUT` after this many milliseconds. Default: no limit. */
  readonly timeoutMs?: number;
}

/** @internal Timers of the host (Node, browsers, workers all have them). */
export const host = globalThis as unknown as {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate?: (callback: () => void) => unknown;
  clearImmediate?: (handle: unknown) => void;
  performance?: { now(): number };
};

/**
 * A signal and its abort in one small object: what onnx-vae uses of `AbortSignal` (`aborted`, `reason`, `abort`
 * listeners, each called once), without the cost of the host's `AbortController` and `EventTarget`. A server that
 * makes one signal per request (for the client going away) can use it too; any `AbortSignal` works in its place.
 *
 * @example
 * const signal = new CallSignal();
 * request.on('close', () => signal.abort());
 * await vae.encode(x, { signal, timeoutMs: 30_000 });
 */
export class CallSignal implements AbortSignalLike {
  private isAborted = false;
  private why: unknown = undefined;
  private listeners: (() => void)[] | null = null;

  /** Whether {@link CallSignal.abort} was called. */
  get aborted(): boolean {
    return this.isAborted;
  }

  /** The reason given to {@link CallSignal.abort}; `undefined` before. */
  get reason(): unknown {
    return this.why;
  }

  /**
   * Adds a listener called once, when the signal aborts (never, when it has aborted already, as with `AbortSignal`).
   * Every listener is called once, so `{ once: true }` is accepted and changes nothing.
   */
  addEventListener(type: 'abort', listener: () => void, _options?: { readonly once?: boolean }): void {
    if (type !== 'abort' || this.isAborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (type !== 'abort' || listeners === null) return;
    const index = listeners.indexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
  }

  /** Aborts: sets `aborted` and `reason` and calls the listeners, in the order they were added; later calls do nothing. */
  abort(reason?: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.why = reason;
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners === null) return;
    let failure: { error: unknown } | undefined;
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        failure ??= { error };
      }
    }
    // Every listener ran; the first one's error is not lost (as EventTarget reports it, but to abort's caller).
    if (failure) throw failure.error;
  }
}

/** One call's signal (or none) and the end of its timer. */
export interface Call {
  readonly signal: AbortSignalLike | undefined;
  /** Stops the timer and the link to the caller's signal; call it when the call settles. */
  end(): void;
}

const NO_CALL: Call = Object.freeze({ signal: undefined, end: () => {} });

/**
 * Combines `signal` and `timeoutMs` into one signal whose reason is a {@link RequestError}.
 *
 * @throws {@link InvalidOptionError} for a `timeoutMs` that is not a positive number, or a `signal` that is not one
 */
export function startCall(options: CallOptions): Call {
  const { signal, timeoutMs } = options;
  if (signal === undefined && timeoutMs === undefined) return NO_CALL;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
    throw new InvalidOptionError(
      'timeoutMs',
      `Expected "timeoutMs" to be a positive number of milliseconds (at most 2147483647) but received ${describe(timeoutMs)}.`,
    );
  }
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.addEventListener !== 'function')) {
    throw new InvalidOptionError('signal', `Expected "signal" to be an AbortSignal but received ${describe(signal)}.`);
  }
  // One call's signal: the caller's abort and the timer both end up here (CallSignal, not the host's
  // AbortController, which with its EventTarget took several per cent of a loaded server's main thread).
  const controller = new CallSignal();
  const onAbort = (): void => controller.abort(abortReason(signal!));
  let timer: unknown;
  if (timeoutMs !== undefined) {
    timer = host.setTimeout(
      () =>
        controller.abort(new RequestError('TIMEOUT', `The call did not finish within its timeoutMs of ${timeoutMs} ms; raise "timeoutMs", or lower the load.`)),
      timeoutMs,
    );
  }
  if (signal !== undefined) {
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return {
    signal: controller,
    end() {
      if (timer !== undefined) host.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** The typed error of an aborted signal: its reason when that is a VaeError, else `ABORTED` with the reason as cause. */
export function abortReason(signal: AbortSignalLike): VaeError {
  const reason = signal.reason;
  if (VaeError.isInstance(reason)) return reason;
  return new RequestError('ABORTED', 'The call was aborted by its signal.', reason === undefined ? undefined : { cause: reason });
}

/**
 * Throws the signal's typed error when it has aborted: called before each graph run, so a long call (many chunks,
 * tiles or score samples) stops between runs.
 */
export function throwIfAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * `pending`, or a rejection with the signal's typed error as soon as it aborts (the work itself may go on).
 * Without a signal, `pending` itself.
 */
export function raceAbort<T>(pending: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
  if (signal === undefined) return pending;
  if (signal.aborted) {
    pending.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
