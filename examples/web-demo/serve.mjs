#!/usr/bin/env node
// `pnpm demo:web`: builds the web demo and serves it on http://127.0.0.1:5173 with the cross-origin isolation
// headers wasm threads need. Routes: / the built demo (dist/), /models/ the repository's models, /taesd/ TAEF2 from
// ../shared/models/taesd where present, /samples/ two of Debian's scikit-image photos where present (none is copied
// into the repository). `--port N` (0: a free port), `--no-build` serves the last build.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST, ROOT, buildDemo } from './build.mjs';
import { startServer } from '../../scripts/browser/server.mjs';

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
/** Sample photos the demo offers, served from scikit-image's data folder under /samples/. */
export const SAMPLES = Object.freeze({ 'astronaut.png': join(SKIMAGE, 'astronaut.png'), 'coffee.png': join(SKIMAGE, 'coffee.png') });
export const TAESD = resolve(ROOT, '..', 'shared', 'models', 'taesd');

/**
 * Starts the demo server: the repository's static server (scripts/browser/server.mjs: isolation headers, ETags) over
 * dist/, with /models/, /taesd/ and /samples/ mounted where those folders exist.
 *
 * @param {{ port?: number, host?: string }} [options] - default port 5173 (0: a free one), host 127.0.0.1
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startDemoServer(options = {}) {
  const mounts = Object.fromEntries(
    [
      ['/models/', join(ROOT, 'models')],
      ['/taesd/', TAESD],
      ['/samples/', SKIMAGE],
    ].filter(([, folder]) => existsSync(folder)),
  );
  const { url, close } = await startServer(DIST, mounts, { port: options.port ?? 5173, ...(options.host ? { host: options.host } : {}) });
  return { url: `${url}/`, close };
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
