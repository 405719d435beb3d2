// Builds the web demo into examples/web-demo/dist with esbuild: the page and its module worker (both importing
// `@onnx-vae/web` from the workspace sources), the HTML and CSS, onnxruntime-web's wasm files (under dist/ort/, passed
// as `wasmPaths`), and the 16 MNIST test digits of models/mnist-vae/golden.json (dist/digits.json).
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const DEMO = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(DEMO, '..', '..');
export const DIST = join(DEMO, 'dist');
const ORT_DIST = join(ROOT, 'packages', 'web', 'node_modules', 'onnxruntime-web', 'dist');
// What onnxruntime-web's WebGPU build (the one @onnx-vae/web imports in browsers) loads for both WebGPU and wasm.
const ORT_FILES = Object.freeze(['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm']);

async function writeDigits() {
  const golden = JSON.parse(await readFile(join(ROOT, 'models', 'mnist-vae', 'golden.json'), 'utf8'));
  const dims = golden.dims.x;
  const data = golden.x.flat(Infinity);
  if (dims.length !== 2 || dims[1] !== 784 || data.length !== dims[0] * dims[1])
    throw new Error(`models/mnist-vae/golden.json: expected "x" of dims [N, 784] but found ${JSON.stringify(dims)} with ${data.length} values`);
  await writeFile(join(DIST, 'digits.json'), JSON.stringify({ source: golden.xSource, dims, data }));
}

/**
 * Builds the demo.
 *
 * @param {{ minify?: boolean }} [options] - `minify` (default true)
 * @returns {Promise<string>} the output folder
 */
export async function buildDemo(options = {}) {
  await rm(DIST, { recursive: true, force: true });
  await mkdir(join(DIST, 'ort'), { recursive: true });
  await build({
    entryPoints: { main: join(DEMO, 'src', 'main.ts'), 'vae-worker': join(DEMO, 'src', 'vae-worker.ts') },
    outdir: DIST,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: true,
    logLevel: 'warning',
    // The workspace sources, so the demo needs no `pnpm build` first.
    alias: {
      '@onnx-vae/web': join(ROOT, 'packages', 'web', 'src', 'index.ts'),
      '@onnx-vae/core': join(ROOT, 'packages', 'core', 'src', 'index.ts'),
    },
    // onnxruntime-web finds its .wasm through wasmPaths (dist/ort/), not import.meta.url.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  await Promise.all([
    copyFile(join(DEMO, 'index.html'), join(DIST, 'index.html')),
    copyFile(join(DEMO, 'style.css'), join(DIST, 'style.css')),
    ...ORT_FILES.map((file) => copyFile(join(ORT_DIST, file), join(DIST, 'ort', file))),
    writeDigits(),
  ]);
  return DIST;
}
