/**
 * Typed errors. Every error onnx-vae throws on purpose is a {@link VaeError} with a stable `code`; the subclasses
 * carry typed fields (which argument, which tensor, which file).
 */

const MARKER = Symbol.for('onnx-vae.error');

/** Stable error codes, one per kind of failure. */
export const ERROR_CODES = Object.freeze({
  /** A tensor's dims do not match what the model or function expects. */
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  /** A tensor's element type is not float32, or its data is not a Float32Array. */
  DTYPE_MISMATCH: 'DTYPE_MISMATCH',
  /** An input holds NaN or an infinity. */
  NON_FINITE_INPUT: 'NON_FINITE_INPUT',
  /** An input is of a kind the API does not take, or has values out of the allowed range. */
  INVALID_INPUT: 'INVALID_INPUT',
  /** An option has a wrong type or value. */
  INVALID_OPTION: 'INVALID_OPTION',
  /** A data file (.vlat latent, .npy, .safetensors) is truncated, damaged or not of its format. */
  FILE_CORRUPT: 'FILE_CORRUPT',
  /** `vae.json` is not valid JSON or breaks the manifest rules. */
  MANIFEST_INVALID: 'MANIFEST_INVALID',
  /** `vae.json` has a format version this release does not read. */
  MANIFEST_VERSION: 'MANIFEST_VERSION',
  /** The manifest and the ONNX graphs disagree (names, ranks, element types, sizes). */
  MODEL_MISMATCH: 'MODEL_MISMATCH',
  /** A model file (manifest or graph) does not exist or cannot be read. */
  MODEL_FILE_NOT_FOUND: 'MODEL_FILE_NOT_FOUND',
  /** A model file exists but onnxruntime cannot load it. */
  MODEL_FILE_CORRUPT: 'MODEL_FILE_CORRUPT',
  /**
   * A model file is not a regular file inside the model folder after resolving symlinks (a device, a folder, a link
   * leading out of the folder), so it is not read.
   */
  MODEL_FILE_REFUSED: 'MODEL_FILE_REFUSED',
  /** A requested backend or execution provider cannot be used. */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  /** onnxruntime failed while running a graph. */
  INFERENCE_FAILED: 'INFERENCE_FAILED',
  /** The model asked for an operation it cannot do (e.g. a likelihood a manifest does not define). */
  UNSUPPORTED: 'UNSUPPORTED',
  /** The model has no graph for this method (a decoder-only or encoder-only model). */
  GRAPH_MISSING: 'GRAPH_MISSING',
  /** The VAE was disposed and cannot run any more. */
  DISPOSED: 'DISPOSED',
  /** An input or option asks for more memory or work than a resource limit allows (see `LIMITS`). */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** An input is larger than a configured limit (e.g. an image's pixels). */
  INPUT_TOO_LARGE: 'INPUT_TOO_LARGE',
  /** The request queue was full (`batching.maxQueue`); retry later. */
  QUEUE_FULL: 'QUEUE_FULL',
  /** The call's `signal` was aborted. */
  ABORTED: 'ABORTED',
  /** The call took longer than its `timeoutMs`. */
  TIMEOUT: 'TIMEOUT',
} as const);

/** One of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Base class of every onnx-vae error.
 *
 * @example
 * try { await vae.encode(x); } catch (e) { if (VaeError.isInstance(e) && e.code === 'SHAPE_MISMATCH') { ... } }
 */
export class VaeError extends Error {
  private readonly [MARKER] = true;
  /** Stable machine-readable code. */
  readonly code: ErrorCode;

  /**
   * @param code - one of {@link ERROR_CODES}
   * @param message - what was expected, what was received, what to do
   * @param options - `cause`: the underlying error
   */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }

  /** True for any onnx-vae error, also one thrown by another copy of the package. */
  static isInstance(error: unknown): error is VaeError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A tensor argument is wrong: shape, element type, non-finite values, or kind. */
export class InvalidInputError extends VaeError {
  /** The argument at fault, e.g. `"x"` or `"eps"`. */
  readonly argument: string;
  constructor(
    code: 'SHAPE_MISMATCH' | 'DTYPE_MISMATCH' | 'NON_FINITE_INPUT' | 'INVALID_INPUT' | 'INPUT_TOO_LARGE',
    argument: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.argument = argument;
  }
}

/** An option has a wrong type or value. */
export class InvalidOptionError extends VaeError {
  /** The option at fault, e.g. `"samples"`. */
  readonly option: string;
  constructor(option: string, message: string) {
    super('INVALID_OPTION', message);
    this.option = option;
  }
}

/** A data file (.vlat latent, .npy, .safetensors) is truncated, damaged, or not of its format at all. */
export class FileFormatError extends VaeError {
  /** The format the file was read as, e.g. `"vlat"`, `"npy"`, `"safetensors"`. */
  readonly format: string;
  /** The file (a path, or the argument name for bytes in memory). */
  readonly file: string;
  constructor(format: string, file: string, message: string, options?: { cause?: unknown }) {
    super('FILE_CORRUPT', message, options);
    this.format = format;
    this.file = file;
  }
}

/** The manifest (`vae.json`) is invalid or of an unknown version. */
export class ManifestError extends VaeError {
  /** JSON path of the offending field, e.g. `"encoder.output.kind"`; empty for the whole file. */
  readonly field: string;
  constructor(code: 'MANIFEST_INVALID' | 'MANIFEST_VERSION', field: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.field = field;
  }
}

/** The manifest and a graph disagree. */
export class ModelMismatchError extends VaeError {
  /** Which graph: `"encoder"` or `"decoder"`. */
  readonly graph: 'encoder' | 'decoder';
  constructor(graph: 'encoder' | 'decoder', message: string) {
    super('MODEL_MISMATCH', message);
    this.graph = graph;
  }
}

/**
 * A method needs a graph the model does not have: `encode` on a decoder-only model, `decode` on an encoder-only one.
 *
 * @example
 * try { await vae.encode(x); } catch (e) { if (e instanceof GraphMissingError) console.log(e.graph, e.method); }
 */
export class GraphMissingError extends VaeError {
  /** The graph the model lacks: `"encoder"` or `"decoder"`. */
  readonly graph: 'encoder' | 'decoder';
  /** The method that needed it, e.g. `"encode"`. */
  readonly method: string;
  constructor(graph: 'encoder' | 'decoder', method: string, message: string) {
    super('GRAPH_MISSING', message);
    this.graph = graph;
    this.method = method;
  }
}

/** A model file is missing, unreadable, corrupt, or refused (not a regular file inside the model folder). */
export class ModelFileError extends VaeError {
  /** The file at fault. */
  readonly file: string;
  constructor(code: 'MODEL_FILE_NOT_FOUND' | 'MODEL_FILE_CORRUPT' | 'MODEL_FILE_REFUSED', file: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.file = file;
  }
}

/** A backend or execution provider is unavailable, or inference failed. */
export class BackendError extends VaeError {
  constructor(code: 'BACKEND_UNAVAILABLE' | 'INFERENCE_FAILED' | 'UNSUPPORTED' | 'DISPOSED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** An input or option is over a resource limit (see `LIMITS` and docs/limits.md). */
export class LimitExceededError extends VaeError {
  /** The limit, e.g. `"maxInputPixels"`. */
  readonly limit: string;
  /** The amount asked for. */
  readonly value: number;
  /** The limit's value in force. */
  readonly maximum: number;
  /** The option that raises it, e.g. `"limits.maxInputPixels"`. */
  readonly option: string;
  constructor(limit: string, value: number, maximum: number, option: string, message: string) {
    super('LIMIT_EXCEEDED', message);
    this.limit = limit;
    this.value = value;
    this.maximum = maximum;
    this.option = option;
  }
}

/** A call was refused or ended before its result: queue full, aborted, or timed out. */
export class RequestError extends VaeError {
  constructor(code: 'QUEUE_FULL' | 'ABORTED' | 'TIMEOUT', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Formats a value for an error message: dims as `[3, 28, 28]`, strings quoted, the rest as JSON. */
export function describe(value: unknown, depth = 0): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    // Bounded: hostile input (a manifest nested 200,000 levels, a 10^6-item list) must not blow the stack or the message.
    if (depth >= 4) return value.length === 0 ? '[]' : '[...]';
    const shown = value.slice(0, 16).map((v) => (v === null ? 'null' : typeof v === 'string' ? v : describe(v, depth + 1)));
    return `[${shown.join(', ')}${value.length > 16 ? `, ... (${value.length} items)` : ''}]`;
  }
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}
