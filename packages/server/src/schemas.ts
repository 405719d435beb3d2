/**
 * JSON Schemas of the routes: Fastify validates JSON bodies and query strings with them, serializes JSON answers,
 * and @fastify/swagger turns them into /openapi.json.
 */
import { BINARY_MEDIA, MEDIA } from './media.js';

/** A tensor as JSON: row-major values and dims, batch first. */
export const TENSOR = Object.freeze({
  type: 'object',
  required: ['data', 'dims'],
  additionalProperties: false,
  properties: {
    data: { type: 'array', items: { type: 'number' }, description: 'row-major float32 values' },
    dims: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: 8, description: 'dimensions, batch first' },
  },
} as const);

/** The error body of every non-2xx answer. */
export const ERROR = Object.freeze({
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'a VaeError code, or BODY_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, NOT_ACCEPTABLE, NOT_FOUND, INTERNAL' },
    message: { type: 'string' },
  },
} as const);

const DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  [MEDIA.npy]: 'a NumPy .npy array (float32, float64 or float16)',
  [MEDIA.vlat]: 'a .vlat latent file made for this model (onnx-vae compress)',
  [MEDIA.png]: 'a PNG image (image models)',
  [MEDIA.jpeg]: 'a JPEG image (image models)',
  [MEDIA.webp]: 'a WebP image (image models)',
});

/**
 * A body schema per media type: JSON tensors validated, the binary types taken as they are (they are parsed and
 * checked by the route; /openapi.json shows them as binary strings).
 */
export function bodyOf(types: readonly string[], json: object = TENSOR): { content: Record<string, { schema: object }> } {
  const content: Record<string, { schema: object }> = {};
  for (const type of types) content[type] = { schema: type === MEDIA.json ? json : { description: DESCRIPTIONS[type] ?? type } };
  return { content };
}

/** For @fastify/swagger's `transform`: binary body types shown as `{ type: string, format: binary }`. */
export function documentBinaryBodies<T extends { schema?: unknown }>(route: T): T {
  const body = (route.schema as { body?: { content?: Record<string, { schema: object }> } } | undefined)?.body;
  if (!body?.content) return route;
  const content: Record<string, { schema: object }> = {};
  for (const [type, entry] of Object.entries(body.content)) {
    content[type] = (BINARY_MEDIA as readonly string[]).includes(type) ? { schema: { ...entry.schema, type: 'string', format: 'binary' } } : entry;
  }
  return { ...route, schema: { ...(route.schema as object), body: { ...body, content } } };
}

/** Answers of tensor routes, by media type (for /openapi.json). */
export function tensorAnswers(media: readonly string[], description: string): Record<string, object> {
  return {
    200: {
      description,
      content: Object.fromEntries(media.map((type) => [type, { schema: type === MEDIA.json ? TENSOR : { type: 'string', format: 'binary' } }])),
    },
    '4xx': { description: 'a bad request: wrong shape, type, values, options, media type; too large', content: { [MEDIA.json]: { schema: ERROR } } },
    '5xx': { description: 'queue full or shutting down (503), timeout (504), a fault (500)', content: { [MEDIA.json]: { schema: ERROR } } },
  };
}
