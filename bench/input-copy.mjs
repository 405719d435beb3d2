#!/usr/bin/env node
// The cost of copying a caller's input at call time (core's ownValues in model/inputs.ts: encode/decode/score/...
// copy a Float32Array that is still the caller's, so a caller that reuses its buffer cannot change the result):
// the copy alone (Float32Array.prototype.slice) next to the whole call on onnxruntime-node, for a batch of 256 MNIST
// items (models/mnist-vae encode) and one 512x512 RGB image (models/kl-f8 encode).
//
//   npx tsc -b && node bench/input-copy.mjs [--repeats 50]
import { parseArgs } from 'node:util';
import { loadVae } from '../packages/node/dist/index.js';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '50' } } });
const repeats = Number(values.repeats);

/** Median milliseconds of `repeats` runs of `task` (after two warm-up runs). */
async function median(task, count = repeats) {
  await task();
  await task();
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await task();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const cases = [
  { name: '256 MNIST items [256, 784]', model: 'models/mnist-vae', dims: [256, 784], calls: repeats },
  { name: 'one 512x512 RGB image [1, 3, 512, 512]', model: 'models/kl-f8', dims: [1, 3, 512, 512], calls: 3 },
];
console.log('| input | bytes | copy (median ms) | encode call (median ms) | copy / call |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const { name, model, dims, calls } of cases) {
  const size = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: size }, (_, i) => ((i * 7919) % 1000) / 1000);
  const copy = await median(async () => void data.slice());
  const vae = await loadVae(model);
  const x = { data, dims };
  const call = await median(async () => void (await vae.encode(x)), calls);
  await vae.dispose();
  console.log(`| ${name} | ${size * 4} | ${copy.toFixed(3)} | ${call.toFixed(1)} | ${((100 * copy) / call).toFixed(2)}% |`);
}
