import type { BackendSession } from '../backend.js';
import { Batching } from '../batching/index.js';
import type { Detection } from '../manifest/detect.js';
import { checkManifestAgainstGraphs } from '../manifest/graph-check.js';
import type { Manifest } from '../manifest/types.js';
import { invalidOption, isPlainObject } from '../validate.js';
import { probeGraph } from './graph-probe.js';
import { DEFAULT_MAX_BATCH } from './types.js';
import type { CreateVaeOptions } from './types.js';
import { Vae } from './vae.js';

function checkMaxBatch(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BATCH;
  if (value === Infinity || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1)) return value;
  throw invalidOption('maxBatch', 'a positive integer (or Infinity)', value);
}

/**
 * Loads both graphs through a backend, checks them against the manifest and returns a {@link Vae}.
 * Runtime packages wrap this as `loadVae(folder)`.
 *
 * @throws {@link ModelMismatchError} when the manifest and the graphs disagree (names, declared shapes, and output
 *   sizes against the manifest's factors, measured by a one-item run where the graphs leave them symbolic); backend
 *   errors as thrown
 * @example
 * const vae = await createVae({ manifest, backend, encoder: { bytes: encoderOnnx }, decoder: { bytes: decoderOnnx } });
 */
export async function createVae<I = never, O = never, W = never>(options: CreateVaeOptions<I, O, W>): Promise<Vae<I, O, W>> {
  if (!isPlainObject(options)) throw invalidOption('options', 'an object with "manifest", "backend", "encoder" and "decoder" for createVae()', options);
  const maxBatch = checkMaxBatch(options.maxBatch);
  const batching = options.batching === undefined ? null : new Batching(options.batching);
  const encoder = await options.backend.createSession(options.encoder, 'encoder');
  let decoder: BackendSession;
  try {
    decoder = await options.backend.createSession(options.decoder, 'decoder');
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
    // Sizes by behaviour (a swapped graph with the same names): static where declared, else a one-item run.
    await probeGraph(manifest, encoder, 'encoder');
    await probeGraph(manifest, decoder, 'decoder');
  } catch (error) {
    await Promise.all([encoder.release(), decoder.release()]);
    throw error;
  }
  const [batchedEncoder, batchedDecoder] = batching ? [batching.wrap(encoder, 'encoder'), batching.wrap(decoder, 'decoder')] : [encoder, decoder];
  return new Vae<I, O, W>(manifest, batchedEncoder, batchedDecoder, options.backend.name, maxBatch, detection, options.images ?? null, options.backend.info, batching);
}
