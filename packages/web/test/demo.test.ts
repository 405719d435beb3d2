// Smoke test of the web demo (examples/web-demo, `pnpm demo:web`): builds and serves it, opens it in headless Debian
// Chromium on wasm, and checks what the page shows after its first reconstruction of the sample photo (a generated
// test image where Debian's python3-skimage photos are absent) and its MNIST explorer. Saves a screenshot to
// out/web-demo.png. Skips, saying so, where /usr/bin/chromium is missing (CI: apt-get install -y chromium).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { testFixtures } from '@onnx-vae/core/testing';
// The one launcher of Debian's chromium (CommonJS, shared with the .mjs runners).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CHROMIUM, launchChromium } = require('../../../scripts/browser/chromium.cjs') as { CHROMIUM: string; launchChromium: () => Promise<Browser> };

const fixtures = testFixtures(__dirname);
const ROOT = fixtures.root;
const SCREENSHOT = join(ROOT, 'out', 'web-demo.png');
const available = existsSync(CHROMIUM);

if (!available) {
  console.warn(
    `Web demo smoke test skipped: ${CHROMIUM} is missing. Install Debian's chromium (apt-get install -y chromium) to run examples/web-demo in a real browser.`,
  );
}

/** Starts `node examples/web-demo/serve.mjs --port 0` and resolves with the URL it prints. */
function serveDemo(): Promise<{ server: ChildProcess; url: string }> {
  const server = spawn(process.execPath, [join(ROOT, 'examples', 'web-demo', 'serve.mjs'), '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo server printed no URL in 30 s:\n${output}`)), 30_000);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /onnx-vae web demo: (http:\/\/\S+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ server, url });
      }
    };
    server.stdout!.on('data', read);
    server.stderr!.on('data', read);
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo server exited with ${code}:\n${output}`));
    });
  });
}

interface Shown {
  readonly model: string;
  /** The model options that are disabled (not served). */
  readonly unavailable: string[];
  readonly originalSize: string;
  readonly imageStatus: string;
  readonly mnistStatus: string;
  readonly deviceInfo: string;
  readonly psnr: number;
  readonly encodeMs: number;
  readonly decodeMs: number;
  readonly latentCanvases: number;
  readonly gridCanvases: number;
  readonly pathCanvases: number;
  readonly generatedCanvases: number;
  readonly isolated: boolean;
  /** The mean brightness of the reconstruction canvas, and of one decoded grid digit: blank canvases read 0. */
  readonly reconstructionMean: number;
  readonly generatedMean: number;
}

(available ? describe : describe.skip)('web demo (examples/web-demo) in headless Chromium', () => {
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  let page: Page;
  let shown: Shown;
  let smaller: Shown;
  const errors: string[] = [];
  /** The models the page should list as unavailable, from the files there when it loads. */
  let unavailable: string[] = [];

  beforeAll(async () => {
    unavailable = [
      ...(existsSync(fixtures.model('kl-f8', 'vae.json')) ? [] : ['kl-f8']),
      ...(existsSync(join(fixtures.sharedModels, 'taesd', 'taef2_encoder.onnx')) ? [] : ['taef2']),
    ];
    const served = await serveDemo();
    server = served.server;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${served.url}?device=wasm`);
    await settled(page);
    shown = await read(page);
    mkdirSync(join(ROOT, 'out'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    // The size control reruns the reconstruction (the page marks itself busy at once), on the now warm model.
    await page.selectOption('#size', '128');
    await settled(page);
    smaller = await read(page);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((done) => server!.once('exit', done));
      server.kill();
      await exited;
    }
  });

  it('reconstructs the sample image on wasm in a worker and shows PSNR and timings', () => {
    expect({ status: shown.imageStatus, errors }).toEqual({ status: expect.stringMatching(/^Reconstructed \S+ with \S+ on wasm\./), errors: [] });
    expect(shown.isolated).toBe(true);
    expect(shown.originalSize).toMatch(/, 256×\d+$/);
    expect(shown.deviceInfo).toMatch(/^onnxruntime-web 1\.30\.0 \(wasm\): requested; wasm with \d+ thread\(s\)$/);
    expect(Number.isFinite(shown.psnr)).toBe(true);
    // The untrained conv-moments fixture stands in while models/kl-f8 is not exported; it reconstructs badly.
    const [low, high] = shown.model === 'conv-moments' ? [3, 25] : [15, 50];
    expect(shown.psnr).toBeGreaterThan(low);
    expect(shown.psnr).toBeLessThan(high);
    expect(shown.encodeMs).toBeGreaterThan(0);
    expect(shown.decodeMs).toBeGreaterThan(0);
    expect(shown.latentCanvases).toBe({ 'kl-f8': 4, taef2: 32, 'conv-moments': 4 }[shown.model]);
    expect(shown.reconstructionMean).toBeGreaterThan(5);
    console.log(
      `web demo: ${shown.model} on wasm, ${shown.originalSize}: PSNR ${shown.psnr} dB, encode ${shown.encodeMs} ms, decode ${shown.decodeMs} ms (first run); at 128 px: PSNR ${smaller.psnr} dB, encode ${smaller.encodeMs} ms, decode ${smaller.decodeMs} ms; screenshot ${SCREENSHOT}`,
    );
  });

  it('offers kl-f8 exactly when models/kl-f8 is there, and TAEF2 exactly when ../shared/models/taesd is', () => {
    expect(shown.unavailable).toEqual(unavailable);
    expect(shown.model).toBe(['kl-f8', 'taef2', 'conv-moments'].find((id) => !unavailable.includes(id)));
  });

  it('reruns on the warm model when the size changes', () => {
    expect({ status: smaller.imageStatus, errors }).toEqual({ status: expect.stringMatching(/^Reconstructed \S+ with \S+ on wasm\./), errors: [] });
    expect(smaller.originalSize).toMatch(/, 128×\d+$/);
    expect(Number.isFinite(smaller.psnr) && smaller.encodeMs > 0 && smaller.decodeMs > 0).toBe(true);
  });

  it('draws the MNIST latent grid, the interpolation path and 16 generated digits', () => {
    expect(shown.mnistStatus).toMatch(/^mnist-vae on wasm \(requested; wasm with \d+ thread\(s\)\); \d+ of 50 latents active on these 16 digits\.$/);
    expect(shown.gridCanvases).toBe(81);
    expect(shown.pathCanvases).toBe(21);
    expect(shown.generatedCanvases).toBe(16);
    expect(shown.generatedMean).toBeGreaterThan(1);
  });
});

function settled(page: Page): Promise<unknown> {
  return page.waitForFunction(
    () => ['done', 'error'].includes(document.body.dataset.image ?? '') && ['done', 'error'].includes(document.body.dataset.mnist ?? ''),
    null,
    { timeout: 60_000, polling: 200 },
  );
}

function read(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const text = (id: string): string => document.getElementById(id)?.textContent ?? '';
    const count = (selector: string): number => document.querySelectorAll(selector).length;
    const meanOf = (canvas: HTMLCanvasElement | null): number => {
      if (!canvas) return 0;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 4) sum += data[i]! + data[i + 1]! + data[i + 2]!;
      return sum / ((data.length / 4) * 3);
    };
    return {
      model: (document.getElementById('model') as HTMLSelectElement).value,
      unavailable: Array.from((document.getElementById('model') as HTMLSelectElement).options)
        .filter((o) => o.disabled)
        .map((o) => o.value),
      originalSize: text('original-size'),
      imageStatus: text('image-status'),
      mnistStatus: text('mnist-status'),
      deviceInfo: text('device-info'),
      psnr: Number(text('psnr')),
      encodeMs: Number(text('encode-ms')),
      decodeMs: Number(text('decode-ms')),
      latentCanvases: count('#latents canvas'),
      gridCanvases: count('#mnist-grid canvas'),
      pathCanvases: count('#path-strip canvas'),
      generatedCanvases: count('#generated canvas'),
      isolated: crossOriginIsolated,
      reconstructionMean: meanOf(document.getElementById('reconstruction') as HTMLCanvasElement),
      generatedMean: meanOf(document.querySelector('#generated canvas')),
    };
  });
}
