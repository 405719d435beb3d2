import type { BackendSession } from '../backend.js';
import { resolveLimits } from '../limits.js';
import { Batching } from '../batching/index.js';
import type { Detection } from '../manifest/detect.js';
import { checkManifestAgainstGraphs } from '../manifest/graph-check.js';
import type { Manifest } from '../manifest/types.js';
import { invalidOption, isPlainObject } from '../validate.js';
import { InvalidOptionError } from '../errors.js';
import { probeGraph } from './graph-probe.js';
import { DEFAULT_MAX_BATCH } from './types.js';
import type { CreateVaeOptions } from './types.js';
import { Vae } from './vae.js';
import { GRAPHS, LazySession, checkPreload, openGraph } from './lazy-session.js';
import type { GraphRole } from './lazy-session.js';

function checkMaxBatch(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BATCH;
  if (value === Infinity || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1)) return value;
  throw invalidOption('maxBatch', 'a positive integer (or Infinity)', value);
}

/**
 * Opens the graphs through a backend (sessions for those in `preload`, default both; the others when first used),
 * checks them against the manifest and returns a {@link Vae}. A decoder-only (or encoder-only) model leaves the other
 * graph out of both the manifest and the options; its methods that need it throw `GRAPH_MISSING`. Runtime packages wrap this as `loadVae(folder)`.
 *
 * @throws {@link ModelMismatchError} when the manifest and the graphs disagree (names, declared shapes, and output
 *   sizes against the manifest's factors, measured by a one-item run where the graphs leave them symbolic: at load
 *   for a preloaded graph, when its session is first created otherwise); {@link ModelFileError}
 *   `MODEL_FILE_CORRUPT` for a graph file that is not ONNX; {@link InvalidOptionError} for a bad `preload`; backend
 *   errors as thrown
 * @example
 * const vae = await createVae({ manifest, backend, encoder: { bytes: encoderOnnx }, decoder: { bytes: decoderOnnx } });
 */
export async function createVae<I = never, O = never, W = never>(options: CreateVaeOptions<I, O, W>): Promise<Vae<I, O, W>> {
  if (!isPlainObject(options)) throw invalidOption('options', 'an object with "manifest", "backend", "encoder" and "decoder" for createVae()', options);
  const maxBatch = checkMaxBatch(options.maxBatch);
  const limits = resolveLimits(options.limits);
  const batching = options.batching === undefined ? null : new Batching(options.batching);
  const preload = checkPreload(options.preload, Object.values(GRAPHS));
  const openFile = options.openFile;
  const given = typeof options.manifest === 'function' ? null : options.manifest;
  for (const role of Object.values(GRAPHS)) {
    if (given === null) continue;
    if (given[role] !== undefined && options[role] === undefined)
      throw new InvalidOptionError(
        role,
        `The manifest "${given.name}" names a ${role} (${given[role].file}) but no "${role}" source was given; pass its path or bytes.`,
      );
    if (given[role] === undefined && options[role] !== undefined)
      throw new InvalidOptionError(
        role,
        `A "${role}" source was given but the manifest "${given.name}" has no ${role} section; add one to the manifest, or leave the source out.`,
      );
  }
  if (options.encoder === undefined && options.decoder === undefined)
    throw new InvalidOptionError('decoder', 'Expected an "encoder" or a "decoder" source (or both) but received neither.');
  const opened: BackendSession[] = [];
  const graph = async (role: GraphRole): Promise<BackendSession | null> => {
    const source = options[role];
    if (source === undefined) return null;
    const session = await openGraph({ backend: options.backend, role, source, ...(openFile ? { openFile } : {}) }, preload.includes(role));
    opened.push(session);
    return session;
  };
  const releaseAll = () => Promise.all(opened.map((session) => session.release()));
  let encoder: BackendSession | null;
  let decoder: BackendSession | null;
  let manifest: Manifest;
  let detection: Detection | null = null;
  try {
    encoder = await graph('encoder');
    decoder = await graph('decoder');
    if (typeof options.manifest === 'function') {
      detection = options.manifest({ ...(encoder ? { encoder } : {}), ...(decoder ? { decoder } : {}) });
      manifest = detection.manifest;
    } else manifest = options.manifest;
    checkManifestAgainstGraphs(manifest, encoder, decoder);
    // Sizes by behaviour (a swapped graph with the same names): static where declared, else a one-item run, made
    // when the session exists (a lazy session is checked as it is created, so decode-only use never opens the encoder).
    for (const [session, role] of [
      [encoder, 'encoder'],
      [decoder, 'decoder'],
    ] as const) {
      if (session === null) continue;
      const lazy = session instanceof LazySession && !session.opened ? session : null;
      const decided = await probeGraph(manifest, session, role, lazy === null);
      if (!decided) lazy!.checkOnOpen((real) => probeGraph(manifest, real, role));
    }
  } catch (error) {
    await releaseAll();
    throw error;
  }
  const wrap = (session: BackendSession | null, role: GraphRole) => (session && batching ? batching.wrap(session, role) : session);
  const [batchedEncoder, batchedDecoder] = [wrap(encoder, 'encoder'), wrap(decoder, 'decoder')];
  return new Vae<I, O, W>(manifest, batchedEncoder, batchedDecoder, options.backend, maxBatch, detection, options.images ?? null, batching, limits);
}
