#!/usr/bin/env node
// `pnpm demo:web`: builds the web demo and serves it on http://127.0.0.1:5173 with the cross-origin isolation
// headers wasm threads need. Routes: / the built demo (dist/), /models/ the repository's models, /taesd/ TAEF2 from
// ../shared/models/taesd where present, /samples/ two of Debian's scikit-image photos where present (none is copied
// into the repository). `--port N` (0: a free port), `--no-build` serves the last build.
import { createReadStream, existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST, ROOT, buildDemo } from './build.mjs';

const TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.md': 'text/plain; charset=utf-8',
});

const ISOLATION = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
/** Sample photos: the URL path's file name and where it lies. */
export const SAMPLES = Object.freeze({ 'astronaut.png': join(SKIMAGE, 'astronaut.png'), 'coffee.png': join(SKIMAGE, 'coffee.png') });
export const TAESD = resolve(ROOT, '..', 'shared', 'models', 'taesd');

/** URL prefix -> folder, longest first; the folders that exist. */
function mounts() {
  return [
    ['/models/', join(ROOT, 'models')],
    ['/taesd/', TAESD],
    ['/', DIST],
  ].filter(([, folder]) => existsSync(folder));
}

async function resolveFile(path) {
  if (path.startsWith('/samples/')) return SAMPLES[path.slice('/samples/'.length)] ?? null;
  for (const [prefix, folder] of mounts()) {
    if (!path.startsWith(prefix)) continue;
    const top = await realpath(folder);
    const file = await realpath(join(top, path.slice(prefix.length) || 'index.html')).catch(() => null);
    return file !== null && (file === top || file.startsWith(top + sep)) ? file : null;
  }
  return null;
}

/**
 * Starts the demo server.
 *
 * @param {{ port?: number, host?: string }} [options] - default port 5173 (0: a free one), host 127.0.0.1
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startDemoServer(options = {}) {
  const server = createServer(async (request, response) => {
    const send = (status, body) => response.writeHead(status, { ...ISOLATION, 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
    try {
      let path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = await resolveFile(path);
      const info = file === null ? null : await stat(file).catch(() => null);
      if (!info?.isFile()) return send(404, `not found: ${path}`);
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      if (request.headers['if-none-match'] === etag) return response.writeHead(304, { ...ISOLATION, ETag: etag }).end();
      response.writeHead(200, {
        ...ISOLATION,
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-cache',
        ETag: etag,
      });
      if (request.method === 'HEAD') return response.end();
      createReadStream(file).pipe(response);
    } catch (error) {
      send(500, String(error?.message ?? error));
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 5173, host, done);
  });
  const { port } = server.address();
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
  };
}

async function main() {
  const argv = process.argv.slice(2);
  const port = argv.includes('--port') ? Number(argv[argv.indexOf('--port') + 1]) : 5173;
  if (!argv.includes('--no-build')) {
    const started = Date.now();
    await buildDemo();
    console.log(`built examples/web-demo/dist in ${Date.now() - started} ms`);
  }
  const { url } = await startDemoServer({ port }).catch((error) => {
    if (error?.code === 'EADDRINUSE') throw new Error(`port ${port} is in use; stop what runs there or pass --port N (0 for a free port)`);
    throw error;
  });
  const missing = [
    existsSync(join(ROOT, 'models', 'kl-f8', 'vae.json')) ? null : 'models/kl-f8 (not exported yet: the demo offers the conv-moments test fixture instead)',
    existsSync(join(TAESD, 'taef2_encoder.onnx')) ? null : `TAEF2 (${TAESD})`,
    Object.values(SAMPLES).every(existsSync) ? null : `sample photos (${SKIMAGE}; apt-get install python3-skimage)`,
  ].filter(Boolean);
  for (const item of missing) console.log(`not available: ${item}`);
  console.log(`onnx-vae web demo: ${url}  (Ctrl+C to stop)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error?.message ?? error);
    process.exit(1);
  });
}
