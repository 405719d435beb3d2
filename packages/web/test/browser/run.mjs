#!/usr/bin/env node
// `pnpm test:browser`: bundles packages/web/test/browser/page.ts with esbuild, serves the repository (scripts/browser/server.mjs)
// and runs the page in headless Debian Chromium (playwright-core, no browser download) on wasm and on WebGPU
// (SwiftShader). Prints one line per test and exits 1 on any failure; `--json FILE` also writes the results.
// Exits 0 with a message, writing `{ "skipped": reason }`, where /usr/bin/chromium is missing.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { startServer } from '../../../../scripts/browser/server.mjs';
import { CHROMIUM, launchChromium } from '../../../../scripts/browser/chromium.cjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const OUT = join(ROOT, 'out', 'browser');
const DEVICES = ['wasm', 'webgpu'];
const PAGE_TIMEOUT_MS = 600_000;

const argv = process.argv.slice(2);
const jsonIndex = argv.indexOf('--json');
const jsonFile = jsonIndex >= 0 ? argv[jsonIndex + 1] : null;
const devices = argv.includes('--device') ? [argv[argv.indexOf('--device') + 1]] : DEVICES;

async function report(value) {
  if (jsonFile) await writeFile(jsonFile, JSON.stringify(value, null, 1));
}

async function bundle() {
  await mkdir(OUT, { recursive: true });
  await build({
    entryPoints: {
      page: join(ROOT, 'packages', 'web', 'test', 'browser', 'page.ts'),
      worker: join(ROOT, 'packages', 'web', 'test', 'browser', 'worker-entry.ts'),
    },
    outdir: OUT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
    // onnxruntime-web finds its .wasm through the page's wasmPaths, not import.meta.url.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  await writeFile(
    join(OUT, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>onnx-vae browser tests</title><link rel="icon" href="data:,"><script type="module" src="page.js"></script>\n',
  );
}

async function runDevice(browser, url, device) {
  const page = await browser.newPage();
  const errors = [];
  const warnings = new Set();
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    const mark = /^(PASS|FAIL|KNOWN) /.exec(text)?.[1];
    if (!mark && (message.type() === 'warning' || message.type() === 'error')) warnings.add(`${message.type()}: ${text.slice(0, 300)}`);
    if (mark) process.stdout.write(`  [${device}] ${{ PASS: '✓', FAIL: '✗', KNOWN: '○ known failure:' }[mark]} ${text.slice(mark.length + 1)}\n`);
  });
  const started = Date.now();
  await page.goto(`${url}/out/browser/index.html?device=${device}`);
  let results;
  try {
    await page.waitForFunction(() => window.__onnxVaeResults !== undefined, null, { timeout: PAGE_TIMEOUT_MS, polling: 250 });
    results = await page.evaluate(() => window.__onnxVaeResults);
  } catch (error) {
    const partial = await page.evaluate(() => window.__onnxVaeProgress ?? []).catch(() => []);
    results = [...partial, { name: `the ${device} page`, status: 'failed', ms: Date.now() - started, error: `${error.message}; ${errors.join('; ')}` }];
  }
  await page.close();
  return { device, seconds: (Date.now() - started) / 1000, results, warnings: [...warnings] };
}

async function main() {
  if (!existsSync(CHROMIUM)) {
    const reason = `${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium) to run the browser tests.`;
    console.log(`browser tests skipped: ${reason}`);
    await report({ skipped: reason });
    return 0;
  }
  await bundle();
  const server = await startServer(ROOT);
  const browser = await launchChromium();
  const runs = [];
  try {
    // One page per device, side by side: WebGPU on SwiftShader mostly waits on shader compilation.
    console.log(`browser tests on ${devices.join(' and ')} (Chromium ${browser.version()}):`);
    runs.push(...(await Promise.all(devices.map((device) => runDevice(browser, server.url, device)))));
  } finally {
    await browser.close();
    await server.close();
  }
  let failed = 0;
  for (const run of runs) {
    const count = (status) => run.results.filter((r) => r.status === status).length;
    const bad = run.results.filter((r) => r.status === 'failed');
    failed += bad.length;
    console.log(
      `${run.device}: ${count('passed')} passed, ${bad.length} failed, ${count('known-failure')} known failures, ${count('skipped')} skipped (${run.seconds.toFixed(1)} s)`,
    );
    for (const r of run.results.filter((r) => r.status === 'known-failure')) console.log(`  known failure: ${r.name} (${r.reason})`);
    for (const r of bad) console.log(`  FAILED ${r.name}: ${r.error}`);
    for (const w of run.warnings.slice(0, 10)) console.log(`  browser console ${w}`);
  }
  await report({ runs });
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
