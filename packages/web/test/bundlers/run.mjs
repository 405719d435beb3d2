#!/usr/bin/env node
// `pnpm test:bundlers`: does @onnx-vae/web work in a user's bundled app? Packs @onnx-vae/web and the workspace
// packages it depends on (core, ort-common) as npm would publish them, installs the tarballs into a scratch project (pnpm, --prefer-offline, no install scripts),
// type-checks the tiny app in app/ under a browser tsconfig (lib DOM, no @types/node), bundles it
// with esbuild, vite and rspack following the recipes of packages/web/README.md, and runs each bundle in headless
// Debian Chromium (playwright-core, no browser download) on wasm and on WebGPU (SwiftShader), comparing the numbers
// with @onnx-vae/node's (onnxruntime-node, CPU) on the same digits. Then the esbuild bundle without its .wasm, and
// with wasmPaths on a server that does not answer, must fail with BACKEND_UNAVAILABLE naming the file and the URL.
// Prints one line per check and exits 1 on any failure; `--json FILE` writes the results; `--keep` keeps the scratch
// folder. Exits 0 with a message (writing `{ "skipped": reason }`) where /usr/bin/chromium is missing.
// Needs `pnpm build` first (the tarballs hold dist/).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../../../scripts/browser/server.mjs';
import { CHROMIUM, launchChromium } from '../../../../scripts/browser/chromium.cjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..', '..');
const PNPM = ['-y', 'pnpm@10.34.9'];
const DEVICES = ['wasm', 'webgpu'];
const ITEMS = 4; // mnist-vae digits ([4, 784]): small enough for SwiftShader
// Browser against Node on the same graphs and digits: float32 kernels differ in summation order (wasm SIMD, WebGPU
// shaders, onnxruntime-node's MLAS), so outputs agree to a few float32 ulps of the largest terms, not bit for bit.
const TOLERANCE = Object.freeze({ atol: 1e-4, rtol: 1e-4 });
// What onnxruntime-web's WebGPU build (imported by @onnx-vae/web in browsers) fetches: the .wasm, and with wasmPaths
// naming a folder also the .mjs loader (see packages/web/src/wasm-files.ts).
const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm';
const ORT_LOADER = 'ort-wasm-simd-threaded.asyncify.mjs';
const PAGE_TIMEOUT_MS = 60_000;

const argv = process.argv.slice(2);
const jsonFile = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : null;
const results = [];
const record = (name, ok, detail = '') => {
  results.push({ name, status: ok ? 'passed' : 'failed', ...(detail ? { detail } : {}) });
  console.log(`  ${ok ? '✓' : '✗'} ${name}${detail ? `: ${detail}` : ''}`);
};
const run = (command, args, options = {}) => execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
const seconds = (started) => `${((Date.now() - started) / 1000).toFixed(1)} s`;

/** @onnx-vae/web and the workspace packages it depends on (core, ort-common), as folder names under packages/. */
async function webAndItsWorkspaceDependencies(name = 'web', found = new Set()) {
  found.add(name);
  const json = JSON.parse(await readFile(join(ROOT, 'packages', name, 'package.json'), 'utf8'));
  for (const [dependency, range] of Object.entries(json.dependencies ?? {})) {
    const folder = dependency.replace(/^@onnx-vae\//, '');
    if (String(range).startsWith('workspace:') && !found.has(folder)) await webAndItsWorkspaceDependencies(folder, found);
  }
  return [...found];
}

/** Packs web and its workspace dependencies and installs the tarballs (and TypeScript) into a scratch project with the app. */
async function scratchProject(work) {
  const tarballs = {};
  for (const name of await webAndItsWorkspaceDependencies()) {
    const out = join(work, 'tarballs', name);
    await mkdir(out, { recursive: true });
    run('npx', [...PNPM, 'pack', '--pack-destination', out], { cwd: join(ROOT, 'packages', name) });
    tarballs[`@onnx-vae/${name}`] = `file:${join(
      out,
      (await readdir(out)).find((f) => f.endsWith('.tgz')),
    )}`;
  }
  const app = join(work, 'app');
  await cp(join(HERE, 'app'), app, { recursive: true });
  const typescript = JSON.parse(await readFile(join(ROOT, 'node_modules', 'typescript', 'package.json'), 'utf8')).version;
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'bundler-app',
        private: true,
        type: 'module',
        dependencies: { '@onnx-vae/web': tarballs['@onnx-vae/web'] },
        devDependencies: { typescript },
        pnpm: { overrides: tarballs },
      },
      null,
      2,
    ),
  );
  run('npx', [...PNPM, 'install', '--prefer-offline', '--ignore-scripts'], { cwd: app, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  return app;
}

/** The browser tsconfig of the README: lib DOM + ESNext.Disposable, no @types/node, strict, no skipLibCheck. */
async function typeCheck(app) {
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    types: [],
    isolatedModules: true,
  };
  await writeFile(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { ...options, lib: ['ES2022', 'DOM', 'DOM.Iterable', 'ESNext.Disposable'] }, files: ['main.ts'] }, null, 2),
  );
  await writeFile(
    join(app, 'tsconfig.no-disposable.json'),
    JSON.stringify({ compilerOptions: { ...options, lib: ['ES2022', 'DOM', 'DOM.Iterable'] }, files: ['main.ts'] }, null, 2),
  );
  const tsc = (project) => {
    try {
      run('npx', [...PNPM, 'exec', 'tsc', '-p', project], { cwd: app });
      return '';
    } catch (error) {
      return `${error.stdout}${error.stderr}`.trim();
    }
  };
  const clean = tsc('tsconfig.json');
  record(
    'tsc: the app and the published .d.ts under a browser tsconfig (lib DOM + ESNext.Disposable, no @types/node, skipLibCheck false)',
    clean === '',
    clean.slice(0, 2000),
  );
  const without = tsc('tsconfig.no-disposable.json');
  record(
    'tsc: without lib ESNext.Disposable the published .d.ts fail on Symbol.asyncDispose (what the README documents)',
    /asyncDispose/.test(without),
    without.split('\n').find((line) => /asyncDispose/.test(line)) ?? without.slice(0, 500),
  );
}

const html = (script, type = 'module') =>
  `<!doctype html><meta charset="utf-8"><title>onnx-vae bundler test</title><link rel="icon" href="data:,"><script ${type === 'module' ? 'type="module" ' : ''}src="${script}"></script>\n`;
// onnxruntime-web is @onnx-vae/web's dependency, not the app's (pnpm does not hoist it): resolve its files from there,
// through the file subpaths onnxruntime-web exports.
const ortFile = (app, file) => createRequire(createRequire(join(app, 'package.json')).resolve('@onnx-vae/web')).resolve(`onnxruntime-web/${file}`);

/** The recipes of packages/web/README.md, one per bundler: each returns the folder to serve. */
const BUNDLERS = {
  // esbuild copies nothing: put the .wasm next to the bundle (onnxruntime-web's own loader is in the bundle).
  async esbuild(app, out) {
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(app, 'main.ts')],
      outdir: out,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      logLevel: 'error',
      absWorkingDir: app,
    });
    await copyFile(ortFile(app, ORT_WASM), join(out, ORT_WASM));
    await writeFile(join(out, 'index.html'), html('main.js'));
  },
  // vite emits the .wasm itself (onnxruntime-web names it with new URL(..., import.meta.url)): no configuration.
  async vite(app, out) {
    const { build } = await import('vite');
    await writeFile(join(app, 'index.html'), html('./main.ts'));
    // base './': the test serves each bundle under its own path (/vite/); at a site's root the default '/' does as well.
    await build({ root: app, base: './', configFile: false, logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  },
  // rspack (webpack's API) emits the .wasm as an asset too; TypeScript through its built-in swc loader.
  async rspack(app, out) {
    const { rspack } = await import('@rspack/core');
    const compiler = rspack({
      mode: 'production',
      context: app,
      entry: './main.ts',
      output: { path: out, filename: 'main.js', clean: true },
      resolve: { extensions: ['.ts', '.js'] },
      module: { rules: [{ test: /\.ts$/, loader: 'builtin:swc-loader', options: { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } } }] },
      performance: { hints: false },
    });
    const stats = await new Promise((done, fail) => compiler.run((error, result) => (error ? fail(error) : compiler.close(() => done(result)))));
    if (stats.hasErrors()) throw new Error(stats.toString({ all: false, errors: true }));
    await writeFile(join(out, 'index.html'), html('main.js', 'classic'));
  },
};

/** onnxruntime-web files in a bundle's output, with sizes. */
async function ortFiles(out) {
  const found = [];
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/ort-wasm|\.wasm$/.test(entry.name)) found.push(`${relative(out, path)} (${((await stat(path)).size / 1e6).toFixed(1)} MB)`);
    }
  };
  await walk(out);
  return found;
}

async function openPage(browser, url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(`console: ${message.text().slice(0, 300)}`));
  page.on('response', (response) => response.status() >= 400 && errors.push(`${response.status()} ${response.url()}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: PAGE_TIMEOUT_MS, polling: 100 });
    return await page.evaluate(() => window.__result);
  } catch (error) {
    return { ok: false, code: null, message: `${error.message.split('\n')[0]}; page errors: ${errors.join('; ')}` };
  } finally {
    await page.close();
  }
}

function maxDifference(name, actual, expected) {
  if (!actual || actual.length !== expected.length) return { ok: false, text: `${name}: ${actual?.length ?? 'no'} values, expected ${expected.length}` };
  let worst = 0;
  let ok = true;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    worst = Math.max(worst, diff);
    if (!(diff <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(expected[i]))) ok = false;
  }
  return { ok, text: `${name} max |diff| ${worst.toExponential(1)}` };
}

/** @onnx-vae/node on the same digits: the reference numbers. */
async function nodeReference(input) {
  const { loadVae } = await import(join(ROOT, 'packages', 'node', 'dist', 'index.js'));
  const vae = await loadVae(join(ROOT, 'models', 'mnist-vae'));
  try {
    const x = { data: Float32Array.from(input.data), dims: input.dims };
    const q = await vae.encode(x);
    const decoded = await vae.decode(q.mean);
    const score = await vae.score(x, { samples: 4, seed: 0 });
    return { mean: Array.from(q.mean.data), decoded: Array.from(decoded.data), elbo: Array.from(score.elbo), logLikelihood: Array.from(score.logLikelihood) };
  } finally {
    await vae.dispose();
  }
}

async function main() {
  if (!existsSync(CHROMIUM)) {
    const reason = `${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium) to run the bundler tests.`;
    console.log(`bundler tests skipped: ${reason}`);
    if (jsonFile) await writeFile(jsonFile, JSON.stringify({ skipped: reason }));
    return 0;
  }
  for (const name of [...(await webAndItsWorkspaceDependencies()), 'node']) {
    if (!existsSync(join(ROOT, 'packages', name, 'dist', 'index.js'))) throw new Error(`packages/${name}/dist is missing: run pnpm build first.`);
  }
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'onnx-vae-bundlers-'));
  const golden = JSON.parse(await readFile(join(ROOT, 'models', 'mnist-vae', 'golden.json'), 'utf8'));
  const input = { data: golden.x.flat(Infinity).slice(0, ITEMS * golden.dims.x[1]), dims: [ITEMS, golden.dims.x[1]] };
  const reference = await nodeReference(input);
  let server;
  let browser;
  try {
    console.log(`packing ${(await webAndItsWorkspaceDependencies()).map((name) => `@onnx-vae/${name}`).join(', ')}, installing them into a scratch project`);
    const app = await scratchProject(work);
    console.log(`  installed (${seconds(started)})`);
    await typeCheck(app);
    const sites = join(work, 'sites');
    const bundles = {};
    for (const [bundler, make] of Object.entries(BUNDLERS)) {
      const t = Date.now();
      const out = join(sites, bundler);
      await mkdir(out, { recursive: true });
      try {
        await make(app, out);
        await writeFile(join(out, 'input.json'), JSON.stringify(input));
        bundles[bundler] = out;
        record(`${bundler}: bundles the app (${seconds(t)}); onnxruntime-web files in the output: ${(await ortFiles(out)).join(', ') || 'none'}`, true);
      } catch (error) {
        record(`${bundler}: bundles the app`, false, String(error?.stack ?? error).slice(0, 2000));
      }
    }
    // The esbuild bundle without its .wasm (the README's first-run failure), and with wasmPaths pointing nowhere.
    const missing = join(sites, 'missing-wasm');
    if (bundles.esbuild) {
      await mkdir(missing, { recursive: true });
      for (const file of ['index.html', 'main.js', 'input.json']) await copyFile(join(bundles.esbuild, file), join(missing, file));
    }
    // The esbuild bundle with wasmPaths naming a folder: both files are needed there.
    const folder = join(sites, 'wasm-paths');
    if (bundles.esbuild) {
      await mkdir(join(folder, 'ort'), { recursive: true });
      for (const file of ['index.html', 'main.js', 'input.json']) await copyFile(join(bundles.esbuild, file), join(folder, file));
      for (const file of [ORT_WASM, ORT_LOADER]) await copyFile(ortFile(app, file), join(folder, 'ort', file));
    }
    server = await startServer(sites, { '/models/': join(ROOT, 'models') });
    browser = await launchChromium();
    console.log(`Chromium ${browser.version()}, served at ${server.url}`);
    const ortRequests = (requests) =>
      [...new Set(requests)].filter((r) => /\.wasm$|ort-wasm/.test(r)).map((r) => r.replace(/^(\d+) \/(?:[^ ]*\/)?([^/]+)$/, '$2 ($1)'));
    for (const bundler of Object.keys(bundles)) {
      // Both devices side by side (WebGPU on SwiftShader mostly waits on shader compilation); requests by path.
      const t = Date.now();
      const pages = await Promise.all(DEVICES.map((device) => openPage(browser, `${server.url}/${bundler}/index.html?device=${device}`)));
      const fetchedFiles = ortRequests(server.requests.filter((r) => r.includes(`/${bundler}/`)));
      for (const [i, device] of DEVICES.entries()) {
        const result = pages[i];
        if (!result.ok) {
          record(`${bundler} on ${device}`, false, `${result.code}: ${result.message}`);
          continue;
        }
        const checks = ['mean', 'decoded', 'elbo', 'logLikelihood'].map((name) => maxDifference(name, result[name], reference[name]));
        const info = result.backendInfo;
        const ok = checks.every((c) => c.ok) && info.device === device && info.requestedDevice === device;
        record(
          `${bundler} on ${device}: equals @onnx-vae/node within atol ${TOLERANCE.atol} + rtol ${TOLERANCE.rtol} (both devices ${seconds(t)}; the pages fetched ${fetchedFiles.join(', ') || 'no onnxruntime file'})`,
          ok,
          `${checks.map((c) => c.text).join(', ')}; backendInfo ${JSON.stringify(info)}`,
        );
      }
    }
    if (bundles.esbuild) {
      const auto = await openPage(browser, `${server.url}/esbuild/index.html?device=auto`);
      record(
        'esbuild on auto: SwiftShader is a fallback adapter, so auto runs on wasm and says why',
        auto.ok && auto.backendInfo.device === 'wasm' && /fallback \(software\) adapter/.test(auto.backendInfo.reason),
        JSON.stringify(auto.backendInfo ?? auto.message),
      );
      for (const device of DEVICES) {
        const from = server.requests.length;
        const result = await openPage(browser, `${server.url}/wasm-paths/index.html?device=${device}&wasmPaths=/wasm-paths/ort/`);
        record(
          `esbuild with wasmPaths "/wasm-paths/ort/" (${ORT_WASM} and ${ORT_LOADER} there) on ${device}: runs (fetched ${ortRequests(server.requests.slice(from)).join(', ')})`,
          result.ok === true,
          result.ok ? '' : `${result.code}: ${result.message}`,
        );
      }
      for (const device of DEVICES) {
        const result = await openPage(browser, `${server.url}/missing-wasm/index.html?device=${device}`);
        const expected = `${ORT_WASM} from ${server.url}/missing-wasm/${ORT_WASM} answered 404 Not Found`;
        record(
          `esbuild bundle without ${ORT_WASM} on ${device}: BACKEND_UNAVAILABLE naming the file, the URL and the fix`,
          result.code === 'BACKEND_UNAVAILABLE' && result.message.includes(expected) && result.message.includes('wasmPaths'),
          `${result.code}: ${result.message}`,
        );
      }
      // With wasmPaths naming a folder the .mjs loader is fetched first, so it is the file reported.
      const unreachable = await openPage(browser, `${server.url}/missing-wasm/index.html?device=wasm&wasmPaths=http://127.0.0.1:9/ort/`);
      record(
        'esbuild bundle with wasmPaths on a server that does not answer: BACKEND_UNAVAILABLE saying it could not be reached',
        unreachable.code === 'BACKEND_UNAVAILABLE' &&
          unreachable.message.includes(`${ORT_LOADER} from http://127.0.0.1:9/ort/${ORT_LOADER} could not be reached`),
        `${unreachable.code}: ${unreachable.message}`,
      );
    }
  } finally {
    await browser?.close();
    await server?.close();
    if (argv.includes('--keep')) console.log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.status === 'failed').length;
  console.log(`bundler tests: ${results.length - failed} passed, ${failed} failed (${seconds(started)})`);
  if (jsonFile) await writeFile(jsonFile, JSON.stringify({ results }, null, 1));
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (error) => {
    console.error(error);
    if (jsonFile) await writeFile(jsonFile, JSON.stringify({ results, error: String(error?.stack ?? error) }, null, 1));
    process.exit(1);
  },
);
