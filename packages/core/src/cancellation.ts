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

/** @internal Timers and AbortController of the host (Node, browsers, workers all have them). */
export const host = globalThis as unknown as {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate?: (callback: () => void) => unknown;
  clearImmediate?: (handle: unknown) => void;
  performance?: { now(): number };
  AbortController: new () => { readonly signal: AbortSignalLike; abort(reason?: unknown): void };
};

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
  const controller = new host.AbortController();
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
    signal: controller.signal,
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
