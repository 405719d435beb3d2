import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFileError, createVae, parseManifest } from '@onnx-vae/core';
import type { Manifest, Vae, VaeOptions } from '@onnx-vae/core';
import { OrtNodeBackend } from './ort-backend.js';
import type { OrtNodeOptions } from './ort-backend.js';

/** Options of {@link loadVae}: batching plus every onnxruntime-node option. */
export interface LoadVaeOptions extends VaeOptions, OrtNodeOptions {}

/** The manifest's file name inside a model folder. */
export const MANIFEST_FILE = 'vae.json';

/**
 * Reads and validates `vae.json` of a model folder.
 *
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND`; {@link ManifestError} for an invalid manifest
 */
export async function readManifest(modelDir: string): Promise<Manifest> {
  const path = join(modelDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ModelFileError('MODEL_FILE_NOT_FOUND', path, `Cannot read the manifest ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. A model folder holds vae.json and the two ONNX files it names (docs/manifest.md).`, { cause: error });
  }
  return parseManifest(text);
}

async function existingFile(path: string, role: string): Promise<string> {
  try {
    const info = await stat(path);
    if (info.isFile()) return path;
  } catch (error) {
    throw new ModelFileError('MODEL_FILE_NOT_FOUND', path, `The ${role} graph ${path} named in ${MANIFEST_FILE} does not exist.`, { cause: error });
  }
  throw new ModelFileError('MODEL_FILE_NOT_FOUND', path, `The ${role} graph ${path} named in ${MANIFEST_FILE} is not a file.`);
}

/**
 * Loads a model folder (`vae.json` + encoder and decoder ONNX files) on onnxruntime-node.
 *
 * @param modelDir - the model folder
 * @param options - `device` (`'cpu'` default, or `'cuda'` with `deviceId`, falling back to CPU with a warning
 *   unless `strict`), `maxBatch` (default 256), thread counts, `enableCpuMemArena`, `enableMemPattern`,
 *   `graphOptimizationLevel`, `onWarning`
 * @throws {@link ModelFileError}, {@link ManifestError}, {@link ModelMismatchError}, {@link InvalidOptionError},
 *   {@link BackendError} (`BACKEND_UNAVAILABLE` for CUDA with `strict`)
 * @example
 * import { loadVae } from '@onnx-vae/node';
 * const vae = await loadVae('models/mnist-vae');
 * const q = await vae.encode({ data: new Float32Array(784), dims: [1, 784] });
 * console.log(q.kl());
 * await vae.dispose();
 */
export async function loadVae(modelDir: string, options: LoadVaeOptions = {}): Promise<Vae> {
  const dir = resolve(modelDir);
  const manifest = await readManifest(dir);
  const backend = new OrtNodeBackend(options);
  const encoder = await existingFile(join(dir, manifest.encoder.file), 'encoder');
  const decoder = await existingFile(join(dir, manifest.decoder.file), 'decoder');
  return createVae({ manifest, backend, encoder: { path: encoder }, decoder: { path: decoder }, ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }) });
}
