#!/usr/bin/env node
// `pnpm bench:web`: what keeping latents on the GPU saves. In headless Debian Chromium on WebGPU, reconstruct with
// the latent left in a GPU buffer between encoder and decoder (keepLatentsOnGpu, the default) against the same
// graphs with the latent copied to the CPU and back, interleaved in one page; medians and ratios go to
// docs/benchmarks.md (section bench:web). TAEF2 is included when ../shared/models/taesd is present.
//
//   node bench/web.mjs [--rounds 10] [--sizes 32,64] [--no-write]   (SwiftShader: 64x64 TAEF2 takes ~9 s a call)
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { startServer } from '../scripts/browser/server.mjs';
import { median, writeDocBlock } from './stats.mjs';
import { CHROMIUM, launchChromium } from '../scripts/browser/chromium.cjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'out', 'bench-web');
const TAESD = join(ROOT, '..', 'shared', 'models', 'taesd');
const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '10' }, sizes: { type: 'string', default: '32' }, 'no-write': { type: 'boolean', default: false } },
});

if (!existsSync(CHROMIUM)) {
  console.log(`bench:web skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);
  process.exit(0);
}
await mkdir(OUT, { recursive: true });
await build({
  entryPoints: { page: join(ROOT, 'bench', 'web-page.ts') },
  outdir: OUT,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
});
await writeFile(
  join(OUT, 'index.html'),
  '<!doctype html><meta charset="utf-8"><title>onnx-vae bench:web</title><link rel="icon" href="data:,"><script type="module" src="page.js"></script>\n',
);

const server = await startServer(ROOT, existsSync(TAESD) ? { '/taesd/': TAESD } : {});
const browser = await launchChromium();
let results;
try {
  const page = await browser.newPage();
  page.on('console', (message) => message.text().startsWith('bench ') && console.log(`  ${message.text()}`));
  await page.goto(`${server.url}/out/bench-web/index.html?rounds=${Number(args.rounds)}&sizes=${args.sizes}`);
  await page.waitForFunction(() => window.__benchResults !== undefined, null, { timeout: 590_000, polling: 500 });
  results = await page.evaluate(() => window.__benchResults);
  results.chromium = browser.version();
} finally {
  await browser.close();
  await server.close();
}
if (results.error) {
  console.error(results.error);
  process.exit(1);
}

const ms = (v) => v.toFixed(v < 10 ? 2 : 1);
const rows = results.cases.map((c) => {
  const [gpu, cpu, decodeGpu, decodeCpu, readback] = [c.gpu, c.cpu, c.decodeGpu, c.decodeCpu, c.readback].map(median);
  const paired = median(c.gpu.map((g, i) => g / c.cpu[i]));
  return `| ${c.model} | ${c.size}x${c.size} | ${(c.latentBytes / 1024).toFixed(1)} KiB | ${(c.transferredBytes / 1024).toFixed(1)} KiB | ${ms(gpu)} | ${ms(cpu)} | ${(gpu / cpu).toFixed(3)} / ${paired.toFixed(3)} | ${ms(decodeGpu)} | ${ms(decodeCpu)} | ${ms(readback)} | ${c.maxAbsDiff} | ${c.gpu.length} |`;
});
const table = [
  '| model | image | latent (mean) | copies avoided per call | reconstruct, GPU latent (ms) | reconstruct via CPU (ms) | ratio (medians / paired) | decode from GPU buffer (ms) | decode from CPU (ms) | latent readback (ms) | max abs diff | rounds |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
].join('\n');
const machine = `Chromium ${results.chromium} headless, WebGPU adapter ${results.adapter || 'unknown'}, on ${cpus()[0]?.model ?? 'unknown CPU'} with ${cpus().length} logical cores`;
console.log(`\n${machine}\n\n${table}`);
if (!args['no-write']) {
  const section = `## Latents kept on the GPU between encoder and decoder (WebGPU)\n\nCommand: \`pnpm bench:web\` (\`node bench/web.mjs --rounds ${Number(args.rounds)} --sizes ${args.sizes}\`), ${new Date().toISOString().slice(0, 10)}.\nMachine: ${machine}.\n\n${table}\n\n\`reconstruct\` on WebGPU, batch 1, with the encoder's output left in a GPU buffer (\`keepLatentsOnGpu\`, the default: a moments output is split into its mean half on the GPU by a buffer copy) against the same graphs loaded with \`keepLatentsOnGpu: false\`, where the encoder's output comes down to the CPU (both halves of a moments output) and the mean goes back up; interleaved, alternating which goes first, after one warm-up call each. The next columns isolate the two copies the GPU path avoids: \`decode\` of the same latent from its GPU buffer and from CPU memory (the upload), and \`download()\` of the latent (the readback). All values are medians. "max abs diff" compares the two reconstructions. On SwiftShader the "GPU" is the CPU, so a copy is a memcpy plus a queue synchronisation and the saving is small next to the convolutions; on a real GPU each avoided readback also avoids a pipeline stall, which this machine cannot show.`;
  await writeDocBlock(
    join(ROOT, 'docs', 'benchmarks.md'),
    'bench:web',
    section,
    '# Benchmarks\n\nEvery figure here is written by the script named next to it; rerun it to refresh.',
  );
}
