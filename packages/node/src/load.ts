import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InvalidOptionError, KNOWN_LAYOUTS, ModelFileError, VaeError, checkJsonDepth, checkLimit, createVae, detectManifest, getPreset, layoutOfFiles, parseManifest, resolveLimits } from '@onnx-vae/core';
import type { KnownLayout, Manifest, ResolvedLimits, Vae, VaeOptions } from '@onnx-vae/core';
import { readFileLimited } from './read-limited.js';
import { OrtNodeBackend } from './ort-backend.js';
import { nodeImageCodec } from './image-codec.js';
import type { ImageWriteOptions, NodeImageInput } from './image-codec.js';
import type { OrtNodeOptions } from './ort-backend.js';

/** Options of {@link loadVae}: batching plus every onnxruntime-node option. */
export interface LoadVaeOptions extends VaeOptions, OrtNodeOptions {
  /**
   * For an export without `vae.json` (optimum, onnxruntime's SD demo, a TAESD-style pair): the VAE family, for what
   * the graphs cannot tell (scaling factor, range); see `PRESETS`.
   */
  readonly preset?: string;
}

/** A VAE loaded in Node: tensors or image files and bytes in; `toImages`/`decodeImages` give encoded image bytes. */
export type NodeVae = Vae<NodeImageInput, Buffer, ImageWriteOptions>;

/** The manifest's file name inside a model folder. */
export const MANIFEST_FILE = 'vae.json';

/**
 * Reads and validates `vae.json` of a model folder.
 *
 * @param modelDir - the model folder
 * @param limits - `maxManifestBytes` and `maxJsonDepth` (default: the defaults of `LIMITS`)
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND`; {@link ManifestError} for an invalid manifest;
 *   {@link LimitExceededError} for one over `maxManifestBytes` or `maxJsonDepth`
 */
export async function readManifest(modelDir: string, limits: ResolvedLimits = resolveLimits(undefined)): Promise<Manifest> {
  const path = join(modelDir, MANIFEST_FILE);
  let text: string;
  try {
    text = new TextDecoder().decode(await readFileLimited(path, limits.maxManifestBytes, 'maxManifestBytes', `The manifest ${path}`));
  } catch (error) {
    if (VaeError.isInstance(error)) throw error;
    throw new ModelFileError('MODEL_FILE_NOT_FOUND', path, `Cannot read the manifest ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. A model folder holds vae.json and the two ONNX files it names (docs/manifest.md), or an export in a known layout: vae_encoder/model.onnx + vae_decoder/model.onnx (optimum), vae_encoder.onnx + vae_decoder.onnx, or one NAME_encoder.onnx + NAME_decoder.onnx pair.`, { cause: error });
  }
  return parseManifest(text, limits);
}

async function existingFile(path: string, role: string, limits: ResolvedLimits): Promise<string> {
  try {
    const info = await stat(path);
    if (info.isFile()) {
      checkLimit(limits, 'maxGraphBytes', info.size, `The ${role} graph ${path}`);
      return path;
    }
  } catch (error) {
    if (VaeError.isInstance(error)) throw error;
    throw new ModelFileError('MODEL_FILE_NOT_FOUND', path, `The ${role} graph ${path} named in ${MANIFEST_FILE} does not exist.`, { cause: error });
  }
  throw new ModelFileError('MODEL_FILE_NOT_FOUND', path, `The ${role} graph ${path} named in ${MANIFEST_FILE} is not a file.`);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A recognised export layout inside a folder. */
export interface FoundLayout {
  readonly layout: KnownLayout;
  readonly encoder: string;
  readonly decoder: string;
  readonly config?: string;
}

/**
 * Finds a known export layout (see `KNOWN_LAYOUTS`) in a folder without `vae.json`.
 *
 * @returns file names relative to the folder, or `null`
 */
export async function findLayout(dir: string): Promise<FoundLayout | null> {
  const optimum = KNOWN_LAYOUTS.optimum;
  if ((await isFile(join(dir, optimum.encoder))) && (await isFile(join(dir, optimum.decoder)))) {
    for (const config of [optimum.config, 'vae_encoder/config.json', 'config.json']) {
      if (await isFile(join(dir, config))) return { layout: 'optimum', encoder: optimum.encoder, decoder: optimum.decoder, config };
    }
    return { layout: 'optimum', encoder: optimum.encoder, decoder: optimum.decoder };
  }
  let entries: string[] = [];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile() || entry.isSymbolicLink()).map((entry) => entry.name);
  } catch {
    return null;
  }
  const found = layoutOfFiles(entries);
  return found && { layout: found.layout, encoder: found.encoder, decoder: found.decoder };
}

async function readConfig(path: string, limits: ResolvedLimits): Promise<Record<string, unknown> | undefined> {
  try {
    const text = new TextDecoder().decode(await readFileLimited(path, limits.maxManifestBytes, 'maxManifestBytes', `The config ${path}`));
    checkJsonDepth(limits, text, path);
    const value = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads a model folder on onnxruntime-node: `vae.json` and the two ONNX files it names, or an export in a known
 * layout without `vae.json` (Hugging Face optimum's `vae_encoder/` + `vae_decoder/`, onnxruntime's Stable Diffusion
 * demo names, a TAESD-style `NAME_encoder.onnx` + `NAME_decoder.onnx` pair), whose manifest is detected from the
 * graphs (`vae.detection` says what was detected and why).
 *
 * @param modelDir - the model folder
 * @param options - `device` (`'cpu'` default, or `'cuda'` with `deviceId`, falling back to CPU with a warning
 *   unless `strict`), `maxBatch` (default 256), thread counts, `enableCpuMemArena`, `enableMemPattern`,
 *   `graphOptimizationLevel`, `onWarning`, `preset` (for exports without `vae.json`), `limits` (resource limits of
 *   every call, see `LIMITS` and docs/limits.md; default: their defaults)
 * @throws {@link ModelFileError}, {@link ManifestError}, {@link ModelMismatchError}, {@link InvalidOptionError},
 *   {@link BackendError} (`BACKEND_UNAVAILABLE` for CUDA with `strict`), {@link LimitExceededError} for a manifest
 *   or graph over its limit
 * @example
 * import { loadVae } from '@onnx-vae/node';
 * const vae = await loadVae('models/mnist-vae');
 * const q = await vae.encode({ data: new Float32Array(784), dims: [1, 784] });
 * console.log(q.kl());
 * await vae.dispose();
 */
export async function loadVae(modelDir: string, options: LoadVaeOptions = {}): Promise<NodeVae> {
  const dir = resolve(modelDir);
  if (options.preset !== undefined) getPreset(options.preset);
  const limits = resolveLimits(options.limits);
  const batching = { ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }), images: nodeImageCodec, limits };
  if (!(await isFile(join(dir, MANIFEST_FILE)))) {
    const found = await findLayout(dir);
    if (found) {
      const backend = new OrtNodeBackend(options);
      await existingFile(join(dir, found.encoder), 'encoder', limits);
      await existingFile(join(dir, found.decoder), 'decoder', limits);
      const config = found.config ? await readConfig(join(dir, found.config), limits) : undefined;
      return createVae({
        manifest: ({ encoder, decoder }) =>
          detectManifest({
            name: basename(dir),
            layout: found.layout,
            encoder: { file: found.encoder, info: encoder },
            decoder: { file: found.decoder, info: decoder },
            ...(config ? { config } : {}),
            ...(options.preset === undefined ? {} : { preset: options.preset }),
          }),
        backend,
        encoder: { path: join(dir, found.encoder) },
        decoder: { path: join(dir, found.decoder) },
        ...batching,
      });
    }
  } else if (options.preset !== undefined) {
    throw new InvalidOptionError('preset', `"preset" applies to exports without ${MANIFEST_FILE}; ${join(dir, MANIFEST_FILE)} already describes this model. Put scaling factors and ranges in the manifest instead.`);
  }
  const manifest = await readManifest(dir, limits);
  const backend = new OrtNodeBackend(options);
  const encoder = await existingFile(join(dir, manifest.encoder.file), 'encoder', limits);
  const decoder = await existingFile(join(dir, manifest.decoder.file), 'decoder', limits);
  return createVae({ manifest, backend, encoder: { path: encoder }, decoder: { path: decoder }, ...batching });
}
