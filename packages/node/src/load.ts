import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, isAbsolute } from 'node:path';
import {
  KNOWN_LAYOUTS,
  MANIFEST_FILE,
  ModelFileError,
  VaeError,
  booleanOption,
  findModelLayout,
  invalidOption,
  limitExceeded,
  loadModel,
  optionsObject,
  readManifestFile,
  resolveLimits,
} from '@onnx-vae/core';
import type { FoundLayout, Manifest, ModelStore, ResourceLimits, Vae, VaeOptions } from '@onnx-vae/core';
import { OrtNodeBackend } from './ort-backend.js';
import { WorkerPoolBackend } from './workers/index.js';
import { nodeImageCodec } from './image-codec.js';
import { openRandomAccessFile } from './random-access-file.js';
import type { ImageWriteOptions, NodeImageInput } from './image-codec.js';
import type { OrtNodeOptions } from './ort-backend.js';

/** Options of {@link loadVae}: batching plus every onnxruntime-node option. */
export interface LoadVaeOptions extends VaeOptions, OrtNodeOptions {
  /**
   * For an export without `vae.json` (optimum, onnxruntime's SD demo, a TAESD-style pair): the VAE family, for what
   * the graphs cannot tell (scaling factor, range); see `PRESETS`.
   */
  readonly preset?: string;
  /**
   * Run the graphs in this many worker threads (a piscina pool), off the main thread's event loop. Default: in this
   * thread. Each worker gets `intraOpNumThreads` (default: cores / workers, at least 1) and 1 inter-op thread.
   */
  readonly workers?: number;
  /**
   * Follow symlinks in the model folder that lead outside it. Default false: model files must be regular files
   * inside the folder after resolving symlinks (`MODEL_FILE_REFUSED` otherwise); see {@link FolderStoreOptions}.
   */
  readonly allowOutsideLinks?: boolean;
}

/** Options of {@link folderModelStore}. */
export interface FolderStoreOptions {
  /**
   * Follow symlinks that lead outside the model folder. Default false. Files must always be regular files (never a
   * device such as `/dev/zero`, a pipe or a folder).
   */
  readonly allowOutsideLinks?: boolean;
}

/** onnxruntime-node in this thread, or in a pool of worker threads with `workers`. */
function nodeBackend(options: LoadVaeOptions): OrtNodeBackend | WorkerPoolBackend {
  return options.workers === undefined ? new OrtNodeBackend(options) : new WorkerPoolBackend({ ...options, workers: options.workers });
}

/** A VAE loaded in Node: tensors or image files and bytes in; `toImages`/`decodeImages` give encoded image bytes. */
export type NodeVae = Vae<NodeImageInput, Buffer, ImageWriteOptions>;

const FOLDER_HELP = `A model folder holds ${MANIFEST_FILE} and the two ONNX files it names (docs/manifest.md), or an export in a known layout: ${KNOWN_LAYOUTS.optimum.encoder} + ${KNOWN_LAYOUTS.optimum.decoder} (optimum), ${KNOWN_LAYOUTS['ort-sd-demo'].encoder} + ${KNOWN_LAYOUTS['ort-sd-demo'].decoder}, or one NAME_encoder.onnx + NAME_decoder.onnx pair.`;

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isFile(),
    () => false,
  );
}

/**
 * A model folder on disk as a {@link ModelStore}: graphs go to onnxruntime-node as paths. Every file read or handed
 * to onnxruntime must be a regular file inside the folder after resolving symlinks (realpath), unless
 * `allowOutsideLinks`; a link to `/dev/zero` or out of the folder is refused with `MODEL_FILE_REFUSED`, unread.
 *
 * @param modelDir - the folder
 * @param options - `allowOutsideLinks` (default false)
 * @throws {@link InvalidOptionError} for a `modelDir` that is not a non-empty string
 * @example
 * const plan = await planModel(folderModelStore('models/kl-f8'));
 */
export function folderModelStore(modelDir: string, options: FolderStoreOptions = {}): ModelStore {
  if (typeof modelDir !== 'string' || modelDir === '') throw invalidOption('modelDir', 'the path of a model folder (a non-empty string)', modelDir);
  optionsObject(options, 'folderModelStore()');
  const allowOutsideLinks = booleanOption(options.allowOutsideLinks, 'allowOutsideLinks') ?? false;
  const dir = resolve(modelDir);
  let realDir: Promise<string> | undefined;
  /** The file's real path, checked: inside the folder (unless allowed) and a regular file. */
  const checked = async (file: string, what: string): Promise<string> => {
    const path = join(dir, file);
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      throw new ModelFileError(
        'MODEL_FILE_NOT_FOUND',
        path,
        `Cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. ${FOLDER_HELP}`,
        { cause: error },
      );
    }
    const inside = relative(await (realDir ??= realpath(dir).catch(() => dir)), real);
    if (!allowOutsideLinks && (inside.startsWith('..') || isAbsolute(inside))) {
      throw new ModelFileError(
        'MODEL_FILE_REFUSED',
        path,
        `The ${what} ${path} leads outside the model folder (to ${real}); model files must be regular files inside the folder after resolving symlinks. Copy the file in, or pass allowOutsideLinks: true to follow links out of the folder.`,
      );
    }
    const info = await stat(real);
    if (!info.isFile())
      throw new ModelFileError(
        'MODEL_FILE_REFUSED',
        path,
        `The ${what} ${path} is not a regular file${real === path ? '' : ` (it leads to ${real})`}; model files must be regular files.`,
      );
    return real;
  };
  return {
    name: basename(dir),
    locate: (file) => join(dir, file),
    async read(file, what, limit) {
      const real = await checked(file, what);
      // Read through one handle, checked again, so the file cannot be swapped for a device between check and read.
      const handle = await open(real, 'r');
      try {
        const info = await handle.stat();
        if (!info.isFile())
          throw new ModelFileError(
            'MODEL_FILE_REFUSED',
            join(dir, file),
            `The ${what} ${join(dir, file)} is not a regular file; model files must be regular files.`,
          );
        if (limit !== undefined && info.size > limit.maximum) throw limitExceeded(limit.limit, info.size, limit.maximum, `The ${what} ${join(dir, file)}`);
        return await handle.readFile();
      } catch (error) {
        if (VaeError.isInstance(error)) throw error;
        throw new ModelFileError(
          'MODEL_FILE_NOT_FOUND',
          real,
          `Cannot read the ${what} ${real}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. ${FOLDER_HELP}`,
          { cause: error },
        );
      } finally {
        await handle.close();
      }
    },
    exists: (file) => isFile(join(dir, file)),
    async list() {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      return entries.filter((entry) => entry.isFile() || entry.isSymbolicLink()).map((entry) => entry.name);
    },
    async source(file, what, limit) {
      const path = join(dir, file);
      await stat(path).catch((error: unknown) => {
        throw new ModelFileError('MODEL_FILE_NOT_FOUND', path, `The ${what} ${path} named in ${MANIFEST_FILE} does not exist.`, { cause: error });
      });
      const real = await checked(file, what);
      if (limit !== undefined) {
        const { size } = await stat(real);
        if (size > limit.maximum) throw limitExceeded(limit.limit, size, limit.maximum, `The ${what} ${path}`);
      }
      return { path: real };
    },
  };
}

/**
 * Reads and validates `vae.json` of a model folder.
 *
 * @param modelDir - the model folder
 * @param limits - `maxManifestBytes` and `maxJsonDepth` (default: the defaults of `LIMITS`)
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND`; {@link ManifestError} for an invalid manifest;
 *   {@link LimitExceededError} for one over `maxManifestBytes` or `maxJsonDepth`
 */
export async function readManifest(modelDir: string, limits?: ResourceLimits): Promise<Manifest> {
  return readManifestFile(folderModelStore(modelDir), resolveLimits(limits));
}

/**
 * Finds a known export layout (see `KNOWN_LAYOUTS`) in a folder without `vae.json`.
 *
 * @returns file names relative to the folder, or `null`
 */
export async function findLayout(dir: string): Promise<FoundLayout | null> {
  return findModelLayout(folderModelStore(dir));
}

/**
 * Loads a model folder on onnxruntime-node: `vae.json` and the two ONNX files it names, or an export in a known
 * layout without `vae.json` (Hugging Face optimum's `vae_encoder/` + `vae_decoder/`, onnxruntime's Stable Diffusion
 * demo names, a TAESD-style `NAME_encoder.onnx` + `NAME_decoder.onnx` pair), whose manifest is detected from the
 * graphs (`vae.detection` says what was detected and why).
 *
 * @param modelDir - the model folder
 * @param options - `device` (`'cpu'` default, or `'cuda'` with `deviceId`, falling back to CPU with a warning
 *   unless `strict`), `maxBatch` (default 256), `preload` (graphs whose sessions are created at load; default `[]`
 *   on the CPU, so each session is created by its graph's first use, both with `device: 'cuda'`), thread counts,
 *   `enableCpuMemArena` (default true), `enableMemPattern` (default false), `graphOptimizationLevel`, `onWarning`, `preset` (for exports without `vae.json`), `workers` (worker threads),
 *   `batching` (micro-batching of concurrent calls), `limits` (resource limits of every call, see `LIMITS` and
 *   docs/limits.md; default: their defaults)
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
  optionsObject(options, 'loadVae()');
  // On the CPU sessions open when first used (a VAE that only decodes never holds its encoder, in this thread or in
  // the workers); on CUDA both open at load, so the device is decided (and a fallback warned about, or refused with
  // strict) by loadVae.
  const preload = options.preload ?? (options.device === 'cuda' ? (['encoder', 'decoder'] as const) : []);
  return loadModel(folderModelStore(modelDir, options.allowOutsideLinks === undefined ? {} : { allowOutsideLinks: options.allowOutsideLinks }), {
    backend: nodeBackend(options),
    images: nodeImageCodec,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    ...(options.batching === undefined ? {} : { batching: options.batching }),
    ...(options.preset === undefined ? {} : { preset: options.preset }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    preload,
    openFile: openRandomAccessFile,
  });
}
