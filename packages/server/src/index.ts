/**
 * `@onnx-vae/server`: a VAE over HTTP on Fastify, with micro-batching and worker threads from `@onnx-vae/node`,
 * Prometheus metrics, OpenAPI, limits and graceful shutdown; and the `onnx-vae serve` command.
 *
 * @example
 * import { loadVae } from '@onnx-vae/node';
 * import { createServer } from '@onnx-vae/server';
 * const vae = await loadVae('models/mnist-vae', { workers: 2, batching: { maxBatchSize: 32 } });
 * const app = await createServer(vae, { logger: true });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 *
 * @packageDocumentation
 */
export * from './server.js';
export * from './http-errors.js';
export * from './serve.js';
export { MEDIA } from './media.js';
export { metricsPlugin } from './metrics.js';
export type { MetricsOptions } from './metrics.js';
