import { InvalidInputError, InvalidOptionError, KNOWN_LAYOUTS, checkLimit, createVae, resolveLimits, describe, detectManifest, getPreset, layoutOfFiles, parseManifest } from '@onnx-vae/core';
import type { GraphInfo, KnownLayout, Manifest, Vae, VaeOptions } from '@onnx-vae/core';
import { OrtWebBackend } from './ort-web-backend.js';
import type { OrtWebOptions } from './ort-web-backend.js';
import { fetchModelFile } from './fetch-model.js';
import type { LoadProgress } from './fetch-model.js';
import { webImageCodec } from './image-codec.js';
import type { WebImageInput, WebImageWriteOptions } from './image-codec.js';

/** The manifest's file name inside a model folder. */
export const MANIFEST_FILE = 'vae.json';

/** A VAE loaded in the browser: tensors or images (ImageData, canvases, bitmaps, `<img>`, Blobs) in; `toImages` gives ImageData. */
export type WebVae = Vae<WebImageInput, ImageData, WebImageWriteOptions>;

/** A graph given in memory. */
export type GraphBytes = ArrayBuffer | Uint8Array | Blob;

/**
 * A model given in memory: its manifest (object or `vae.json` text) and both graphs. Without a manifest (an export
 * that ships none, e.g. TAESD's `NAME_encoder.onnx` / `NAME_decoder.onnx`) it is detected from the graphs as Node's
 * `loadVae` does for a folder: see the `layout` and `preset` options.
 */
export interface ModelFiles {
  /** The manifest, validated with `parseManifest`; leave it out to detect one from the graphs. */
  readonly manifest?: unknown;
  /** A diffusers VAE `config.json` (parsed), for a detected manifest's scaling factors. */
  readonly config?: Record<string, unknown>;
  /** The encoder graph: bytes, or a `File`/`Blob` (e.g. from `<input type="file">`). */
  readonly encoder: GraphBytes;
  /** The decoder graph. */
  readonly decoder: GraphBytes;
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

/** The layout the names of two `File`s give (as Node's loader reads a folder's), or `null` for bytes. */
function layoutFromNames(encoder: unknown, decoder: unknown): ReturnType<typeof layoutOfFiles> {
  if (typeof File === 'undefined' || !(encoder instanceof File) || !(decoder instanceof File)) return null;
  const found = layoutOfFiles([encoder.name, decoder.name]);
  return found && found.encoder === encoder.name ? found : null;
}

/** How graphs without a manifest are described: the layout, the model's name and the file names for messages. */
function detection(source: ModelFiles, options: LoadVaeOptions): (graphs: { encoder: GraphInfo; decoder: GraphInfo }) => ReturnType<typeof detectManifest> {
  const named = layoutFromNames(source.encoder, source.decoder);
  if (options.layout === undefined && named === null) {
    throw new InvalidOptionError('layout', `Graphs given without a manifest need "layout" (one of ${Object.keys(KNOWN_LAYOUTS).map((k) => `"${k}"`).join(', ')}) to be described; File objects named like NAME_encoder.onnx or vae_encoder.onnx give it, bytes do not. Or pass a manifest.`);
  }
  if (options.layout !== undefined && !Object.hasOwn(KNOWN_LAYOUTS, options.layout)) {
    throw new InvalidOptionError('layout', `Expected "layout" to be one of ${Object.keys(KNOWN_LAYOUTS).map((k) => `"${k}"`).join(', ')} but received ${describe(options.layout)}.`);
  }
  const layout = options.layout ?? named!.layout;
  const files = KNOWN_LAYOUTS[layout];
  const name = named?.name ?? 'model';
  return ({ encoder, decoder }) =>
    detectManifest({
      name,
      layout,
      encoder: { file: named?.encoder ?? files.encoder, info: encoder },
      decoder: { file: named?.decoder ?? files.decoder, info: decoder },
      ...(source.config ? { config: source.config } : {}),
      ...(options.preset === undefined ? {} : { preset: options.preset }),
    });
}

function baseUrl(source: string | URL): URL {
  const location = (globalThis as { location?: { href: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(source, location);
  } catch (error) {
    throw new InvalidInputError('INVALID_INPUT', 'source', `Expected "source" to be the URL of a model folder, absolute or relative to the page, but received ${describe(String(source))}${location ? '' : ' with no page location to resolve it against'}.`, { cause: error });
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

async function graphBytes(value: unknown, role: 'encoder' | 'decoder'): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof Blob !== 'undefined' && value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  throw new InvalidInputError('INVALID_INPUT', role, `Expected "${role}" to be the graph's bytes (ArrayBuffer, Uint8Array) or a File/Blob but received ${describe(value)}.`);
}

function isModelFiles(value: unknown): value is ModelFiles {
  return typeof value === 'object' && value !== null && !(value instanceof URL) && 'encoder' in value && 'decoder' in value;
}

/**
 * Loads a VAE on onnxruntime-web, from a model folder's URL (`vae.json` and the two graphs it names, fetched with
 * progress and kept in the Cache API) or from files in memory.
 *
 * @param source - the folder's URL (absolute, or relative to the page), or `{ manifest, encoder, decoder }`
 * @param options - `device` (`'auto'` default, `'webgpu'`, `'wasm'`), `precision` (`'auto'` default: float16 graphs
 *   on WebGPU with shader-f16 where the manifest has them), `keepLatentsOnGpu` (default true), `numThreads`,
 *   `wasmPaths`, `graphOptimizationLevel`, `maxBatch` (default 256), `onProgress`, `cache` (default `'onnx-vae'`),
 *   `fetchOptions`
 * @returns the VAE; `vae.backendName` names the execution provider chosen
 * @throws {@link ModelFileError} (`MODEL_FILE_NOT_FOUND` for a failed download), {@link ManifestError},
 *   {@link ModelMismatchError}, {@link InvalidOptionError}, {@link BackendError} (`BACKEND_UNAVAILABLE` for
 *   `device: 'webgpu'` without an adapter)
 * @example
 * import { loadVae } from '@onnx-vae/web';
 * const vae = await loadVae('/models/mnist-vae/', { device: 'auto', onProgress: (p) => console.log(p.file, p.loaded, p.total) });
 * const q = await vae.encode({ data: new Float32Array(784), dims: [1, 784] });
 * console.log(vae.backendName, q.kl());
 * await vae.dispose();
 */
export async function loadVae(source: string | URL | ModelFiles, options: LoadVaeOptions = {}): Promise<WebVae> {
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidOptionError('onProgress', `Expected "onProgress" to be a function but received ${describe(options.onProgress)}.`);
  }
  if (options.cache !== undefined && options.cache !== false && (typeof options.cache !== 'string' || options.cache === '')) {
    throw new InvalidOptionError('cache', `Expected "cache" to be a cache name or false but received ${describe(options.cache)}.`);
  }
  if (options.preset !== undefined) getPreset(options.preset);
  const limits = resolveLimits(options.limits);
  const backend = new OrtWebBackend(options);
  let manifest: Manifest | ReturnType<typeof detection>;
  let encoder: Uint8Array;
  let decoder: Uint8Array;
  if (isModelFiles(source)) {
    if (source.manifest === undefined) manifest = detection(source, options);
    else if (options.preset !== undefined || options.layout !== undefined) {
      throw new InvalidOptionError(options.preset !== undefined ? 'preset' : 'layout', `"${options.preset !== undefined ? 'preset' : 'layout'}" describes graphs given without a manifest; this model comes with one. Put scaling factors and ranges in the manifest instead.`);
    } else manifest = parseManifest(source.manifest, limits);
    [encoder, decoder] = await Promise.all([graphBytes(source.encoder, 'encoder'), graphBytes(source.decoder, 'decoder')]);
  } else if (typeof source === 'string' || source instanceof URL) {
    const base = baseUrl(source);
    const fetching = { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.fetchOptions ? { init: options.fetchOptions } : {}) };
    const manifestBytes = await fetchModelFile(new URL(MANIFEST_FILE, base), MANIFEST_FILE, { ...fetching, cache: false });
    checkLimit(limits, 'maxManifestBytes', manifestBytes.length, `The manifest ${MANIFEST_FILE}`);
    manifest = parseManifest(new TextDecoder().decode(manifestBytes), limits);
    const cache = options.cache ?? 'onnx-vae';
    const files = (await backend.choosePrecision(manifest.name, manifest.float16 !== undefined)) === 'float16' ? manifest.float16! : { encoder: manifest.encoder.file, decoder: manifest.decoder.file };
    [encoder, decoder] = await Promise.all([
      fetchModelFile(new URL(files.encoder, base), files.encoder, { ...fetching, cache }),
      fetchModelFile(new URL(files.decoder, base), files.decoder, { ...fetching, cache }),
    ]);
  } else {
    throw new InvalidInputError('INVALID_INPUT', 'source', `Expected "source" to be a model folder's URL or { manifest, encoder, decoder } but received ${describe(source)}.`);
  }
  checkLimit(limits, 'maxGraphBytes', encoder.length, 'The encoder graph');
  checkLimit(limits, 'maxGraphBytes', decoder.length, 'The decoder graph');
  return createVae({
    manifest,
    backend,
    limits,
    encoder: { bytes: encoder },
    decoder: { bytes: decoder },
    images: webImageCodec,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
  });
}

export type { LoadProgress };
