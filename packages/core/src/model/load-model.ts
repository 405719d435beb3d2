/**
 * The one model loader: a manifest (`vae.json`) and the graphs it names, or an export in a known layout whose
 * manifest is detected from its graphs, read through a {@link ModelStore} and opened with a {@link Backend}.
 */
import type { Backend, ModelSource } from '../backend.js';
import { detectManifest } from '../manifest/detect.js';
import type { Detection } from '../manifest/detect.js';
import { KNOWN_LAYOUTS, layoutOfFiles } from '../manifest/layouts.js';
import type { KnownLayout } from '../manifest/layouts.js';
import { InvalidOptionError, describe } from '../errors.js';
import { DEFAULT_LIMITS, checkJsonDepth, checkLimit, resolveLimits } from '../limits.js';
import type { LimitName, ResolvedLimits, ResourceLimits } from '../limits.js';
import type { GraphInfo, Manifest } from '../manifest/types.js';
import { parseManifest } from '../manifest/parse.js';
import { MANIFEST_FILE } from './model-store.js';
import type { ModelStore } from './model-store.js';
import { getPreset } from '../manifest/presets.js';
import { utf8Decode } from '../text.js';
import { invalidOption, isPlainObject, optionsObject } from '../validate.js';
import { createVae } from './create-vae.js';
import type { ImageCodec } from '../image/codec.js';
import type { Vae } from './vae.js';
import type { CreateVaeOptions, VaeOptions } from './types.js';

/** A recognised export layout among a model's files. */
export interface FoundLayout {
  /** Which of {@link KNOWN_LAYOUTS}. */
  readonly layout: KnownLayout;
  /** The encoder graph's path in the store; absent for a decoder-only export. */
  readonly encoder?: string;
  /** The decoder graph's path; absent for an encoder-only export. */
  readonly decoder?: string;
  /** A diffusers `config.json` beside the graphs, when there is one. */
  readonly config?: string;
}

/** What {@link planModel} decided: the manifest (or how to detect it from the graphs) and the graphs to open. */
export interface ModelPlan {
  /** The manifest read from `vae.json`, or the detection to run on the opened graphs (as {@link createVae} takes). */
  readonly manifest: Manifest | ((graphs: { readonly encoder?: GraphInfo; readonly decoder?: GraphInfo }) => Detection);
  /** The encoder graph's path in the store; absent for a model without an encoder. */
  readonly encoder?: string;
  /** The decoder graph's path; absent for a model without a decoder. */
  readonly decoder?: string;
  /** The layout found for an export without `vae.json`; `null` with one. */
  readonly layout: FoundLayout | null;
}

/** Options of {@link planModel}. */
export interface PlanModelOptions {
  /** For an export without `vae.json`: its family (see `PRESETS`), for what the graphs cannot tell. */
  readonly preset?: string;
  /** For an export without `vae.json`: its layout, where the file names cannot tell (graphs given as bytes). */
  readonly layout?: KnownLayout;
  /** For an export without `vae.json`: a diffusers VAE `config.json`, parsed (instead of one found beside the graphs). */
  readonly config?: Record<string, unknown>;
  /** `maxManifestBytes` and `maxJsonDepth` bound `vae.json` and `config.json` (see `LIMITS`). */
  readonly limits?: ResourceLimits;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions<I = never, O = never, W = never> extends VaeOptions, PlanModelOptions {
  /** The runtime that opens the graphs. */
  readonly backend: Backend;
  /** Image input and output, where the runtime has them. */
  readonly images?: ImageCodec<I, O, W>;
  /**
   * Which graphs of a manifest to open (e.g. its float16 ones on a capable GPU). Default: the manifest's encoder and
   * decoder files.
   */
  readonly graphs?: (manifest: Manifest) => Promise<{ readonly encoder?: string; readonly decoder?: string }>;
  /** Reads a graph given by path without a session (see {@link CreateVaeOptions.openFile}). */
  readonly openFile?: CreateVaeOptions['openFile'];
}

/**
 * Finds a known export layout (see {@link KNOWN_LAYOUTS}) among a store's files: optimum's subfolders where the store
 * can say whether files exist, the flat layouts where it can list its files.
 *
 * @returns paths in the store, or `null`
 */
export async function findModelLayout(store: ModelStore): Promise<FoundLayout | null> {
  const optimum = KNOWN_LAYOUTS.optimum;
  if (store.exists) {
    // Both subfolders, or one of them alone (a pipeline that ships vae_decoder/ only).
    const [encoder, decoder] = await Promise.all([store.exists(optimum.encoder), store.exists(optimum.decoder)]);
    if (encoder || decoder) {
      const graphs = { ...(encoder ? { encoder: optimum.encoder } : {}), ...(decoder ? { decoder: optimum.decoder } : {}) };
      for (const config of optimum.configs) {
        if (await store.exists(config)) return { layout: 'optimum', ...graphs, config };
      }
      return { layout: 'optimum', ...graphs };
    }
  }
  const found = store.list ? layoutOfFiles(await store.list()) : null;
  return (
    found && {
      layout: found.layout,
      ...(found.encoder === undefined ? {} : { encoder: found.encoder }),
      ...(found.decoder === undefined ? {} : { decoder: found.decoder }),
      ...(found.config === undefined ? {} : { config: found.config }),
    }
  );
}

/** Reads a file through the store, bounded by `limit`: by the store while reading where it can, and checked after. */
async function readLimited(store: ModelStore, file: string, what: string, limits: ResolvedLimits, limit: LimitName): Promise<Uint8Array> {
  const bytes = await store.read(file, what, { limit, maximum: limits[limit] });
  checkLimit(limits, limit, bytes.length, `The ${what} ${store.locate(file)}`);
  return bytes;
}

/**
 * Reads and validates a store's `vae.json`.
 *
 * @param limits - `maxManifestBytes` and `maxJsonDepth` (default: the defaults of `LIMITS`)
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND` (the store's message); {@link ManifestError};
 *   {@link LimitExceededError} for a manifest over `maxManifestBytes` or nested deeper than `maxJsonDepth`
 */
export async function readManifestFile(store: ModelStore, limits: ResolvedLimits = DEFAULT_LIMITS): Promise<Manifest> {
  return parseManifest(utf8Decode(await readLimited(store, MANIFEST_FILE, 'manifest', limits, 'maxManifestBytes')), limits);
}

/** A diffusers `config.json`, or `undefined` when it cannot be read or is not an object (over a limit included). */
async function readConfig(store: ModelStore, file: string, limits: ResolvedLimits): Promise<Record<string, unknown> | undefined> {
  try {
    const text = utf8Decode(await readLimited(store, file, 'config', limits, 'maxManifestBytes'));
    checkJsonDepth(limits, text, file);
    const value = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decides how to open a model without opening it: `vae.json` and the graphs it names, or, without `vae.json`, a
 * known layout and the detection to run on its graphs. `onnx-vae info` uses it to open the graphs once itself.
 *
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND` when there is neither a manifest nor a known layout;
 *   {@link ManifestError}; {@link InvalidOptionError} for a bad `preset` or `layout`, or either with a manifest
 */
export async function planModel(store: ModelStore, options: PlanModelOptions = {}): Promise<ModelPlan> {
  optionsObject(options, 'planModel()');
  if (options.preset !== undefined) getPreset(options.preset);
  const limits = resolveLimits(options.limits);
  if (options.layout !== undefined && !Object.hasOwn(KNOWN_LAYOUTS, options.layout)) {
    throw new InvalidOptionError(
      'layout',
      `Expected "layout" to be one of ${Object.keys(KNOWN_LAYOUTS)
        .map((k) => `"${k}"`)
        .join(', ')} but received ${describe(options.layout)}.`,
    );
  }
  // Stores that cannot tell whether a file exists (HTTP) read the manifest, and its absence is the error.
  let layout: FoundLayout | null = null;
  if (store.exists && !(await store.exists(MANIFEST_FILE))) {
    const found = await findModelLayout(store);
    if (options.layout === undefined) layout = found;
    else layout = { ...(found ?? { encoder: KNOWN_LAYOUTS[options.layout].encoder, decoder: KNOWN_LAYOUTS[options.layout].decoder }), layout: options.layout };
  }
  if (layout === null) {
    const manifest = await readManifestFile(store, limits);
    const given = options.preset !== undefined ? 'preset' : options.layout !== undefined ? 'layout' : null;
    if (given !== null) {
      throw new InvalidOptionError(
        given,
        `"${given}" describes graphs given without a manifest; this model comes with one. Put scaling factors and ranges in the manifest instead.`,
      );
    }
    return {
      manifest,
      ...(manifest.encoder ? { encoder: manifest.encoder.file } : {}),
      ...(manifest.decoder ? { decoder: manifest.decoder.file } : {}),
      layout: null,
    };
  }
  const config = options.config ?? (layout.config === undefined ? undefined : await readConfig(store, layout.config, limits));
  const name = store.name ?? layoutOfFiles([layout.encoder, layout.decoder].filter((f) => f !== undefined))?.name ?? 'model';
  const files = { ...(layout.encoder === undefined ? {} : { encoder: layout.encoder }), ...(layout.decoder === undefined ? {} : { decoder: layout.decoder }) };
  return {
    manifest: ({ encoder, decoder }) =>
      detectManifest({
        name,
        layout: layout.layout,
        ...(layout.encoder !== undefined && encoder ? { encoder: { file: layout.encoder, info: encoder } } : {}),
        ...(layout.decoder !== undefined && decoder ? { decoder: { file: layout.decoder, info: decoder } } : {}),
        ...(config ? { config } : {}),
        ...(options.preset === undefined ? {} : { preset: options.preset }),
      }),
    ...files,
    layout,
  };
}

/**
 * A graph as the backend takes it: the store's own source (a path) where it has one, else its bytes.
 *
 * @param limits - `maxGraphBytes` bounds the graph (default: the defaults of `LIMITS`)
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND`; {@link LimitExceededError} for a graph over `maxGraphBytes`
 */
export async function graphSource(store: ModelStore, file: string, role: 'encoder' | 'decoder', limits: ResolvedLimits = DEFAULT_LIMITS): Promise<ModelSource> {
  const what = `${role} graph`;
  if (store.source) return store.source(file, what, { limit: 'maxGraphBytes', maximum: limits.maxGraphBytes });
  return { bytes: await readLimited(store, file, what, limits, 'maxGraphBytes') };
}

/**
 * Loads a VAE from a store: plans it ({@link planModel}), reads the graphs and opens them with the backend
 * ({@link createVae}). Runtime packages wrap it as `loadVae`.
 *
 * @throws the errors of {@link planModel} and {@link createVae}
 * @example
 * const vae = await loadModel(memoryModelStore({ 'vae.json': text, 'encoder.onnx': e, 'decoder.onnx': d }), { backend });
 */
export async function loadModel<I = never, O = never, W = never>(store: ModelStore, options: LoadModelOptions<I, O, W>): Promise<Vae<I, O, W>> {
  if (!isPlainObject(options)) throw invalidOption('options', 'an object with "backend" for loadModel()', options);
  const limits = resolveLimits(options.limits);
  const plan = await planModel(store, { ...options, limits });
  const files = options.graphs !== undefined && typeof plan.manifest !== 'function' ? await options.graphs(plan.manifest) : plan;
  const [encoder, decoder] = await Promise.all([
    files.encoder === undefined ? undefined : graphSource(store, files.encoder, 'encoder', limits),
    files.decoder === undefined ? undefined : graphSource(store, files.decoder, 'decoder', limits),
  ]);
  return createVae<I, O, W>({
    manifest: plan.manifest,
    backend: options.backend,
    ...(encoder === undefined ? {} : { encoder }),
    ...(decoder === undefined ? {} : { decoder }),
    ...(options.images === undefined ? {} : { images: options.images }),
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    limits,
    ...(options.batching === undefined ? {} : { batching: options.batching }),
    ...(options.preload === undefined ? {} : { preload: options.preload }),
    ...(options.openFile === undefined ? {} : { openFile: options.openFile }),
  });
}
