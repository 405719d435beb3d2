import accepts from '@fastify/accepts';
import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { NodeVae } from '@onnx-vae/node';
import { InvalidOptionError, describe } from '@onnx-vae/node';
import { httpError } from './http-errors.js';
import { BINARY_MEDIA } from './media.js';
import { metricsPlugin } from './metrics.js';
import { inferenceRoutes } from './routes.js';
import { documentBinaryBodies } from './schemas.js';

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Fastify's logger (pino): `true`, pino options, or a pino instance. Default false. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Largest request body in bytes; larger ones get 413. Default 32 MiB. */
  readonly bodyLimit?: number;
  /** Most pixels of an input image (sharp's limitInputPixels); larger ones get 413. Default 16777216 (4096 x 4096). */
  readonly maxPixels?: number;
  /** Milliseconds one request may take (queue wait included); later ones get 504. Default 30000. */
  readonly requestTimeoutMs?: number;
  /** Items one request may carry, and the most `n` of /v1/generate. Default 256. */
  readonly maxItems?: number;
  /** Most importance samples of /v1/score. Default 1000. */
  readonly maxSamples?: number;
  /** The decoder's fingerprint (`decoderFingerprint`), to refuse .vlat files of other models; default: not checked. */
  readonly latentFingerprint?: string;
}

/** The defaults of {@link ServerOptions}. */
export const SERVER_DEFAULTS = Object.freeze({
  bodyLimit: 32 * 1024 * 1024,
  maxPixels: 4096 * 4096,
  requestTimeoutMs: 30_000,
  maxItems: 256,
  maxSamples: 1000,
});

function positive(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value;
  throw new InvalidOptionError(option, `Expected "${option}" to be a positive integer but received ${describe(value)}.`);
}

/**
 * An HTTP server for a loaded VAE, on Fastify: POST /v1/encode, /v1/decode, /v1/reconstruct, /v1/score,
 * /v1/generate; GET /openapi.json, /healthz, /readyz, /metrics. Not listening yet; the caller owns the VAE
 * (dispose it after `app.close()`).
 *
 * @param vae - from `loadVae`, ideally with `batching` and `workers`
 * @param options - logger, limits and timeout; see {@link ServerOptions}
 * @returns the Fastify instance (`listen`, `inject`, `close`)
 * @throws {@link InvalidOptionError} for a bad option
 * @example
 * const vae = await loadVae('models/mnist-vae', { workers: 2, batching: { maxBatchSize: 32 } });
 * const app = await createServer(vae, { logger: true });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 */
export async function createServer(vae: NodeVae, options: ServerOptions = {}): Promise<FastifyInstance> {
  const limits = {
    bodyLimit: positive(options.bodyLimit, 'bodyLimit', SERVER_DEFAULTS.bodyLimit),
    maxPixels: positive(options.maxPixels, 'maxPixels', SERVER_DEFAULTS.maxPixels),
    requestTimeoutMs: positive(options.requestTimeoutMs, 'requestTimeoutMs', SERVER_DEFAULTS.requestTimeoutMs),
    maxItems: positive(options.maxItems, 'maxItems', SERVER_DEFAULTS.maxItems),
    maxSamples: positive(options.maxSamples, 'maxSamples', SERVER_DEFAULTS.maxSamples),
  };
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: limits.bodyLimit, return503OnClosing: true });
  app.addContentTypeParser([...BINARY_MEDIA], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = httpError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (body.code === 'QUEUE_FULL') reply.header('retry-after', '1');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'NOT_FOUND', message: `No route ${request.method} ${request.url}; see GET /openapi.json.` }),
  );
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: `onnx-vae: ${vae.manifest.name}`, description: vae.manifest.description ?? 'A VAE served by onnx-vae.', version: '1' },
    },
    transform: documentBinaryBodies,
  });
  await app.register(accepts);
  await app.register(metricsPlugin, { vae });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Keep-alive connections busy when the close began would stay open after their answer and hold the close up.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.get('/openapi.json', { schema: { summary: 'This API, as OpenAPI 3', tags: ['operations'] } }, async () => app.swagger());
  app.get('/healthz', { schema: { summary: 'The process is up', tags: ['operations'] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { summary: 'The model is loaded and the queue below its limit', tags: ['operations'] } }, async (_request, reply) => {
    const batching = vae.batching;
    const queued = batching?.stats().queued ?? 0;
    const full = batching !== null && queued >= batching.settings.maxQueue;
    const ready = !closing && !full;
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : closing ? 'closing' : 'queue full', model: vae.manifest.name, backend: vae.backendName, queued });
  });
  await app.register(inferenceRoutes, { vae, ...limits, ...(options.latentFingerprint === undefined ? {} : { latentFingerprint: options.latentFingerprint }) });
  return app;
}
