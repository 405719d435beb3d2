import type { BackendSession } from '../backend.js';
import { resolveLimits } from '../limits.js';
import { Batching } from '../batching/index.js';
import type { Detection } from '../manifest/detect.js';
import { checkManifestAgainstGraphs } from '../manifest/graph-check.js';
import type { Manifest } from '../manifest/types.js';
import { invalidOption } from '../validate.js';
import { DEFAULT_MAX_BATCH } from './types.js';
import type { CreateVaeOptions } from './types.js';
import { Vae } from './vae.js';
import { GRAPHS, checkPreload, openGraph } from './lazy-session.js';
import type { GraphRole } from './lazy-session.js';

function checkMaxBatch(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BATCH;
  if (value === Infinity || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1)) return value;
  throw invalidOption('maxBatch', 'a positive integer (or Infinity)', value);
}

/**
 * Opens both graphs through a backend (sessions for those in `preload`, default both; the others when first used),
 * checks them against the manifest and returns a {@link Vae}. Runtime packages wrap this as `loadVae(folder)`.
 *
 * @throws {@link ModelMismatchError} when the manifest and the graphs disagree; {@link ModelFileError}
 *   `MODEL_FILE_CORRUPT` for a graph file that is not ONNX; {@link InvalidOptionError} for a bad `preload`; backend
 *   errors as thrown
 * @example
 * const vae = await createVae({ manifest, backend, encoder: { bytes: encoderOnnx }, decoder: { bytes: decoderOnnx } });
 */
export async function createVae<I = never, O = never, W = never>(options: CreateVaeOptions<I, O, W>): Promise<Vae<I, O, W>> {
  const maxBatch = checkMaxBatch(options.maxBatch);
  const limits = resolveLimits(options.limits);
  const batching = options.batching === undefined ? null : new Batching(options.batching);
  const preload = checkPreload(options.preload, Object.values(GRAPHS));
  const openFile = options.openFile;
  const graph = (role: GraphRole) => openGraph({ backend: options.backend, role, source: options[role], ...(openFile ? { openFile } : {}) }, preload.includes(role));
  const encoder = await graph('encoder');
  let decoder: BackendSession;
  try {
    decoder = await graph('decoder');
  } catch (error) {
    await encoder.release();
    throw error;
  }
  let manifest: Manifest;
  let detection: Detection | null = null;
  try {
    if (typeof options.manifest === 'function') {
      detection = options.manifest({ encoder, decoder });
      manifest = detection.manifest;
    } else manifest = options.manifest;
    checkManifestAgainstGraphs(manifest, encoder, decoder);
  } catch (error) {
    await Promise.all([encoder.release(), decoder.release()]);
    throw error;
  }
  const [batchedEncoder, batchedDecoder] = batching ? [batching.wrap(encoder, 'encoder'), batching.wrap(decoder, 'decoder')] : [encoder, decoder];
  return new Vae<I, O, W>(manifest, batchedEncoder, batchedDecoder, options.backend, maxBatch, detection, options.images ?? null, batching, limits);
}
