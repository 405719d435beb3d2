/**
 * `@onnx-vae/node`: onnx-vae on onnxruntime-node (CPU and CUDA), with image and `.npy` I/O and the `onnx-vae` CLI.
 * Re-exports all of `@onnx-vae/core`.
 *
 * @example
 * import { loadVae } from '@onnx-vae/node';
 * const vae = await loadVae('models/mnist-vae');
 * const scores = await vae.score(x, { samples: 100, seed: 0 });
 *
 * @packageDocumentation
 */
export * from '@onnx-vae/core';
export { GRAPH_OPTIMIZATION_LEVELS } from '@onnx-vae/ort-common';
export type { GraphOptimizationLevel } from '@onnx-vae/ort-common';
export * from './ort-backend.js';
export * from './load.js';
export * from './npy.js';
export * from './image-io.js';
export * from './files.js';
export * from './image-codec.js';
export * from './fingerprint.js';
export * from './workers/index.js';
export * from './random-access-file.js';
