// A static file server for the browser tests: serves the repository over http://127.0.0.1 (a secure context, so
// WebGPU and the Cache API work) with the cross-origin isolation headers that wasm threads need, `.wasm` as
// application/wasm, and ETags answered with 304 (what @onnx-vae/web's cache revalidates with).
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

const TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.md': 'text/plain; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.map': 'application/json; charset=utf-8',
});

const ISOLATION = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

/**
 * Starts the server on 127.0.0.1 and a free port.
 *
 * @param {string} root - the folder to serve
 * @param {Record<string, string>} [mounts] - more folders, by URL prefix (e.g. `{ '/taesd/': '../shared/models/taesd' }`)
 * @param {{ port?: number, host?: string }} [listen] - default a free port on 127.0.0.1; a path ending in `/` serves
 *   its `index.html`
 * @returns {Promise<{ url: string, requests: string[], close: () => Promise<void> }>} `requests` lists
 *   `STATUS /path` of every request, for tests of caching
 */
export async function startServer(root, mounts = {}, listen = {}) {
  const roots = await Promise.all([...Object.entries(mounts), ['/', root]].map(async ([prefix, folder]) => [prefix, await realpath(resolve(folder))]));
  const requests = [];
  const server = createServer(async (request, response) => {
    let path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const send = (status, body = '') => {
      requests.push(`${status} ${path}`);
      response.writeHead(status, { ...ISOLATION, 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
    };
    let file;
    try {
      const [prefix, top] = roots.find(([prefix]) => path.startsWith(prefix));
      file = await realpath(join(top, path.slice(prefix.length - 1)));
      // node_modules of pnpm are symlinks into the store, which lies inside the repository too.
      if (file !== top && !file.startsWith(top + sep)) return send(403, 'outside the served folder');
      const info = await stat(file);
      if (!info.isFile()) return send(404, 'not a file');
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      if (request.headers['if-none-match'] === etag) {
        requests.push(`304 ${path}`);
        return response.writeHead(304, { ...ISOLATION, ETag: etag }).end();
      }
      requests.push(`200 ${path}`);
      response.writeHead(200, {
        ...ISOLATION,
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-cache',
        ETag: etag,
      });
      if (request.method === 'HEAD') return response.end();
      createReadStream(file).pipe(response);
    } catch {
      send(404, 'not found');
    }
  });
  const host = listen.host ?? '127.0.0.1';
  await new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(listen.port ?? 0, host, done);
  });
  const { port } = server.address();
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
