// The bundler tests (packages/web/test/bundlers/run.mjs: the packed @onnx-vae/web in a scratch app, type-checked under a
// browser tsconfig, bundled with esbuild, vite and rspack, run in headless Debian Chromium on wasm and WebGPU against
// @onnx-vae/node's numbers; a bundle without its .wasm fails with BACKEND_UNAVAILABLE) as part of `pnpm test`.
// They skip, saying so, where /usr/bin/chromium is missing (CI: apt-get install -y chromium).
import { existsSync } from 'node:fs';
import { CHROMIUM, runJsonScript } from './run-script';

const available = existsSync(CHROMIUM);

interface Result {
  readonly name: string;
  readonly status: 'passed' | 'failed';
  readonly detail?: string;
}

if (!available) {
  console.warn(
    `Bundler tests skipped: ${CHROMIUM} is missing. Install Debian's chromium (apt-get install -y chromium) to run @onnx-vae/web bundled with esbuild, vite and rspack in a real browser.`,
  );
}

(available ? describe : describe.skip)('@onnx-vae/web bundled by esbuild, vite and rspack (packages/web/test/bundlers/run.mjs)', () => {
  let results: Result[] = [];
  let output = '';
  beforeAll(async () => {
    const run = await runJsonScript('packages/web/test/bundlers/run.mjs', 420_000);
    results = (run.report.results as Result[] | undefined) ?? [];
    output = run.output;
  }, 430_000);

  it.each([
    ['tsc', /^tsc: /],
    ['esbuild', /^esbuild[: ]/],
    ['vite', /^vite[: ]/],
    ['rspack', /^rspack[: ]/],
  ])('%s: every check passes', (_name, pattern) => {
    const mine = results.filter((r) => pattern.test(r.name));
    if (mine.length === 0) throw new Error(`no results; the runner said:\n${output}`);
    expect(mine.filter((r) => r.status === 'failed').map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
  });

  it('runs each bundle on wasm and on WebGPU, and checks the missing-.wasm error on both', () => {
    const names = results.map((r) => r.name);
    for (const bundler of ['esbuild', 'vite', 'rspack'])
      for (const device of ['wasm', 'webgpu']) expect(names.some((n) => n.startsWith(`${bundler} on ${device}: equals @onnx-vae/node`))).toBe(true);
    for (const device of ['wasm', 'webgpu'])
      expect(names.some((n) => n.startsWith(`esbuild bundle without ort-wasm-simd-threaded.asyncify.wasm on ${device}: BACKEND_UNAVAILABLE`))).toBe(true);
  });
});
