/**
 * Starting a server on a model folder: {@link serve} (load, listen, close on SIGTERM/SIGINT), which `onnx-vae serve`
 * runs.
 */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { decoderFingerprint, loadVae } from '@onnx-vae/node';
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
    const graceful = closeWithGrace(
      { delay: closeDelayMs, logger: app.log, skip: ['uncaughtException', 'unhandledRejection', 'beforeExit'] },
      async ({ signal }) => {
        app.log.info({ signal }, 'closing: finishing requests in flight');
        await app.close();
      },
    );
    void closed.then(() => graceful.uninstall());
  }
  return { app, vae, url, closed };
}
