#!/usr/bin/env node
// `pnpm size`: how much @onnx-vae/web adds to a browser bundle. Bundles the built packages (packages/*/dist) with
// esbuild, minified, onnxruntime-web external: the web package with core inside, the web package's own code, and
// core alone; reports raw and gzip bytes of each, and each package's minified share (esbuild's metafile). `--json`
// prints the numbers as JSON.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WEB = join(ROOT, 'packages', 'web', 'dist', 'index.js');
const CORE = join(ROOT, 'packages', 'core', 'dist', 'index.js');
// onnxruntime-web is the runtime (its JS ~0.1 MB minified, its .wasm ~14-27 MB), not this package's code; `#ort` is
// @onnx-vae/web's import of it (package.json "imports").
const ORT = ['#ort', 'onnxruntime-web', 'onnxruntime-web/*'];

function packageOf(path) {
  if (path.includes('packages/core/')) return '@onnx-vae/core';
  if (path.includes('packages/web/')) return '@onnx-vae/web';
  if (path.includes('packages/ort-common/')) return '@onnx-vae/ort-common';
  return /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(path)?.[1] ?? path;
}

/** Bundles `entry` minified with `external` left out; raw and gzip bytes, and minified bytes per package. */
async function measure(entry, external) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    outfile: 'bundle.min.js',
    external,
    logLevel: 'warning',
  });
  const code = result.outputFiles.find((file) => file.path.endsWith('.js')).contents;
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const packages = {};
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(path);
    packages[name] = (packages[name] ?? 0) + bytesInOutput;
  }
  return { raw: code.length, gzip: gzipSync(code, { level: 9 }).length, packages };
}

async function main() {
  for (const entry of [WEB, CORE]) {
    if (!existsSync(entry)) throw new Error(`${entry} is missing; run \`pnpm build\` first (\`pnpm size\` does).`);
  }
  const numbers = {
    // What an app adds besides onnxruntime-web: @onnx-vae/web with @onnx-vae/core and its dependencies inside.
    web: await measure(WEB, ORT),
    // @onnx-vae/web's own code (core external too).
    webOwn: await measure(WEB, [...ORT, '@onnx-vae/core']),
    // @onnx-vae/core with its dependencies (fflate, ndarray).
    core: await measure(CORE, []),
  };
  if (process.argv.includes('--json')) return console.log(JSON.stringify(numbers, null, 2));
  const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const line = (label, n) => console.log(`  ${label.padEnd(44)} ${kib(n.raw).padStart(10)} raw ${kib(n.gzip).padStart(10)} gzip`);
  console.log('esbuild, minified ESM for browsers, onnxruntime-web external:');
  line('@onnx-vae/web (with core and its dependencies)', numbers.web);
  line('@onnx-vae/web own code (core external)', numbers.webOwn);
  line('@onnx-vae/core (with fflate, ndarray)', numbers.core);
  console.log('  minified bytes by package in the first bundle:');
  for (const [name, bytes] of Object.entries(numbers.web.packages).sort((a, b) => b[1] - a[1]))
    console.log(`    ${name.padEnd(42)} ${kib(bytes).padStart(10)}`);
}

main().catch((error) => {
  console.error(error?.message ?? error);
  process.exit(1);
});
