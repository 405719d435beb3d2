/**
 * Prometheus metrics (prom-client) as a Fastify plugin: requests by route and status, latency, batch sizes, queue
 * length, and prom-client's default process metrics (event-loop lag among them), at GET /metrics.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NodeVae } from '@onnx-vae/node';

/** Options of {@link metricsPlugin}. */
export interface MetricsOptions {
  /** The VAE whose batching to observe. */
  readonly vae: NodeVae;
  /** The registry to fill; default: a new one per server. */
  readonly registry?: Registry;
}

async function metrics(app: FastifyInstance, options: MetricsOptions): Promise<void> {
  const registry = options.registry ?? new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const requests = new Counter({
    name: 'onnx_vae_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'onnx_vae_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'onnx_vae_batch_size',
    help: 'items per graph run (micro-batching)',
    labelNames: ['graph'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const batchRun = new Histogram({
    name: 'onnx_vae_batch_run_seconds',
    help: 'time of one graph run',
    labelNames: ['graph'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const batchWait = new Histogram({
    name: 'onnx_vae_batch_wait_seconds',
    help: 'longest queue wait of a call in each graph run',
    labelNames: ['graph'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const batching = options.vae.batching;
  new Gauge({
    name: 'onnx_vae_queue_length',
    help: 'calls waiting for a graph run (0 without batching)',
    registers: [registry],
    collect() {
      this.set(batching?.stats().queued ?? 0);
    },
  });
  const unsubscribe = batching?.subscribe((event) => {
    batchSize.observe({ graph: event.graph }, event.size);
    batchRun.observe({ graph: event.graph }, event.runMs / 1000);
    batchWait.observe({ graph: event.graph }, event.waitMs / 1000);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });
  app.addHook('onClose', async () => {
    unsubscribe?.();
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

/** The metrics plugin; its hooks see every route of the server it is registered on. */
export const metricsPlugin = fp(metrics, { name: 'onnx-vae-metrics', fastify: '5.x' });
