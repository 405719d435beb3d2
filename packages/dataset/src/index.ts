/**
 * `@onnx-vae/dataset`: dataset-scale latent encoding for latent-diffusion training. Encodes a folder of images, a
 * list of paths or WebDataset shards into latent shards (safetensors or WebDataset tars) with a `dataset.json`
 * manifest, resumably, on one machine (`encodeDataset`) or across many through BullMQ on Redis (`planDistributed`,
 * `startWorker`, `followDataset`, `datasetStatus`). See docs/dataset.md.
 *
 * @example
 * import { encodeDataset } from '@onnx-vae/dataset';
 * const summary = await encodeDataset('models/kl-f8', 'photos/', { output: 'latents/', size: 256 });
 *
 * @packageDocumentation
 */
export * from './item-errors.js';
export * from './inputs.js';
export * from './webdataset.js';
export * from './preprocess.js';
export * from './settings.js';
export * from './shard-writers.js';
export * from './shard.js';
export * from './manifest.js';
export * from './plan.js';
export * from './progress.js';
export * from './shard-runner.js';
export * from './encode-dataset.js';
export * from './distributed.js';
