/**
 * Downloads model files with progress, and keeps graphs in the Cache API keyed by their SHA-256: the file's URL maps
 * to its hash and its HTTP validators (ETag, Last-Modified); a later load revalidates with a conditional request and,
 * on `304 Not Modified`, reads the bytes stored under the hash (checked again) instead of downloading them.
 */
import { ModelFileError, sha256Hex } from '@onnx-vae/core';

/** Download progress of one model file. */
export interface LoadProgress {
  /** The file's name in the manifest, e.g. `decoder.onnx`. */
  readonly file: string;
  /** Bytes received so far. */
  readonly loaded: number;
  /** The file's size, or `null` when the server does not say (no Content-Length, or a compressed transfer). */
  readonly total: number | null;
}

/** @internal */
export interface FetchModelOptions {
  readonly onProgress?: (progress: LoadProgress) => void;
  readonly init?: RequestInit;
  /** Cache name, or `false` for none. */
  readonly cache: string | false;
}

interface CacheIndex {
  readonly sha256: string;
  readonly etag: string | null;
  readonly lastModified: string | null;
}

const CACHE_FOLDER = '/.onnx-vae-cache/sha256/';

function openCache(name: string | false): Promise<Cache | null> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (name === false || !storage) return Promise.resolve(null);
  return storage.open(name).catch(() => null);
}

async function readIndex(cache: Cache, url: URL): Promise<CacheIndex | null> {
  try {
    const entry = await cache.match(url.href);
    return entry ? ((await entry.json()) as CacheIndex) : null;
  } catch {
    return null;
  }
}

async function readBody(response: Response, file: string, onProgress: FetchModelOptions['onProgress']): Promise<Uint8Array> {
  const encoding = response.headers.get('content-encoding');
  const length = Number(response.headers.get('content-length'));
  const total = (encoding === null || encoding === 'identity') && Number.isSafeInteger(length) && length > 0 ? length : null;
  if (!onProgress || !response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  onProgress({ file, loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress({ file, loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

async function fromCache(cache: Cache, url: URL, index: CacheIndex): Promise<Uint8Array | null> {
  try {
    const stored = await cache.match(new URL(CACHE_FOLDER + index.sha256, url).href);
    if (!stored) return null;
    const bytes = new Uint8Array(await stored.arrayBuffer());
    return (await sha256Hex(bytes)) === index.sha256 ? bytes : null;
  } catch {
    return null;
  }
}

async function store(cache: Cache, url: URL, bytes: Uint8Array, response: Response): Promise<void> {
  try {
    const sha256 = await sha256Hex(bytes);
    const index: CacheIndex = { sha256, etag: response.headers.get('etag'), lastModified: response.headers.get('last-modified') };
    if (index.etag === null && index.lastModified === null) return; // nothing to revalidate with
    await cache.put(new URL(CACHE_FOLDER + sha256, url).href, new Response(bytes as BodyInit, { headers: { 'content-type': 'application/octet-stream' } }));
    await cache.put(url.href, new Response(JSON.stringify(index), { headers: { 'content-type': 'application/json' } }));
  } catch {
    // The cache is an optimisation: a full quota or a private window only costs a download next time.
  }
}

/**
 * Fetches one model file, from the Cache API where it is still fresh.
 *
 * @internal
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND` when the request fails or answers an error status
 */
export async function fetchModelFile(url: URL, file: string, options: FetchModelOptions, revalidate = true): Promise<Uint8Array> {
  const cache = await openCache(options.cache);
  const index = cache && revalidate ? await readIndex(cache, url) : null;
  const headers = new Headers(options.init?.headers);
  if (index?.etag) headers.set('if-none-match', index.etag);
  else if (index?.lastModified) headers.set('if-modified-since', index.lastModified);
  let response: Response;
  try {
    response = await fetch(url, { ...options.init, headers });
  } catch (error) {
    throw new ModelFileError(
      'MODEL_FILE_NOT_FOUND',
      url.href,
      `Cannot fetch ${url.href}: ${(error as Error)?.message ?? error}. Check the model folder's URL, that the server is up, and its CORS headers for another origin.`,
      { cause: error },
    );
  }
  if (response.status === 304 && cache && index) {
    const bytes = await fromCache(cache, url, index);
    if (bytes) {
      options.onProgress?.({ file, loaded: bytes.length, total: bytes.length });
      return bytes;
    }
    // The stored bytes are gone or damaged: download them again, without the validators.
    return fetchModelFile(url, file, options, false);
  }
  if (!response.ok) {
    throw new ModelFileError(
      'MODEL_FILE_NOT_FOUND',
      url.href,
      `Cannot fetch ${url.href}: HTTP ${response.status} ${response.statusText}. A model folder holds vae.json and the two ONNX files it names (docs/manifest.md).`,
    );
  }
  const bytes = await readBody(response, file, options.onProgress);
  if (cache) await store(cache, url, bytes, response);
  return bytes;
}
