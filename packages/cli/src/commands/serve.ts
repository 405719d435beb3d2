/**
 * `onnx-vae serve`: the model over HTTP, through `serve()` of `@onnx-vae/server`.
 */
import { serve } from '@onnx-vae/server';
import { backendOptions } from '../context.js';
import type { Command } from '../context.js';
import { integerOption } from '../options.js';

/** `onnx-vae serve <model> [--port 8080] [--host 127.0.0.1] [--workers N] [--max-batch N] [--max-delay-ms MS]`. */
export const serveCommand: Command = {
  summary: 'serve the model over HTTP (Fastify): encode, decode, reconstruct, score, generate; metrics, OpenAPI',
  synopsis: 'onnx-vae serve <model> [--port 8080] [--host 127.0.0.1] [--workers N] [--max-batch N] [--max-delay-ms MS] [options]',
  details: [
    'Serves POST /v1/encode, /v1/decode, /v1/reconstruct, /v1/score and /v1/generate (JSON {data, dims}, .npy,',
    'PNG/JPEG/WebP images for image models, .vlat for decode; answers by Accept: JSON, .npy, PNG), and GET',
    '/openapi.json, /healthz, /readyz, /metrics (Prometheus). Concurrent requests are micro-batched: --max-batch is',
    'the most items per graph run here (default 32). --workers runs the graphs in worker threads, off the event loop,',
    'each with cores / workers intra-op threads unless --threads. Logs are JSON lines (pino) on stdout. SIGTERM or',
    'SIGINT: stop accepting, finish requests in flight (10 s at most), exit 0. Tuning: docs/serving.md.',
  ].join('\n'),
  options: {
    port: { type: 'string', value: 'N', description: 'port (default 8080; 0 picks a free one)' },
    host: { type: 'string', value: 'HOST', description: 'interface to listen on (default 127.0.0.1)' },
    workers: { type: 'string', value: 'N', description: 'worker threads running the graphs (default 0: the main thread)' },
    'max-delay-ms': { type: 'string', value: 'MS', description: 'longest wait for a batch to fill (default 0: take what is queued)' },
    'max-queue': { type: 'string', value: 'N', description: 'requests waiting before 503 QUEUE_FULL (default 1024)' },
    'timeout-ms': { type: 'string', value: 'MS', description: 'per-request timeout, 504 after it (default 30000)' },
    'log-level': { type: 'string', value: 'LEVEL', description: 'pino level: trace, debug, info (default), warn, error, silent' },
  },
  inputs: { min: 0, max: 0 },
  async run(context) {
    const values = context.values;
    const workers = integerOption(values, 'workers', 0, 0);
    const server = await serve(context.model, {
      ...backendOptions(context),
      host: typeof values.host === 'string' ? values.host : '127.0.0.1',
      port: integerOption(values, 'port', 0, 8080),
      ...(workers === 0 ? {} : { workers }),
      batching: {
        maxBatchSize: integerOption(values, 'max-batch', 1, 32),
        maxDelayMs: integerOption(values, 'max-delay-ms', 0, 0),
        maxQueue: integerOption(values, 'max-queue', 0, 1024),
      },
      requestTimeoutMs: integerOption(values, 'timeout-ms', 1, 30_000),
      logger: { level: typeof values['log-level'] === 'string' ? values['log-level'] : 'info' },
    });
    context.io.stderr.write(`onnx-vae: serving "${server.vae.manifest.name}" at ${server.url} on ${server.vae.backendName}; SIGTERM or Ctrl-C stops\n`);
    await server.closed;
  },
};
