/**
 * VaeErrors across a thread or process boundary (worker_threads, Web Workers, HTTP): structured clone keeps only an
 * Error's message, so errors travel as plain {@link SerializedError} objects and are rebuilt as the same class, with
 * their `code` and typed fields.
 */
import {
  BackendError,
  FileFormatError,
  InvalidInputError,
  InvalidOptionError,
  ManifestError,
  ModelFileError,
  ModelMismatchError,
  GraphMissingError,
  RequestError,
  VaeError,
} from './errors.js';
import type { ErrorCode } from './errors.js';

/** An error as plain data: structured-clone and JSON safe. */
export interface SerializedError {
  /** The class name, e.g. `"InvalidInputError"`; for other errors their `name`. */
  readonly name: string;
  /** The VaeError code, or `null` for an error that is not a VaeError. */
  readonly code: ErrorCode | null;
  readonly message: string;
  /** The subclass's typed fields (`argument`, `option`, `file`, ...). */
  readonly fields: Readonly<Record<string, string | number | boolean | null>>;
  /** The stack where it was thrown. */
  readonly stack?: string;
  /** The cause's name and message, when it had one. */
  readonly cause?: { readonly name: string; readonly message: string };
}

type Fields = SerializedError['fields'];
type Rebuild = (code: never, message: string, fields: Fields) => VaeError;

// One line per VaeError class: how to rebuild it from its code, message and fields.
const REBUILDERS: Readonly<Record<string, Rebuild>> = Object.freeze({
  VaeError: (code: ErrorCode, message) => new VaeError(code, message),
  InvalidInputError: (code: ConstructorParameters<typeof InvalidInputError>[0], message, f) => new InvalidInputError(code, String(f.argument), message),
  InvalidOptionError: (_code: never, message, f) => new InvalidOptionError(String(f.option), message),
  FileFormatError: (_code: never, message, f) => new FileFormatError(String(f.format), String(f.file), message),
  ManifestError: (code: ConstructorParameters<typeof ManifestError>[0], message, f) => new ManifestError(code, String(f.field), message),
  ModelMismatchError: (_code: never, message, f) => new ModelMismatchError(f.graph === 'decoder' ? 'decoder' : 'encoder', message),
  GraphMissingError: (_code: never, message, f) => new GraphMissingError(f.graph === 'decoder' ? 'decoder' : 'encoder', String(f.method), message),
  ModelFileError: (code: ConstructorParameters<typeof ModelFileError>[0], message, f) => new ModelFileError(code, String(f.file), message),
  BackendError: (code: ConstructorParameters<typeof BackendError>[0], message) => new BackendError(code, message),
  RequestError: (code: ConstructorParameters<typeof RequestError>[0], message) => new RequestError(code, message),
});

const OWN = new Set(['name', 'code', 'message', 'stack', 'cause']);

/**
 * An error as plain data, for postMessage or JSON.
 *
 * @example
 * port.postMessage({ error: serializeError(error) });
 */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error) && !VaeError.isInstance(error)) return { name: 'Error', code: null, message: String(error), fields: {} };
  const fields: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(error)) {
    if (!OWN.has(key) && (value === null || ['string', 'number', 'boolean'].includes(typeof value))) fields[key] = value as string | number | boolean | null;
  }
  const cause = (error as Error).cause;
  return {
    name: (error as Error).name,
    code: VaeError.isInstance(error) ? error.code : null,
    message: (error as Error).message,
    fields,
    ...((error as Error).stack === undefined ? {} : { stack: (error as Error).stack }),
    ...(cause === undefined ? {} : { cause: { name: (cause as Error)?.name ?? 'Error', message: (cause as Error)?.message ?? String(cause) } }),
  };
}

/**
 * Rebuilds an error made by {@link serializeError}: a VaeError of the same class, `code` and fields, or a plain
 * Error with the name and message. The stack is the original one.
 */
export function deserializeError(serialized: SerializedError): Error {
  const rebuild = serialized.code === null ? undefined : (REBUILDERS[serialized.name] ?? REBUILDERS.VaeError);
  const error: Error = rebuild ? rebuild(serialized.code as never, serialized.message, serialized.fields) : new Error(serialized.message);
  if (!rebuild) error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  if (serialized.cause !== undefined) {
    const cause = new Error(serialized.cause.message);
    cause.name = serialized.cause.name;
    Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true });
  }
  return error;
}
