/**
 * The files of one model as the loader reads them: a folder on disk (Node), a URL prefix or files picked in a page
 * (the browser), bytes in memory. Runtime packages implement it; {@link loadModel} reads every model through it.
 */
import type { ModelSource } from '../backend.js';
import { ModelFileError } from '../errors.js';
import type { LimitName } from '../limits.js';
import { utf8Encode } from '../text.js';

/** The manifest's file name inside a model. */
export const MANIFEST_FILE = 'vae.json';

/**
 * A bound on a file's size that the loader asks a store to apply while reading (so a 10 GB file is refused before it
 * is in memory); the loader also checks the size of what comes back, for stores that cannot bound their reads.
 */
export interface ReadLimit {
  /** Which limit, for the error (`maxManifestBytes`, `maxGraphBytes`). */
  readonly limit: LimitName;
  /** Its value in bytes. */
  readonly maximum: number;
}

/** Read access to one model's files, by paths relative to the model (`/`-separated, e.g. `vae_encoder/model.onnx`). */
export interface ModelStore {
  /**
   * The model's name for a manifest detected from its graphs (e.g. the folder's name). Default: what the graphs'
   * file names suggest (`NAME` of `NAME_encoder.onnx`), else `'model'`.
   */
  readonly name?: string;
  /** Where a file is, for messages: a path or a URL. */
  locate(file: string): string;
  /**
   * The bytes of a file.
   *
   * @param what - what the file is, for messages, e.g. `'the manifest'`
   * @param limit - a size bound to apply while reading, where the store can (see {@link ReadLimit})
   * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND` saying why and what to do; {@link LimitExceededError}
   *   for a file over `limit`
   */
  read(file: string, what: string, limit?: ReadLimit): Promise<Uint8Array>;
  /**
   * Whether a file exists, without reading it. Stores that cannot tell cheaply (HTTP) leave it out: the loader then
   * assumes a manifest and reads it, and detects no layout.
   */
  exists?(file: string): Promise<boolean>;
  /** The names of the files at the model's top level, for the flat layouts; left out where the store cannot list. */
  list?(): Promise<readonly string[]>;
  /**
   * A graph as the backend takes it without reading it here (a path, for onnxruntime-node). Default:
   * `{ bytes: await read(file) }`.
   *
   * @param limit - the size bound of the graph (`maxGraphBytes`), which the store checks
   * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND`; {@link LimitExceededError} for a file over `limit`
   */
  source?(file: string, what: string, limit?: ReadLimit): Promise<ModelSource>;
}

/**
 * A {@link ModelStore} over files in memory.
 *
 * @param files - the files by path (strings are UTF-8 text)
 * @param name - the model's name for a detected manifest; see {@link ModelStore.name}
 * @example
 * const store = memoryModelStore({ 'vae.json': manifestText, 'encoder.onnx': encoderBytes, 'decoder.onnx': decoderBytes });
 */
export function memoryModelStore(files: Readonly<Record<string, Uint8Array | string>>, name?: string): ModelStore {
  return {
    ...(name === undefined ? {} : { name }),
    locate: (file) => `${file} (in memory)`,
    read: async (file, what) => {
      const content = Object.hasOwn(files, file) ? files[file] : undefined;
      if (content === undefined)
        throw new ModelFileError(
          'MODEL_FILE_NOT_FOUND',
          file,
          `Cannot read the ${what} ${file}: it is not among the files given (${Object.keys(files).join(', ')}).`,
        );
      return typeof content === 'string' ? utf8Encode(content) : content;
    },
    exists: async (file) => Object.hasOwn(files, file),
    list: async () => Object.keys(files).filter((file) => !file.includes('/')),
  };
}
