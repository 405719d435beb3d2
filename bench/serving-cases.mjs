// The models, inputs and batch sizes of bench:server and bench/serving-compute.mjs: one item per call.
import { VaeTensor } from '../packages/node/dist/index.js';

function tensor(dims, f) {
  const size = dims.reduce((a, b) => a * b, 1);
  return new VaeTensor(
    Float32Array.from({ length: size }, (_, i) => f(i)),
    dims,
  );
}

/** maxBatchSize per model, by docs/serving.md's rule: large for a small MLP, small for a conv net. */
export const SERVING_MODELS = [
  {
    name: 'mnist-vae',
    maxBatchSize: 32,
    routes: [
      ['encode', tensor([1, 784], (i) => (i % 7) / 7)],
      ['decode', tensor([1, 50], (i) => Math.sin(i))],
    ],
  },
  {
    name: 'kl-f8',
    maxBatchSize: 8,
    routes: [
      ['encode 64x64', tensor([1, 3, 64, 64], (i) => Math.sin(i * 0.01))],
      ['decode 64x64', tensor([1, 4, 8, 8], (i) => Math.sin(i))],
    ],
  },
];
