/**
 * `@onnx-vae/web`: onnx-vae in the browser on onnxruntime-web (WebGPU, or wasm with threads where the page is
 * cross-origin isolated), loading model folders over `fetch` with progress and the Cache API, and reading and
 * writing images through canvases. Re-exports all of `@onnx-vae/core`.
 *
 * @example
 * import { loadVae } from '@onnx-vae/web';
 * const vae = await loadVae('/models/mnist-vae/', { device: 'auto' });
 * const scores = await vae.score(x, { samples: 100, seed: 0 });
 *
 * @packageDocumentation
 */
export * from '@onnx-vae/core';
export { GRAPH_OPTIMIZATION_LEVELS } from '@onnx-vae/ort-common';
export type { GraphOptimizationLevel } from '@onnx-vae/ort-common';
export * from './ort-web-backend.js';
export * from './load.js';
export * from './image-codec.js';
export * from './worker.js';
