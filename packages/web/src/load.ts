import {
  InvalidInputError,
  InvalidOptionError,
  KNOWN_LAYOUTS,
  MANIFEST_FILE,
  describe,
  getPreset,
  invalidOption,
  layoutOfFiles,
  loadModel,
  memoryModelStore,
  optionsObject,
  parseManifest,
  resolveLimits,
} from '@onnx-vae/core';
import type { KnownLayout, ModelStore, ResolvedLimits, Vae, VaeOptions } from '@onnx-vae/core';
import { OrtWebBackend } from './ort-web-backend.js';
import type { OrtWebOptions } from './ort-web-backend.js';
import { fetchModelFile } from './fetch-model.js';
import type { LoadProgress } from './fetch-model.js';
import { webImageCodec } from './image-codec.js';
import type { WebImageInput, WebImageWriteOptions } from './image-codec.js';

/** A VAE loaded in the browser: tensors or images (ImageData, canvases, bitmaps, `<img>`, Blobs) in; `toImages` gives ImageData. */
export type WebVae = Vae<WebImageInput, ImageData, WebImageWriteOptions>;

/** A graph given in memory. */
export type GraphBytes = ArrayBuffer | Uint8Array | Blob;

/**
 * A model given in memory: its manifest (object or `vae.json` text) and its graphs (both, or one alone for a
 * decoder-only or encoder-only model). Without a manifest (an export
 * that ships none, e.g. TAESD's `NAME_encoder.onnx` / `NAME_decoder.onnx`) it is detected from the graphs as Node's
 * `loadVae` does for a folder: see the `layout` and `preset` options.
 */
export interface ModelFiles {
  /** The manifest, validated with `parseManifest`; leave it out to detect one from the graphs. */
  readonly manifest?: unknown;
  /** A diffusers VAE `config.json` (parsed), for a detected manifest's scaling factors. */
  readonly config?: Record<string, unknown>;
  /** The encoder graph: bytes, or a `File`/`Blob` (e.g. from `<input type="file">`); left out for a decoder-only model. */
  readonly encoder?: GraphBytes;
  /** The decoder graph; left out for an encoder-only model. */
  readonly decoder?: GraphBytes;
}

/** Options of {@link loadVae}: batching, the onnxruntime-web options, and fetching. */
export interface LoadVaeOptions extends VaeOptions, OrtWebOptions {
  /** Called as each file downloads, with the file name, bytes so far and the total (`null` when the server sends no length). */
  readonly onProgress?: (progress: LoadProgress) => void;
  /**
   * The Cache API cache to keep graphs in, keyed by their SHA-256 (name, or `false` for none). Default
   * `'onnx-vae'` where `caches` exists (secure contexts).
   */
  readonly cache?: string | false;
  /** `fetch` options for every request (credentials, headers, signal). */
  readonly fetchOptions?: RequestInit;
  /**
   * Graphs without a manifest: the export layout they come from (see `KNOWN_LAYOUTS`). Default: from the names of
   * `File`s (`NAME_encoder.onnx` gives `'encoder-decoder-pair'`, `vae_encoder.onnx` `'ort-sd-demo'`); bytes need it.
   */
  readonly layout?: KnownLayout;
  /** Graphs without a manifest: a preset (see `PRESETS`, e.g. `'taesd'`, `'sd-1'`) for what the graphs cannot tell. */
  readonly preset?: string;
}

/** The names of the `File`s given when they show a layout (as a folder's names do for Node's loader), else `null`. */
function namesOfFiles(encoder: unknown, decoder: unknown): { readonly encoder?: string; readonly decoder?: string } | null {
  if (typeof File === 'undefined' || ![encoder, decoder].every((f) => f === undefined || f instanceof File)) return null;
  const [e, d] = [encoder as File | undefined, decoder as File | undefined];
  const found = layoutOfFiles([e?.name, d?.name].filter((n) => n !== undefined));
  return found && found.encoder === e?.name && found.decoder === d?.name ? { ...(e ? { encoder: e.name } : {}), ...(d ? { decoder: d.name } : {}) } : null;
}

/** `{ [name]: bytes }` for a graph that is there, else nothing. */
function graphFiles(name: string | undefined, bytes: Uint8Array | undefined): Record<string, Uint8Array> {
  return name === undefined || bytes === undefined ? {} : { [name]: bytes };
}

/**
 * Files in memory as a {@link ModelStore}: under the manifest's names, the `File`s' own names, or, for bytes, the
 * names of the `layout` option.
 *
 * @throws {@link InvalidOptionError} for graphs without a manifest whose layout neither names nor `layout` give
 */
async function memoryStore(source: ModelFiles, options: LoadVaeOptions, limits: ResolvedLimits): Promise<ModelStore> {
  const [encoder, decoder] = await Promise.all([
    source.encoder === undefined ? undefined : graphBytes(source.encoder, 'encoder'),
    source.decoder === undefined ? undefined : graphBytes(source.decoder, 'decoder'),
  ]);
  if (source.manifest !== undefined) {
    const manifest = parseManifest(source.manifest, limits);
    const text = typeof source.manifest === 'string' ? source.manifest : JSON.stringify(source.manifest);
    return memoryModelStore({ [MANIFEST_FILE]: text, ...graphFiles(manifest.encoder?.file, encoder), ...graphFiles(manifest.decoder?.file, decoder) });
  }
  const named = namesOfFiles(source.encoder, source.decoder);
  if (named !== null) return memoryModelStore({ ...graphFiles(named.encoder, encoder), ...graphFiles(named.decoder, decoder) });
  if (options.layout === undefined) {
    throw new InvalidOptionError(
      'layout',
      `Graphs given without a manifest need "layout" (one of ${Object.keys(KNOWN_LAYOUTS)
        .map((k) => `"${k}"`)
        .join(', ')}) to be described; File objects named like NAME_encoder.onnx or vae_encoder.onnx give it, bytes do not. Or pass a manifest.`,
    );
  }
  const files = Object.hasOwn(KNOWN_LAYOUTS, options.layout) ? KNOWN_LAYOUTS[options.layout] : { encoder: 'encoder.onnx', decoder: 'decoder.onnx' };
  return memoryModelStore({ ...graphFiles(files.encoder, encoder), ...graphFiles(files.decoder, decoder) }, 'model');
}

/** A model folder's URL as a {@link ModelStore}: files fetched with progress, graphs kept in the Cache API. */
function urlStore(source: string | URL, options: LoadVaeOptions): ModelStore {
  const base = baseUrl(source);
  const fetching = { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.fetchOptions ? { init: options.fetchOptions } : {}) };
  const cache = options.cache ?? 'onnx-vae';
  return {
    locate: (file) => new URL(file, base).href,
    read: (file) => fetchModelFile(new URL(file, base), file, { ...fetching, cache: file === MANIFEST_FILE ? false : cache }),
  };
}

function baseUrl(source: string | URL): URL {
  const location = (globalThis as { location?: { href: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(source, location);
  } catch (error) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      'source',
      `Expected "source" to be the URL of a model folder, absolute or relative to the page, but received ${describe(String(source))}${location ? '' : ' with no page location to resolve it against'}.`,
      { cause: error },
    );
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

async function graphBytes(value: unknown, role: 'encoder' | 'decoder'): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof Blob !== 'undefined' && value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  throw new InvalidInputError(
    'INVALID_INPUT',
    role,
    `Expected "${role}" to be the graph's bytes (ArrayBuffer, Uint8Array) or a File/Blob but received ${describe(value)}.`,
  );
}

function isModelFiles(value: unknown): value is ModelFiles {
  return typeof value === 'object' && value !== null && !(value instanceof URL) && ('encoder' in value || 'decoder' in value);
}

/**
 * Loads a VAE on onnxruntime-web, from a model folder's URL (`vae.json` and the two graphs it names, fetched with
 * progress and kept in the Cache API) or from files in memory.
 *
 * @param source - the folder's URL (absolute, or relative to the page), or `{ manifest, encoder, decoder }`
 * @param options - `device` (`'auto'` default: WebGPU on a hardware adapter, else wasm; `'webgpu'`, `'wasm'`),
 *   `precision` (`'auto'` default: float16 graphs on WebGPU with shader-f16 where the manifest has them),
 *   `keepLatentsOnGpu` (default true), `numThreads`,
 *   `wasmPaths`, `graphOptimizationLevel`, `enableMemPattern` (wasm; default false), `maxBatch` (default 256),
 *   `batching` (micro-batching), `preload` (graphs whose sessions are created at load; default both),
 *   `onProgress`, `cache` (default `'onnx-vae'`),
 *   `fetchOptions`, `limits` (resource limits: the manifest's size and depth, the graphs' bytes, and every call's; see
 *   `LIMITS`)
 * @returns the VAE; `vae.backendInfo` says which device and precision were chosen and why
 * @throws {@link ModelFileError} (`MODEL_FILE_NOT_FOUND` for a failed download), {@link ManifestError},
 *   {@link ModelMismatchError}, {@link InvalidOptionError}, {@link BackendError} (`BACKEND_UNAVAILABLE` for
 *   `device: 'webgpu'` without an adapter, or when onnxruntime-web's `.wasm` cannot be fetched: the message names the
 *   file, the URL and the fix)
 * @example
 * import { loadVae } from '@onnx-vae/web';
 * const vae = await loadVae('/models/mnist-vae/', { device: 'auto', onProgress: (p) => console.log(p.file, p.loaded, p.total) });
 * const q = await vae.encode({ data: new Float32Array(784), dims: [1, 784] });
 * console.log(vae.backendInfo.device, vae.backendInfo.reason, q.kl());
 * await vae.dispose();
 */
export async function loadVae(source: string | URL | ModelFiles, options: LoadVaeOptions = {}): Promise<WebVae> {
  if (!((typeof source === 'string' && source !== '') || source instanceof URL || isModelFiles(source))) {
    throw invalidOption('source', "a model folder's URL (a non-empty string or a URL) or { manifest, encoder, decoder } in memory", source);
  }
  optionsObject(options, 'loadVae()');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidOptionError('onProgress', `Expected "onProgress" to be a function but received ${describe(options.onProgress)}.`);
  }
  if (options.cache !== undefined && options.cache !== false && (typeof options.cache !== 'string' || options.cache === '')) {
    throw new InvalidOptionError('cache', `Expected "cache" to be a cache name or false but received ${describe(options.cache)}.`);
  }
  if (options.preset !== undefined) getPreset(options.preset);
  const limits = resolveLimits(options.limits);
  const backend = new OrtWebBackend(options);
  const loading = {
    backend,
    limits,
    images: webImageCodec,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    ...(options.batching === undefined ? {} : { batching: options.batching }),
    // Default: both sessions at load (core's default): the graphs' bytes are in memory already, and the device is
    // chosen ('auto' falling back to wasm) as the first session is created; a page that only decodes passes
    // preload: ['decoder'], and the encoder's session is then created from its bytes by the first encode.
    ...(options.preload === undefined ? {} : { preload: options.preload }),
  };
  const described = {
    ...(options.preset === undefined ? {} : { preset: options.preset }),
    ...(options.layout === undefined ? {} : { layout: options.layout }),
  };
  if (isModelFiles(source)) {
    // Graphs given in memory run as they are (no float16 choice).
    return loadModel(await memoryStore(source, options, limits), { ...loading, ...described, ...(source.config ? { config: source.config } : {}) });
  }
  if (typeof source === 'string' || source instanceof URL) {
    return loadModel(urlStore(source, options), {
      ...loading,
      ...described,
      graphs: async (manifest) =>
        (await backend.choosePrecision(manifest.name, manifest.float16 !== undefined)) === 'float16'
          ? manifest.float16!
          : { ...(manifest.encoder ? { encoder: manifest.encoder.file } : {}), ...(manifest.decoder ? { decoder: manifest.decoder.file } : {}) },
    });
  }
  throw new InvalidInputError(
    'INVALID_INPUT',
    'source',
    `Expected "source" to be a model folder's URL or { manifest, encoder, decoder } but received ${describe(source)}.`,
  );
}

export type { LoadProgress };
