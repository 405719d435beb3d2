import { InvalidInputError, InvalidOptionError, createVae, describe, parseManifest } from '@onnx-vae/core';
import type { Manifest, Vae, VaeOptions } from '@onnx-vae/core';
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

/** A model given in memory: its manifest (object or `vae.json` text) and both graphs. */
export interface ModelFiles {
  /** The manifest, validated with `parseManifest`. */
  readonly manifest: unknown;
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
  return typeof value === 'object' && value !== null && !(value instanceof URL) && 'manifest' in value && 'encoder' in value && 'decoder' in value;
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
  const backend = new OrtWebBackend(options);
  let manifest: Manifest;
  let encoder: Uint8Array;
  let decoder: Uint8Array;
  if (isModelFiles(source)) {
    manifest = parseManifest(source.manifest);
    [encoder, decoder] = await Promise.all([graphBytes(source.encoder, 'encoder'), graphBytes(source.decoder, 'decoder')]);
  } else if (typeof source === 'string' || source instanceof URL) {
    const base = baseUrl(source);
    const fetching = { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.fetchOptions ? { init: options.fetchOptions } : {}) };
    const manifestBytes = await fetchModelFile(new URL(MANIFEST_FILE, base), MANIFEST_FILE, { ...fetching, cache: false });
    manifest = parseManifest(new TextDecoder().decode(manifestBytes));
    const cache = options.cache ?? 'onnx-vae';
    const files = (await backend.choosePrecision(manifest.name, manifest.float16 !== undefined)) === 'float16' ? manifest.float16! : { encoder: manifest.encoder.file, decoder: manifest.decoder.file };
    [encoder, decoder] = await Promise.all([
      fetchModelFile(new URL(files.encoder, base), files.encoder, { ...fetching, cache }),
      fetchModelFile(new URL(files.decoder, base), files.decoder, { ...fetching, cache }),
    ]);
  } else {
    throw new InvalidInputError('INVALID_INPUT', 'source', `Expected "source" to be a model folder's URL or { manifest, encoder, decoder } but received ${describe(source)}.`);
  }
  return createVae({
    manifest,
    backend,
    encoder: { bytes: encoder },
    decoder: { bytes: decoder },
    images: webImageCodec,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
  });
}

export type { LoadProgress };
