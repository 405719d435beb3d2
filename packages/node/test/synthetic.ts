// Deterministic synthetic inputs for the serving tests (batching, workers, server), and the shipped models' folders.
import { testFixtures } from '@onnx-vae/core/testing';
import { VaeTensor } from '../src/index';

const fixtures = testFixtures(__dirname);
/** The shipped MNIST VAE. */
export const MNIST = fixtures.model('mnist-vae');
/** The shipped SD-style image VAE. */
export const KL_F8 = fixtures.model('kl-f8');

/** `n` items of 784 pseudo-random values in [0, 1], different per `seed`. */
export function digits(n: number, seed: number): VaeTensor {
  const data = new Float32Array(n * 784);
  for (let i = 0; i < data.length; i++) data[i] = Math.abs((Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453) % 1);
  return new VaeTensor(data, [n, 784]);
}

/** `n` RGB images of `size` x `size` in [-1, 1], NCHW. */
export function images(n: number, size: number, seed: number): VaeTensor {
  const data = new Float32Array(n * 3 * size * size);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.013 + seed);
  return new VaeTensor(data, [n, 3, size, size]);
}

/** `n` kl-f8 latents of `size` x `size` (4 channels). */
export function latents(n: number, size: number): VaeTensor {
  const data = new Float32Array(n * 4 * size * size);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.7);
  return new VaeTensor(data, [n, 4, size, size]);
}
