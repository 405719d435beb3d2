// How a missing or unreachable onnxruntime-web runtime file is reported (runtimeFileError), against a local HTTP
// server; the same path in a real browser, with a bundle whose .wasm was left behind, is in packages/web/test/bundlers/run.mjs.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runtimeFileError } from '../src/wasm-files';

const ORT_WASM_ERROR = new Error(
  'no available backend found. ERR: [wasm] RuntimeError: Aborted(both async and sync fetching of the wasm failed). Build with -sASSERTIONS for more info.',
);
const ORT_MJS_ERROR = (url: string) => new Error(`no available backend found. ERR: [webgpu] TypeError: Failed to fetch dynamically imported module: ${url}`);

let base = '';
const server = createServer((request, response) => {
  if (request.url === '/ok/ort-wasm-simd-threaded.asyncify.wasm' || request.url === '/ok/ort-wasm-simd-threaded.asyncify.mjs') {
    response.writeHead(200, { 'Content-Type': request.url.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' }).end();
  } else if (request.url?.startsWith('/spa/')) response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html>');
  else response.writeHead(404, 'Not Found').end();
});
beforeAll(
  () =>
    new Promise<void>((done) =>
      server.listen(0, '127.0.0.1', () => {
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        done();
      }),
    ),
);
afterAll(() => new Promise<void>((done) => server.close(() => done())));

/** URLs of runtime files the page fetched. */
const requested = (...urls: string[]) => urls;

describe('runtimeFileError', () => {
  it('names the file onnxruntime-web fetched, the URL, the answer and the fix (a 404)', async () => {
    const url = `${base}/assets/ort-wasm-simd-threaded.asyncify.wasm`;
    const error = await runtimeFileError(ORT_WASM_ERROR, undefined, requested(`${base}/assets/app.js`, url));
    expect(error?.code).toBe('BACKEND_UNAVAILABLE');
    expect(error?.cause).toBe(ORT_WASM_ERROR);
    expect(error?.message).toBe(
      `onnxruntime-web could not load its WebAssembly runtime: ort-wasm-simd-threaded.asyncify.wasm from ${url} answered 404 Not Found. ` +
        'It fetches ort-wasm-simd-threaded.asyncify.wasm next to its own script (your bundle, once bundled), or from wasmPaths; with wasmPaths naming a folder it fetches ort-wasm-simd-threaded.asyncify.mjs from there too. ' +
        'Copy those files from node_modules/onnxruntime-web/dist/ to a folder your server serves (.wasm as application/wasm) and pass that folder as wasmPaths (e.g. loadVae(url, { wasmPaths: "/ort/" }), or set ort.env.wasm.wasmPaths), or point wasmPaths at a CDN that serves onnxruntime-web\'s dist/ folder. ' +
        '(onnxruntime-web said: no available backend found. ERR: [wasm] RuntimeError: Aborted(both async and sync fetching of the wasm failed). Build with -sASSERTIONS for more info.)',
    );
  });

  it.each([
    [
      'the .mjs loader named in the error (WebGPU build, wasmPaths a folder)',
      () => ORT_MJS_ERROR(`${base}/ort/ort-wasm-simd-threaded.asyncify.mjs`),
      undefined,
      () => [`ort-wasm-simd-threaded.asyncify.mjs from ${base}/ort/ort-wasm-simd-threaded.asyncify.mjs answered 404 Not Found`],
    ],
    [
      'a wasmPaths folder that is not served, with no request recorded',
      () => ORT_WASM_ERROR,
      () => `${base}/missing/`,
      () => [
        `ort-wasm-simd-threaded.asyncify.wasm from ${base}/missing/ort-wasm-simd-threaded.asyncify.wasm answered 404 Not Found`,
        `ort-wasm-simd-threaded.asyncify.mjs from ${base}/missing/ort-wasm-simd-threaded.asyncify.mjs answered 404 Not Found`,
      ],
    ],
    [
      'an unreachable server (wasmPaths on a closed port)',
      () => ORT_WASM_ERROR,
      () => 'http://127.0.0.1:1/ort/',
      () =>
        ['wasm', 'mjs'].map(
          (type) =>
            `ort-wasm-simd-threaded.asyncify.${type} from http://127.0.0.1:1/ort/ort-wasm-simd-threaded.asyncify.${type} could not be reached (fetch failed)`,
        ),
    ],
    [
      'an HTML page served for the .wasm (a fallback route)',
      () =>
        new Error('no available backend found. ERR: [wasm] CompileError: WebAssembly.instantiate(): expected magic word 00 61 73 6d, found 3c 21 64 6f @+0'),
      () => ({ wasm: `${base}/spa/ort-wasm-simd-threaded.asyncify.wasm` }),
      () => [
        `ort-wasm-simd-threaded.asyncify.wasm from ${base}/spa/ort-wasm-simd-threaded.asyncify.wasm answered 200 with an HTML page (text/html; charset=utf-8), not the .wasm (a fallback route of the server?)`,
      ],
    ],
  ])('reports %s', async (_name, error, wasmPaths, problems) => {
    const found = await runtimeFileError(error(), wasmPaths?.(), requested());
    expect(found?.code).toBe('BACKEND_UNAVAILABLE');
    expect(found?.message).toContain(`onnxruntime-web could not load its WebAssembly runtime: ${problems().join('; ')}. It fetches`);
  });

  it('says where the file was expected when nothing tells the URL', async () => {
    const found = await runtimeFileError(ORT_WASM_ERROR, undefined, requested());
    expect(found?.message).toContain(
      "onnxruntime-web could not load its WebAssembly runtime: ort-wasm-simd-threaded.asyncify.wasm could not be fetched from next to onnxruntime-web's script (after bundling: next to your bundle). It fetches",
    );
  });

  it.each([
    ['an error that is not about the runtime files', new Error('Failed to load model because protobuf parsing failed.'), undefined],
    ["a load failure while the files are served fine (something else failed; onnxruntime's words stand)", ORT_WASM_ERROR, 'ok'],
  ])('leaves alone %s', async (_name, error, folder) => {
    expect(
      await runtimeFileError(
        error,
        undefined,
        requested(...(folder ? [`${base}/${folder}/ort-wasm-simd-threaded.asyncify.wasm`, `${base}/${folder}/ort-wasm-simd-threaded.asyncify.mjs`] : [])),
      ),
    ).toBeNull();
  });
});

describe('recordingRuntimeFetches', () => {
  it('records the runtime files fetched during the task, passes every request through, and restores fetch', async () => {
    const { recordingRuntimeFetches: recording } = await import('../src/wasm-files');
    const original = globalThis.fetch;
    const statuses = await recording(async () =>
      Promise.all(
        [`${base}/gone/ort-wasm-simd-threaded.asyncify.wasm`, `${base}/ok/ort-wasm-simd-threaded.asyncify.wasm`, `${base}/other.json`].map(
          async (url) => (await fetch(url)).status,
        ),
      ),
    );
    expect(statuses).toEqual([404, 200, 404]);
    expect(globalThis.fetch).toBe(original);
    // Recorded: the latest URL of each file is the one reported (here the served one, so nothing to report).
    expect(await runtimeFileError(ORT_WASM_ERROR, undefined)).toBeNull();
  });
});
