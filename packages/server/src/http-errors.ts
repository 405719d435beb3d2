/**
 * HTTP statuses of errors: every VaeError code, and the Fastify errors a client can cause. Bodies are
 * `{ code, message }`.
 */
import createError from '@fastify/error';
import { VaeError } from '@onnx-vae/node';
import type { ErrorCode } from '@onnx-vae/node';

/** A body of a media type the route does not take (415). */
export const UnsupportedMediaTypeError = createError<[string, string]>('UNSUPPORTED_MEDIA_TYPE', 'This route takes %s bodies but received %s.', 415);
/** An Accept header the route cannot satisfy (406). */
export const NotAcceptableError = createError<[string, string]>('NOT_ACCEPTABLE', 'This route answers %s but the request accepts only %s.', 406);

/** The HTTP status of each VaeError code: 4xx for what the request did, 503/504 for load, 500 for real faults. */
export const STATUS_OF_CODE = Object.freeze({
  SHAPE_MISMATCH: 400,
  DTYPE_MISMATCH: 400,
  NON_FINITE_INPUT: 400,
  INVALID_INPUT: 400,
  INVALID_OPTION: 400,
  FILE_CORRUPT: 400,
  // A .vlat file made by another model.
  MODEL_MISMATCH: 400,
  UNSUPPORTED: 400,
  // The model lacks the graph the route needs (a decoder-only model asked to encode).
  GRAPH_MISSING: 501,
  INPUT_TOO_LARGE: 413,
  // Over a resource limit (LIMITS): the request asks for more memory or work than the server allows.
  LIMIT_EXCEEDED: 413,
  QUEUE_FULL: 503,
  DISPOSED: 503,
  TIMEOUT: 504,
  // The client went away; nobody reads the answer (nginx's convention).
  ABORTED: 499,
  MANIFEST_INVALID: 500,
  MANIFEST_VERSION: 500,
  MODEL_FILE_NOT_FOUND: 500,
  MODEL_FILE_CORRUPT: 500,
  MODEL_FILE_REFUSED: 500,
  BACKEND_UNAVAILABLE: 500,
  INFERENCE_FAILED: 500,
} satisfies Record<ErrorCode, number>);

/** Codes of Fastify's own errors that a client causes, and their status and public code. */
const FASTIFY_ERRORS: Readonly<Record<string, { readonly status: number; readonly code: string }>> = Object.freeze({
  FST_ERR_VALIDATION: { status: 400, code: 'INVALID_INPUT' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_INPUT' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_INPUT' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'INVALID_INPUT' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
});

/** An error's HTTP status and body. */
export function httpError(error: unknown): { status: number; body: { code: string; message: string } } {
  if (VaeError.isInstance(error)) return { status: STATUS_OF_CODE[error.code], body: { code: error.code, message: error.message } };
  const known = FASTIFY_ERRORS[(error as { code?: string })?.code ?? ''];
  const message = (error as Error)?.message ?? String(error);
  if (known) return { status: known.status, body: { code: known.code, message } };
  const status = (error as { statusCode?: number })?.statusCode;
  const code = (error as { code?: string })?.code;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return { status, body: { code: code && !code.startsWith('FST_') ? code : 'BAD_REQUEST', message } };
  return { status: 500, body: { code: 'INTERNAL', message: 'An internal error occurred; the server log has the details.' } };
}
