/**
 * What every CLI command gets: its parsed arguments, the output streams, and helpers to open the model and to run
 * work in batches of `--max-batch` with a progress bar.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFileError } from '@onnx-vae/core';
import type { Detection, Manifest, ResolvedLimits } from '@onnx-vae/core';
import { cliLimits } from './limits.js';
import type { NodeVae as Vae } from '../load.js';
import type { Device } from '../ort-backend.js';
import { UsageError, integerOption } from './options.js';
import type { OptionSpec, OptionValues } from './options.js';
import { ProgressBar, progressEnabled } from './progress.js';
import type { ProgressStream } from './progress.js';

/** The streams the CLI writes to. */
export interface CliIo {
  /** Results. */
  readonly stdout: { write(text: string): unknown };
  /** Messages, warnings, notes and the progress bar. */
  readonly stderr: ProgressStream;
}

/** A command's parsed command line. */
export interface CommandContext {
  /** The command's name. */
  readonly command: string;
  /** The model folder (first positional argument). */
  readonly model: string;
  /** The remaining positional arguments. */
  readonly inputs: readonly string[];
  /** Option values. */
  readonly values: OptionValues;
  /** Output streams. */
  readonly io: CliIo;
}

/** One CLI command. */
export interface Command {
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis, e.g. `onnx-vae encode <model> <inputs...> -o <out.npy> [options]`. */
  readonly synopsis: string;
  /** Paragraphs of help shown between the synopsis and the options. */
  readonly details: string;
  /** The command's own options (the common ones are added). */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** How many inputs follow the model folder. */
  readonly inputs: { readonly min: number; readonly max: number };
  /** Does the work; throws on failure. */
  run(context: CommandContext): Promise<void>;
}

/** Default items per graph run, as the API's `maxBatch`. */
export const DEFAULT_MAX_BATCH = 256;

/** `--max-batch`, default {@link DEFAULT_MAX_BATCH}. */
export function maxBatch(context: CommandContext): number {
  return integerOption(context.values, 'max-batch', 1, DEFAULT_MAX_BATCH);
}

/**
 * Checks that the model folder exists and reads its manifest (before inputs are read and graphs are loaded).
 *
 * @returns the folder's absolute path and the validated manifest
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND` for a missing folder; the errors of `readManifest`
 */
export async function readModelManifest(context: CommandContext): Promise<{ folder: string; manifest: Manifest; detection: Detection | null }> {
  const folder = resolve(context.model);
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) {
    throw new ModelFileError(
      'MODEL_FILE_NOT_FOUND',
      folder,
      `The model folder ${context.model} ${info ? 'is not a folder' : 'does not exist'}; pass a folder holding vae.json and the two ONNX files it names.`,
    );
  }
  // onnxruntime is loaded only once the command gets this far (usage errors and --help stay fast).
  const { readManifest, findLayout, MANIFEST_FILE } = await import('../load.js');
  const hasManifest = await stat(join(folder, MANIFEST_FILE)).then((s) => s.isFile(), () => false);
  if (!hasManifest && (await findLayout(folder)) !== null) {
    // An export without vae.json: its manifest is detected from the graphs, so load it (once; openModel reuses it).
    const vae = await openModel(context);
    return { folder, manifest: vae.manifest, detection: vae.detection };
  }
  return { folder, manifest: await readManifest(folder, limitsOption(context)), detection: null };
}

const opened = new WeakMap<CommandContext, Promise<Vae>>();

/**
 * The resource limits of the limit flags (`--max-pixels`, ...), over the defaults.
 *
 * @throws {@link InvalidOptionError} for a bad value
 */
export function limitsOption(context: CommandContext): ResolvedLimits {
  return cliLimits(context.values);
}

/**
 * The loading options of `--device`, `--strict`, `--preset` and `--threads` (the backend validates the device and
 * preset, listing the valid ones); warnings go to stderr.
 *
 * @throws {@link InvalidOptionError} for a `--threads` that is not a positive integer
 */
export function backendOptions(context: CommandContext): { device: Device; strict?: boolean; preset?: string; intraOpNumThreads?: number; limits: ResolvedLimits; onWarning: (warning: { message: string }) => void } {
  const threads = integerOption(context.values, 'threads', 1);
  const preset = context.values.preset;
  return {
    limits: limitsOption(context),
    device: (context.values.device ?? 'cpu') as Device,
    ...(context.values.strict === true ? { strict: true } : {}),
    ...(typeof preset === 'string' ? { preset } : {}),
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    onWarning: (warning) => context.io.stderr.write(`onnx-vae: warning: ${warning.message.replace(/^onnx-vae: /, '')}\n`),
  };
}

/**
 * Loads the model with the common options (`--device`, `--threads`, `--max-batch`).
 *
 * @throws the errors of `loadVae`; {@link InvalidOptionError} for bad option values
 */
export async function openModel(context: CommandContext): Promise<Vae> {
  let vae = opened.get(context);
  if (vae === undefined) {
    vae = import('../load.js').then(({ loadVae }) => loadVae(context.model, { ...backendOptions(context), maxBatch: maxBatch(context) }));
    opened.set(context, vae);
  }
  return vae;
}

/**
 * Runs `work` on consecutive ranges of at most `--max-batch` items, in order, advancing a progress bar.
 *
 * @param context - the command
 * @param label - the bar's label
 * @param total - number of items
 * @param work - called with `[start, end)` of each batch
 */
export async function inBatches(context: CommandContext, label: string, total: number, work: (start: number, end: number) => Promise<void>): Promise<void> {
  const size = maxBatch(context);
  const batches = Math.ceil(total / size);
  const enabled = progressEnabled(batches, context.io.stderr, { progress: context.values.progress === true, noProgress: context.values['no-progress'] === true });
  const bar = new ProgressBar(label, total, context.io.stderr, enabled);
  try {
    for (let start = 0; start < total; start += size) {
      const end = Math.min(total, start + size);
      await work(start, end);
      bar.advance(end - start);
    }
  } finally {
    // Also on failure, so an error message starts on a line of its own.
    bar.finish();
  }
}

/**
 * The `-o` path of a command that needs one.
 *
 * @throws {@link UsageError} when it is missing
 */
export function requiredOutput(context: CommandContext, what: string): string {
  const output = context.values.output;
  if (typeof output !== 'string') throw new UsageError(context.command, `missing -o <${what}>.`);
  return output;
}

/**
 * `--seed`: the given seed, or `fallback` when absent.
 *
 * @throws {@link InvalidOptionError} for a value that is not an integer in [0, 2^53)
 */
export function seedOption(context: CommandContext, fallback: number): number {
  return integerOption(context.values, 'seed', 0, fallback);
}
