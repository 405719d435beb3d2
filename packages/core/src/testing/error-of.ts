import { VaeError } from '../errors.js';

/**
 * What a call threw: the `code` (`'not a VaeError'` for other errors) and `message`, for tables of expected errors
 * (`expect(errorOf(fn)).toEqual({ code, message })`); the thrown value itself is in `error` (not enumerable, so
 * `toEqual` compares code and message only).
 */
export interface CaughtError {
  readonly code: string;
  readonly message: string;
  /** The thrown value (not enumerable). */
  readonly error: unknown;
}

function caught(error: unknown): CaughtError {
  const result = VaeError.isInstance(error) ? { code: error.code, message: error.message } : { code: 'not a VaeError', message: String(error) };
  return Object.defineProperty(result, 'error', { value: error, enumerable: false }) as CaughtError;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The error a call throws or a promise rejects with, or `undefined` when it succeeds. The one error-capturing helper
 * of the tests: a function is called and checked at once; a promise (or a function given one) is awaited.
 *
 * @example
 * expect(errorOf(() => parseManifest('{'))?.code).toBe('MANIFEST_INVALID');
 * expect((await errorOf(vae.encode(bad)))?.code).toBe('SHAPE_MISMATCH');
 */
export function errorOf(promise: PromiseLike<unknown>): Promise<CaughtError | undefined>;
export function errorOf(fn: () => PromiseLike<unknown>): Promise<CaughtError | undefined>;
export function errorOf(fn: () => unknown): CaughtError | undefined;
export function errorOf(what: PromiseLike<unknown> | (() => unknown)): CaughtError | undefined | Promise<CaughtError | undefined> {
  let pending: unknown;
  if (typeof what === 'function') {
    try {
      pending = what();
    } catch (error) {
      return caught(error);
    }
    if (!isThenable(pending)) return undefined;
  } else pending = what;
  return Promise.resolve(pending as PromiseLike<unknown>).then(
    () => undefined,
    (error: unknown) => caught(error),
  );
}
