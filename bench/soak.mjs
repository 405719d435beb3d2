#!/usr/bin/env node
/**
 * Soak test (not part of CI): mixed calls on loaded models and load/dispose cycles, reporting RSS, heap, external
 * memory and handle counts over time, so leaks show as growth. Typed errors from deliberately bad calls are part of
 * the mix; anything else stops the run.
 *
 *   pnpm soak                       # 100,000 calls
 *   pnpm soak --calls 5000 --every 1000 --cycle 500
 *
 * --calls N: calls in all (default 100000); --every N: print a line every N calls (default calls / 20);
 * --cycle N: load and dispose a model every N calls (default 1000).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VaeError, VaeTensor, loadVae } from '../packages/node/dist/index.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const { values } = parseArgs({ options: { calls: { type: 'string' }, every: { type: 'string' }, cycle: { type: 'string' } } });
const calls = Number(values.calls ?? 100000);
const every = Number(values.every ?? Math.max(1, Math.floor(calls / 20)));
const cycle = Number(values.cycle ?? 1000);
if (![calls, every, cycle].every((n) => Number.isSafeInteger(n) && n > 0)) {
  console.error('soak: --calls, --every and --cycle take positive integers');
  process.exit(2);
}

const options = { intraOpNumThreads: 1 };
const mnist = await loadVae(join(ROOT, 'models/mnist-vae'), options);
const klf8 = await loadVae(join(ROOT, 'models/kl-f8'), options);
const x = new VaeTensor(
  Float32Array.from({ length: 4 * 784 }, (_, i) => (i % 7) / 7),
  [4, 784],
);
const image = new VaeTensor(
  Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i) * 0.5),
  [1, 3, 32, 32],
);
const latent = new VaeTensor(new Float32Array(4 * 512 * 512), [1, 4, 512, 512]);

/** One call of the mix, chosen by the call's number; bad calls must fail with a typed error. */
const mix = [
  async () => (await mnist.encode(x)).kl(),
  async (i) => mnist.decode(mnist.sample({ n: 4, seed: i })),
  async (i) => mnist.reconstruct(x, { sample: true, seed: i }),
  async (i) => mnist.score(x, { samples: 4, seed: i }),
  async (i) => mnist.generate({ n: 2, seed: i }),
  async () => klf8.reconstruct(image),
  async () => klf8.encode(image, { tiling: { tileSize: 16, overlap: 8 } }),
  async () => mnist.sample({ n: 1e9 }),
  async () => klf8.decode(latent, { limits: { maxUntiledPixels: 65536 } }),
  async () => mnist.score(x, { samples: 2 ** 31 }),
];
const failures = { typed: 0 };
function expectTyped(error) {
  if (!VaeError.isInstance(error)) throw error;
  failures.typed++;
}

function handles() {
  const resources = process.getActiveResourcesInfo?.() ?? [];
  return resources.length;
}

function line(done, started) {
  const m = process.memoryUsage();
  const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
  const seconds = (Date.now() - started) / 1000;
  return `${String(done).padStart(7)} calls  ${seconds.toFixed(0).padStart(5)} s  rss ${mb(m.rss).padStart(7)} MB  heap ${mb(m.heapUsed).padStart(6)} MB  external ${mb(m.external).padStart(6)} MB  arrayBuffers ${mb(m.arrayBuffers).padStart(6)} MB  handles ${handles()}  typed errors ${failures.typed}  cycles ${cycles}`;
}

let cycles = 0;
const started = Date.now();
console.log(`soak: ${calls} calls, a load/dispose cycle every ${cycle}, a line every ${every}`);
console.log(line(0, started));
const rss = [];
for (let i = 1; i <= calls; i++) {
  try {
    await mix[i % mix.length](i);
  } catch (error) {
    expectTyped(error);
  }
  if (i % cycle === 0) {
    const vae = await loadVae(join(ROOT, 'models/fixtures/mlp-probs'), options);
    await vae.encode(new VaeTensor(new Float32Array(6).fill(0.5), [1, 6]));
    await vae.dispose();
    cycles++;
  }
  if (i % every === 0) {
    globalThis.gc?.();
    rss.push(process.memoryUsage().rss);
    console.log(line(i, started));
  }
}
await Promise.all([mnist.dispose(), klf8.dispose()]);
const half = rss.slice(Math.floor(rss.length / 2));
const growth = half.length > 1 ? (half.at(-1) - half[0]) / 2 ** 20 : 0;
console.log(`soak: done; RSS change over the second half ${growth.toFixed(1)} MB; handles at the end ${handles()}`);
