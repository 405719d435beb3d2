import { VaeError } from '../src/errors';

/** The code and message of what `fn` throws (`undefined` when it returns), for tables of expected errors. */
export function errorOf(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
  } catch (error) {
    return VaeError.isInstance(error) ? { code: error.code, message: error.message } : { code: 'not a VaeError', message: String(error) };
  }
  return undefined;
}

/** The code, message and error that `promise` rejects with (`undefined` when it resolves), for async tables of expected errors. */
export async function rejectionOf(promise: Promise<unknown>): Promise<{ code: string; message: string; error: unknown } | undefined> {
  try {
    await promise;
  } catch (error) {
    return VaeError.isInstance(error) ? { code: error.code, message: error.message, error } : { code: 'not a VaeError', message: String(error), error };
  }
  return undefined;
}
