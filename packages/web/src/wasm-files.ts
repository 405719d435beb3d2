// onnxruntime-web's runtime files (a .wasm and its .mjs loader) and what to say when the browser cannot fetch them:
// onnxruntime's own error ("no available backend found ... both async and sync fetching of the wasm failed") names
// neither the file nor the URL, and on WebGPU it reads like a GPU problem.
import { BackendError } from '@onnx-vae/core';

/**
 * The files onnxruntime-web's WebGPU build (the one `@onnx-vae/web` imports in browsers, for WebGPU and wasm alike)
 * fetches at the first session: the `.wasm` always; the `.mjs` loader only when `wasmPaths` names a folder (otherwise
 * the loader inside the bundle is used).
 */
export const ORT_WEB_FILES = Object.freeze({
  wasm: 'ort-wasm-simd-threaded.asyncify.wasm',
  loader: 'ort-wasm-simd-threaded.asyncify.mjs',
} as const);

/** onnxruntime-web's runtime files in any of its builds (plain, asyncify, jsep, jspi). */
const RUNTIME_FILE = /(?:^|\/)(ort-wasm-simd-threaded(?:\.[a-z]+)?\.(?:wasm|mjs))$/;
/** What onnxruntime-web (and Emscripten inside it) says when it could not fetch or compile those files. */
const LOAD_FAILURE =
  /fetching of the wasm failed|initializeWebAssembly|failed to fetch dynamically imported module|importing a module script failed|error loading dynamically imported module|expected magic word|WebAssembly\.(?:instantiate|compile)|wasm streaming compile/i;

/**
 * The URLs of runtime files this page fetched while onnxruntime-web initialised. Resource Timing cannot tell them: a
 * 404 whose body nobody reads (Emscripten gives up at the status) never gets an entry.
 */
const fetched: string[] = [];
let initialised = false;

/**
 * Runs `task` (a session creation) recording the URLs of onnxruntime-web's runtime files that it fetches, until one
 * succeeds: `fetch` is wrapped for that call only (and restored unless someone else replaced it meanwhile), passing
 * every request through unchanged.
 *
 * @internal
 */
export async function recordingRuntimeFetches<T>(task: () => Promise<T>): Promise<T> {
  const scope = globalThis as { fetch?: typeof fetch; location?: { href: string } };
  const original = scope.fetch;
  if (initialised || typeof original !== 'function') return task();
  const recorder = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    try {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, scope.location?.href).href;
      if (fileOf(url)) fetched.push(url);
    } catch {
      // Not a URL this module can read: not one of onnxruntime's files.
    }
    return original.call(globalThis, input, init);
  };
  scope.fetch = recorder as typeof fetch;
  try {
    const result = await task();
    initialised = true;
    return result;
  } finally {
    if (scope.fetch === recorder) scope.fetch = original;
  }
}

/** @internal Where onnxruntime-web's `env.wasm.wasmPaths` points: a folder URL, or one URL per file. */
export type WasmPathsLike = string | { readonly wasm?: string | URL; readonly mjs?: string | URL } | undefined;

/** What a request for one runtime file gave: a status, or why it did not reach the server. */
async function probe(url: string): Promise<string | null> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'HEAD', cache: 'no-store' });
  } catch (error) {
    return `could not be reached (${(error as Error)?.message ?? error})`;
  }
  const type = response.headers.get('content-type') ?? '';
  if (!response.ok) return `answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (url.endsWith('.wasm') && /text\/html/i.test(type))
    return `answered ${response.status} with an HTML page (${type}), not the .wasm (a fallback route of the server?)`;
  return null;
}

function fileOf(url: string): string | null {
  try {
    return RUNTIME_FILE.exec(new URL(url).pathname)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * The URLs of onnxruntime-web's runtime files this page asked for: those fetched (see `recordingRuntimeFetches`) and
 * URLs in the error (a dynamic import of the .mjs names it), else where `wasmPaths` points.
 */
function requestedUrls(message: string, wasmPaths: WasmPathsLike, requested: readonly string[]): string[] {
  const urls = new Map<string, string>(); // file name -> the latest URL it was asked for at
  for (const url of requested) {
    const file = fileOf(url);
    if (file) urls.set(file, url);
  }
  for (const [url] of message.matchAll(/\bhttps?:\/\/[^\s'"()]+/g)) {
    const file = fileOf(url);
    if (file) urls.set(file, url);
  }
  if (urls.size === 0 && wasmPaths !== undefined) {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    const resolve = (url: string | URL) => new URL(url, base).href;
    try {
      if (typeof wasmPaths === 'string') for (const file of Object.values(ORT_WEB_FILES)) urls.set(file, resolve(wasmPaths + file));
      else {
        if (wasmPaths.wasm !== undefined) urls.set(ORT_WEB_FILES.wasm, resolve(wasmPaths.wasm));
        if (wasmPaths.mjs !== undefined) urls.set(ORT_WEB_FILES.loader, resolve(wasmPaths.mjs));
      }
    } catch {
      // An unparsable wasmPaths: say nothing about URLs.
    }
  }
  return [...urls.values()];
}

/**
 * Turns onnxruntime-web's failure to fetch its runtime files into a `BACKEND_UNAVAILABLE` that says which file was
 * fetched from which URL, what the server answered, and how to fix it.
 *
 * @internal
 * @param error - what `InferenceSession.create` threw
 * @param wasmPaths - `ort.env.wasm.wasmPaths` at the time
 * @param requested - URLs of runtime files the page fetched (default: those `recordingRuntimeFetches` saw)
 * @returns the error to throw, or `null` when this was no failure to load the runtime files
 */
export async function runtimeFileError(error: unknown, wasmPaths: WasmPathsLike, requested: readonly string[] = fetched): Promise<BackendError | null> {
  const message = String((error as Error)?.message ?? error);
  if (!LOAD_FAILURE.test(message)) return null;
  const urls = requestedUrls(message, wasmPaths, requested);
  const failures: string[] = [];
  for (const url of urls) {
    const problem = await probe(url);
    if (problem) failures.push(`${fileOf(url)} from ${url} ${problem}`);
  }
  // The files answer but onnxruntime still failed to load them: something else (SIMD, memory); its own words stand.
  if (failures.length === 0 && urls.length > 0) return null;
  const what =
    failures.length > 0
      ? failures.join('; ')
      : `${ORT_WEB_FILES.wasm} could not be fetched from ${typeof wasmPaths === 'string' ? `wasmPaths ${JSON.stringify(wasmPaths)}` : "next to onnxruntime-web's script (after bundling: next to your bundle)"}`;
  return new BackendError(
    'BACKEND_UNAVAILABLE',
    `onnxruntime-web could not load its WebAssembly runtime: ${what}. ` +
      `It fetches ${ORT_WEB_FILES.wasm} next to its own script (your bundle, once bundled), or from wasmPaths; with wasmPaths naming a folder it fetches ${ORT_WEB_FILES.loader} from there too. ` +
      `Copy those files from node_modules/onnxruntime-web/dist/ to a folder your server serves (.wasm as application/wasm) and pass that folder as wasmPaths (e.g. loadVae(url, { wasmPaths: "/ort/" }), or set ort.env.wasm.wasmPaths), or point wasmPaths at a CDN that serves onnxruntime-web's dist/ folder. ` +
      `(onnxruntime-web said: ${message.split('\n')[0]})`,
    { cause: error },
  );
}
