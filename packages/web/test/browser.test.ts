// The browser tests (packages/web/test/browser/run.mjs: the contract suite, mnist-vae, fetch loading and the canvas
// codec in headless Debian Chromium, on wasm and on WebGPU/SwiftShader) as part of `pnpm test`. They skip, saying so, where
// /usr/bin/chromium is missing (CI: apt-get install -y chromium).
import { existsSync } from 'node:fs';
import { CHROMIUM, runJsonScript } from './run-script';

const available = existsSync(CHROMIUM);

interface Result {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped' | 'known-failure';
  readonly error?: string;
}
interface Run {
  readonly device: string;
  readonly results: readonly Result[];
}

if (!available) {
  console.warn(
    `Browser tests skipped: ${CHROMIUM} is missing. Install Debian's chromium (apt-get install -y chromium) to run @onnx-vae/web in a real browser on wasm and WebGPU.`,
  );
}

(available ? describe : describe.skip)('@onnx-vae/web in headless Chromium (packages/web/test/browser/run.mjs)', () => {
  let runs: Run[] = [];
  let output = '';
  beforeAll(async () => {
    const run = await runJsonScript('packages/web/test/browser/run.mjs', 1_300_000);
    runs = (run.report.runs as Run[] | undefined) ?? [];
    output = run.output;
  }, 1_310_000);

  it.each(['wasm', 'webgpu'])('%s: the contract suite, mnist-vae and the page checks pass', (device) => {
    const run = runs.find((r) => r.device === device);
    if (!run) throw new Error(`no results from the ${device} page; the runner said:\n${output}`);
    const failed = run.results.filter((r) => r.status === 'failed').map((r) => `${r.name}: ${r.error}`);
    expect(failed).toEqual([]);
    expect(run.results.filter((r) => r.status === 'passed').length).toBeGreaterThan(20);
  });
});
