/**
 * Starting a server on a model folder: {@link serve} (load, listen, close on SIGTERM/SIGINT) and the
 * `onnx-vae serve` command built on it.
 */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { InvalidOptionError, decoderFingerprint, loadVae } from '@onnx-vae/node';
import type { BatchingOptions, LoadVaeOptions, NodeVae } from '@onnx-vae/node';
import { createServer } from './server.js';
import type { ServerOptions } from './server.js';

/** Options of {@link serve}: where to listen, how to load the model, and the server's limits. */
export interface ServeOptions extends ServerOptions, Omit<LoadVaeOptions, 'batching'> {
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Micro-batching of concurrent requests; `false` for none. Default `{ maxBatchSize: 32, maxDelayMs: 0 }`. */
  readonly batching?: BatchingOptions | false;
  /** Close on SIGTERM and SIGINT: stop accepting, finish requests in flight, dispose, exit 0. Default true. */
  readonly handleSignals?: boolean;
  /** With `handleSignals`: milliseconds to finish in-flight requests before exiting with 1. Default 10000. */
  readonly closeDelayMs?: number;
}

/** A running server. */
export interface RunningServer {
  readonly app: FastifyInstance;
  readonly vae: NodeVae;
  /** e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Settles when the server has closed and the VAE is disposed. */
  readonly closed: Promise<void>;
}

/**
 * Loads a model folder, serves it, and (by default) closes gracefully on SIGTERM and SIGINT.
 *
 * @example
 * const { url } = await serve('models/mnist-vae', { port: 8080, workers: 2 });
 */
export async function serve(model: string, options: ServeOptions = {}): Promise<RunningServer> {
  const { host = '127.0.0.1', port = 8080, batching = { maxBatchSize: 32, maxDelayMs: 0 }, handleSignals = true, closeDelayMs = 10_000, ...rest } = options;
  const vae = await loadVae(model, { ...rest, ...(batching === false ? {} : { batching }) });
  let app: FastifyInstance;
  try {
    app = await createServer(vae, { logger: true, ...rest, latentFingerprint: options.latentFingerprint ?? (await decoderFingerprint(model, vae.manifest)) });
  } catch (error) {
    await vae.dispose();
    throw error;
  }
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  app.addHook('onClose', async () => {
    await vae.dispose();
    markClosed();
  });
  const url = await app.listen({ host, port });
  if (handleSignals) {
    const graceful = closeWithGrace({ delay: closeDelayMs, logger: app.log, skip: ['uncaughtException', 'unhandledRejection', 'beforeExit'] }, async ({ signal }) => {
      app.log.info({ signal }, 'closing: finishing requests in flight');
      await app.close();
    });
    void closed.then(() => graceful.uninstall());
  }
  return { app, vae, url, closed };
}

/** An option of a CLI command (the shape of the CLI's option table). */
interface CommandOption {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly value?: string;
  readonly description: string;
}

/** What the CLI hands a command (the shape of its `CommandContext`). */
export interface ServeCommandContext {
  readonly model: string;
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly io: { readonly stderr: { write(text: string): unknown } };
}

function integer(values: ServeCommandContext['values'], name: string, minimum: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < minimum) throw new InvalidOptionError(name, `Expected --${name} to be an integer >= ${minimum} but received ${JSON.stringify(raw)}.`);
  return value;
}

/** {@link ServeOptions} from the command line of `onnx-vae serve`. */
export function serveOptionsOf(values: ServeCommandContext['values']): ServeOptions {
  const workers = integer(values, 'workers', 0);
  const maxBatchSize = integer(values, 'max-batch', 1);
  const maxDelayMs = integer(values, 'max-delay-ms', 0);
  const maxQueue = integer(values, 'max-queue', 0);
  const threads = integer(values, 'threads', 1);
  const port = integer(values, 'port', 0);
  const timeout = integer(values, 'timeout-ms', 1);
  const device = values.device;
  if (device !== undefined && device !== 'cpu' && device !== 'cuda') throw new InvalidOptionError('device', `Expected --device to be one of "cpu", "cuda" but received ${JSON.stringify(device)}.`);
  const level = typeof values['log-level'] === 'string' ? values['log-level'] : 'info';
  return {
    host: typeof values.host === 'string' ? values.host : '127.0.0.1',
    port: port ?? 8080,
    ...(workers === undefined || workers === 0 ? {} : { workers }),
    batching: { maxBatchSize: maxBatchSize ?? 32, maxDelayMs: maxDelayMs ?? 0, ...(maxQueue === undefined ? {} : { maxQueue }) },
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    ...(timeout === undefined ? {} : { requestTimeoutMs: timeout }),
    ...(device === undefined ? {} : { device }),
    ...(values.strict === true ? { strict: true } : {}),
    ...(typeof values.preset === 'string' ? { preset: values.preset } : {}),
    logger: { level },
  };
}

/**
 * `onnx-vae serve <model> [--port N] [--host H] [--workers N] [--max-batch N] [--max-delay-ms MS]`: the command
 * for the CLI's command table (register it as `serve`).
 */
export const serveCommand = {
  summary: 'serve the model over HTTP (Fastify): encode, decode, reconstruct, score, generate; metrics and OpenAPI',
  synopsis: 'onnx-vae serve <model> [--port 8080] [--host 127.0.0.1] [--workers N] [--max-batch N] [--max-delay-ms MS] [options]',
  details: [
    'Serves POST /v1/encode, /v1/decode, /v1/reconstruct, /v1/score and /v1/generate (JSON {data, dims}, .npy,',
    'PNG/JPEG/WebP images for image models, .vlat for decode; answers by Accept: JSON, .npy, PNG), and GET',
    '/openapi.json, /healthz, /readyz, /metrics (Prometheus). Concurrent requests are micro-batched; --workers runs',
    'the graphs in worker threads, off the event loop (each with cores / workers intra-op threads unless --threads).',
    'Logs are JSON lines (pino) on stdout. SIGTERM or SIGINT: stop accepting, finish requests in flight (10 s at',
    'most), exit 0. See docs/serving.md for tuning.',
  ].join('\n'),
  options: {
    port: { type: 'string', value: 'N', description: 'port (default 8080; 0 picks a free one)' },
    host: { type: 'string', value: 'HOST', description: 'interface to listen on (default 127.0.0.1)' },
    workers: { type: 'string', value: 'N', description: 'worker threads running the graphs (default 0: the main thread)' },
    'max-delay-ms': { type: 'string', value: 'MS', description: 'longest wait for a batch to fill (default 0: take what is queued)' },
    'max-queue': { type: 'string', value: 'N', description: 'requests waiting before 503 QUEUE_FULL (default 1024)' },
    'timeout-ms': { type: 'string', value: 'MS', description: 'per-request timeout, 504 after it (default 30000)' },
    'log-level': { type: 'string', value: 'LEVEL', description: 'pino level: trace, debug, info (default), warn, error, silent' },
  } satisfies Record<string, CommandOption>,
  inputs: { min: 0, max: 0 },
  async run(context: ServeCommandContext): Promise<void> {
    const server = await serve(context.model, serveOptionsOf(context.values));
    context.io.stderr.write(`onnx-vae: serving "${server.vae.manifest.name}" at ${server.url} on ${server.vae.backendName}; SIGTERM or Ctrl-C stops\n`);
    await server.closed;
  },
};
