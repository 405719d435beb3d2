/**
 * What every CLI command gets: its parsed arguments, the output streams, and helpers to open the model and to show
 * the progress an API call reports.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_MAX_BATCH, ModelFileError } from '@onnx-vae/node';
import type { Detection, Manifest, ResolvedLimits } from '@onnx-vae/node';
import { folderModelStore, loadVae, planModel } from '@onnx-vae/node';
import type { Device, NodeVae as Vae } from '@onnx-vae/node';
import { cliLimits } from './limits.js';
import { UsageError, integerOption, stringOption } from './options.js';
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
  /** The model folder (first positional argument); `''` for a command with `model: 'none'`. */
  readonly model: string;
  /** The remaining positional arguments (all of them for a command with `model: 'none'`). */
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
  /**
   * Whether the first positional argument is a model folder: `'required'` (default), or `'none'` for commands that
   * take none (e.g. a job's status), whose positionals all go to `inputs`.
   */
  readonly model?: 'required' | 'none';
  /** How many inputs follow the model folder. */
  readonly inputs: { readonly min: number; readonly max: number };
  /** Does the work; throws on failure. */
  run(context: CommandContext): Promise<void>;
}

/** `--max-batch`, default {@link DEFAULT_MAX_BATCH}. */
export function maxBatch(context: CommandContext): number {
  return integerOption(context.values, 'max-batch', 1, DEFAULT_MAX_BATCH);
}

/**
 * Checks that the model folder exists.
 *
 * @returns its absolute path
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND` for a missing folder or a file
 */
export async function modelFolder(context: CommandContext): Promise<string> {
  const folder = resolve(context.model);
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) {
    throw new ModelFileError(
      'MODEL_FILE_NOT_FOUND',
      folder,
      `The model folder ${context.model} ${info ? 'is not a folder' : 'does not exist'}; pass a folder holding vae.json and the two ONNX files it names.`,
    );
  }
  return folder;
}

/** `--preset`, as the loading options take it. */
export function presetOption(context: CommandContext): { preset?: string } {
  const preset = stringOption(context.values, 'preset');
  return preset === undefined ? {} : { preset };
}

/**
 * Checks that the model folder exists and reads its manifest (before inputs are read and graphs are loaded). An
 * export without vae.json has its manifest detected from the graphs, so it is loaded here, once ({@link openModel}
 * then returns it).
 *
 * @returns the folder's absolute path, the validated manifest, and what was detected (`null` with a vae.json)
 * @throws {@link ModelFileError} `MODEL_FILE_NOT_FOUND` for a missing folder; the errors of `planModel`
 */
export async function readModelManifest(context: CommandContext): Promise<{ folder: string; manifest: Manifest; detection: Detection | null }> {
  const folder = await modelFolder(context);
  const plan = await planModel(folderModelStore(folder), { ...presetOption(context), limits: limitsOption(context) });
  if (typeof plan.manifest === 'function') {
    const vae = await openModel(context);
    return { folder, manifest: vae.manifest, detection: vae.detection };
  }
  return { folder, manifest: plan.manifest, detection: null };
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
export function backendOptions(context: CommandContext): {
  device: Device;
  strict?: boolean;
  preset?: string;
  intraOpNumThreads?: number;
  limits: ResolvedLimits;
  onWarning: (warning: { message: string }) => void;
} {
  const threads = integerOption(context.values, 'threads', 1);
  return {
    limits: limitsOption(context),
    device: (context.values.device ?? 'cpu') as Device,
    ...(context.values.strict === true ? { strict: true } : {}),
    ...presetOption(context),
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
    vae = loadVae(context.model, { ...backendOptions(context), maxBatch: maxBatch(context) });
    opened.set(context, vae);
  }
  return vae;
}

/**
 * Whether to show progress for work of `steps` graph runs: per `--progress` / `--no-progress` and whether stderr is a
 * terminal, and only for more than one step.
 */
export function showProgress(context: CommandContext, steps: number): boolean {
  return progressEnabled(steps, context.io.stderr, { progress: context.values.progress === true, noProgress: context.values['no-progress'] === true });
}

/**
 * A progress bar fed by an API call's `onProgress(done, total)` (rows done so far), shown per {@link showProgress}
 * for work of `total` rows run in batches of `maxBatch`.
 *
 * @returns the callback to pass as `onProgress`, and `finish` to call when the call settles (also on failure, so an
 *   error message starts on a line of its own)
 */
export function progressReporter(
  context: CommandContext,
  label: string,
  total: number,
  maxBatch: number,
): { onProgress: (done: number) => void; finish(): void } {
  const bar = new ProgressBar(label, total, context.io.stderr, showProgress(context, Math.ceil(total / maxBatch)));
  let reported = 0;
  return {
    onProgress: (done) => {
      bar.advance(done - reported);
      reported = done;
    },
    finish: () => bar.finish(),
  };
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
 * A string option a command cannot do without, e.g. `--queue`.
 *
 * @param what - its value's placeholder for the message, e.g. `redis://HOST:PORT[/DB]`
 * @throws {@link UsageError} when it is missing
 */
export function requiredOption(context: CommandContext, name: string, what: string): string {
  const value = stringOption(context.values, name);
  if (value === undefined) throw new UsageError(context.command, `missing --${name} ${what}.`);
  return value;
}

/**
 * `--seed`: the given seed, or `fallback` when absent.
 *
 * @throws {@link InvalidOptionError} for a value that is not an integer in [0, 2^53)
 */
export function seedOption(context: CommandContext, fallback: number): number {
  return integerOption(context.values, 'seed', 0, fallback);
}
