/**
 * `@onnx-vae/core`: the backend-agnostic part of onnx-vae — the manifest, posterior maths, scoring, the seeded
 * generator and the typed {@link Vae} API. It imports no runtime binding; install `@onnx-vae/node` or
 * `@onnx-vae/web`, which re-export everything here.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './limits.js';
export * from './tensor.js';
export * from './rng.js';
export * from './math.js';
export * from './manifest.js';
export * from './backend.js';
export * from './posterior.js';
export * from './interpolate.js';
export * from './vae.js';
export * from './device-latent.js';
export * from './presets.js';
export * from './detect.js';
export * from './spatial.js';
export * from './options.js';
export { rowLogLikelihood, toDataSpace } from './likelihood.js';
export type { DecoderRows } from './likelihood.js';
export * from './image.js';
export * from './onnx-proto.js';
export * from './tiling.js';
export * from './float16.js';
export * from './quantize.js';
export * from './checksum.js';
export * from './safetensors.js';
export * from './latent-file.js';
export * from './metrics.js';
