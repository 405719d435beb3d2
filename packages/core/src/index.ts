/**
 * `@onnx-vae/core`: the backend-agnostic part of onnx-vae — the manifest, posterior maths, scoring, the seeded
 * generator and the typed {@link Vae} API. It imports no runtime binding; install `@onnx-vae/node` or
 * `@onnx-vae/web`, which re-export everything here. The test kit is `@onnx-vae/core/testing`.
 *
 * Folders (docs/architecture.md): `model/` the Vae API, `likelihood/` one file per observation model,
 * `manifest/` parsing, graph checks, layouts and presets, `tensor/`, `image/`, `tiling/`, `formats/` (file formats).
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './validate.js';
export * from './limits.js';
export * from './rng.js';
export * from './math.js';
export * from './backend.js';
export * from './tensor/tensor.js';
export * from './tensor/float16.js';
export * from './tensor/spatial.js';

export * from './manifest/types.js';
export * from './manifest/parse.js';
export * from './manifest/graph-check.js';
export * from './manifest/layouts.js';
export * from './manifest/presets.js';
export * from './manifest/detect.js';

export { LIKELIHOODS, LIKELIHOOD_KINDS, describeLikelihood } from './likelihood/registry.js';
export type { Likelihood, LikelihoodKind } from './likelihood/registry.js';
export type { DecoderRows, LikelihoodModel, LikelihoodOutput } from './likelihood/types.js';
export { BERNOULLI_PARAMETERIZATIONS } from './likelihood/bernoulli.js';
export type { BernoulliLikelihood, BernoulliParameterization } from './likelihood/bernoulli.js';
export type { GaussianLikelihood } from './likelihood/gaussian.js';
export type { LaplaceLikelihood } from './likelihood/laplace.js';
export type { NoLikelihood } from './likelihood/none.js';

export * from './model/types.js';
export * from './model/noise.js';
export * from './model/posterior.js';
export * from './model/device-latent.js';
export * from './model/interpolate.js';
export * from './model/latent-scaling.js';
export * from './model/sample.js';
export * from './model/create-vae.js';
export * from './model/vae.js';
export * from './model/model-store.js';
export * from './model/load-model.js';
export * from './model/lazy-session.js';

export * from './image/codec.js';
export * from './image/fit.js';
export * from './image/read-checks.js';
export * from './image/pixels.js';
export * from './image/geometry.js';
export * from './image/grid.js';
export * from './image/metrics.js';

export * from './tiling/defaults.js';
export * from './tiling/plan.js';
export { isTileSource } from './tiling/source.js';
export type { TileSource } from './tiling/source.js';
export * from './tiling/tiled.js';

export * from './formats/onnx-proto.js';
export * from './formats/graph-info.js';
export * from './formats/quantize.js';
export * from './formats/checksum.js';
export * from './formats/safetensors.js';
export * from './formats/latent-file.js';
export * from './formats/npy.js';

export * from './cancellation.js';
export * from './error-transport.js';
export * from './batching/index.js';
