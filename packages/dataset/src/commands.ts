/**
 * The CLI commands `encode-dataset`, `worker` and `dataset-status`, shaped as the `onnx-vae` CLI's `Command`
 * entries (summary, synopsis, details, options, inputs, run) so that its COMMANDS table can list them. They use only
 * this package's functions; the option values arrive parsed by the CLI.
 */
import { InvalidOptionError, describe } from '@onnx-vae/core';
import type { LoadVaeOptions } from '@onnx-vae/node';
import { datasetStatus, followDataset, formatStatus, planDistributed, startWorker } from './distributed.js';
import { encodeDataset, formatSummary } from './encode-dataset.js';
import { FITS } from './preprocess.js';
import { formatProgress } from './progress.js';
import type { DatasetProgress } from './progress.js';
import { LATENT_DTYPES, SHARD_FORMATS } from './settings.js';
import type { EncodeSettingsOptions, LatentDtype, ShardFormat } from './settings.js';
import type { Fit } from './preprocess.js';

/** One command-line option (the CLI's `OptionSpec`). */
export interface DatasetOptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly value?: string;
  readonly description: string;
}

/** Parsed option values (the CLI's `OptionValues`). */
export type DatasetOptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** What a command runs with (the CLI's `CommandContext`). */
export interface DatasetCommandContext {
  readonly command: string;
  readonly model: string;
  readonly inputs: readonly string[];
  readonly values: DatasetOptionValues;
  readonly io: { readonly stdout: { write(text: string): unknown }; readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean } };
}

/** A CLI command (the CLI's `Command`). */
export interface DatasetCommand {
  readonly summary: string;
  readonly synopsis: string;
  readonly details: string;
  readonly options: Readonly<Record<string, DatasetOptionSpec>>;
  readonly inputs: { readonly min: number; readonly max: number };
  /** False for a command without a model folder (`dataset-status`); the CLI's dispatcher must then not ask for one. */
  readonly modelFolder?: boolean;
  run(context: DatasetCommandContext): Promise<void>;
}

function integer(values: DatasetOptionValues, name: string, minimum: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < minimum)
    throw new InvalidOptionError(name, `Expected --${name} to be an integer >= ${minimum} but received ${describe(raw)}.`);
  return value;
}

function choice<T extends string>(values: DatasetOptionValues, name: string, table: Readonly<Record<T, unknown>>): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !Object.hasOwn(table, raw))
    throw new InvalidOptionError(name, `Expected --${name} to be one of ${Object.keys(table).join(', ')} but received ${describe(raw)}.`);
  return raw as T;
}

function text(values: DatasetOptionValues, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

function required(values: DatasetOptionValues, name: string, what: string): string {
  const value = text(values, name);
  if (value === undefined) throw new InvalidOptionError(name, `Missing --${name} ${what}.`);
  return value;
}

/** Model loading options from the common `--device`, `--threads` and `--preset`. */
function loadOptions(context: DatasetCommandContext): LoadVaeOptions {
  const threads = integer(context.values, 'threads', 1);
  const device = text(context.values, 'device');
  const preset = text(context.values, 'preset');
  return {
    ...(device === undefined ? {} : { device: device as LoadVaeOptions['device'] & string }),
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    ...(preset === undefined ? {} : { preset }),
    onWarning: (warning) => context.io.stderr.write(`onnx-vae: warning: ${warning.message.replace(/^onnx-vae: /, '')}\n`),
  };
}

/** A progress writer: redrawn in place on a terminal, a line every 2 s elsewhere; off with `--no-progress`. */
function progressWriter(context: DatasetCommandContext): { update(progress: DatasetProgress): void; finish(): void } {
  const stream = context.io.stderr;
  const enabled = context.values['no-progress'] !== true;
  let last = 0;
  let latest: DatasetProgress | null = null;
  let drawn = false;
  const draw = (progress: DatasetProgress): void => {
    stream.write(stream.isTTY ? `\r${formatProgress(progress)}\x1b[K` : `${formatProgress(progress)}\n`);
    drawn = true;
  };
  return {
    update(progress) {
      latest = progress;
      const now = Date.now();
      if (!enabled || now - last < (stream.isTTY ? 200 : 2000)) return;
      last = now;
      draw(progress);
    },
    finish() {
      if (enabled && latest !== null) draw(latest);
      if (drawn && stream.isTTY) stream.write('\n');
    },
  };
}

/** Settings from the command line. */
function settingsOf(values: DatasetOptionValues): EncodeSettingsOptions {
  if (values.sample === true && values.moments === true)
    throw new InvalidOptionError(
      'moments',
      '--sample and --moments exclude each other: --sample stores one posterior draw, --moments the mean and log-variance to draw from.',
    );
  return {
    size: integer(values, 'size', 1),
    fit: choice<Fit>(values, 'fit', FITS),
    minSize: integer(values, 'min-size', 1),
    flip: values.flip === true,
    kind: values.moments === true ? 'moments' : values.sample === true ? 'sample' : 'mean',
    seed: integer(values, 'seed', 0),
    space: values.scaled === true ? 'diffusion' : 'raw',
    dtype: choice<LatentDtype>(values, 'dtype', LATENT_DTYPES),
    format: choice<ShardFormat>(values, 'format', SHARD_FORMATS),
    shardSize: integer(values, 'shard-size', 1),
    batch: integer(values, 'batch', 1),
  };
}

const QUEUE_OPTIONS = Object.freeze({
  queue: { type: 'string', value: 'redis://HOST:PORT[/DB]', description: 'the Redis of the BullMQ queue' },
  name: { type: 'string', value: 'NAME', description: 'queue name, one per dataset (default "dataset")' },
} satisfies Record<string, DatasetOptionSpec>);

/** `onnx-vae encode-dataset <model> <input> -o <out-dir>`. */
export const encodeDatasetCommand: DatasetCommand = {
  summary: 'encode a dataset of images into latent shards (locally, or planned on a BullMQ queue)',
  synopsis:
    'onnx-vae encode-dataset <model> <input> -o <out-dir> [--size S] [--fit crop|resize|pad] [--flip] [--sample | --moments] [--queue redis://HOST:PORT[/DB] [--detach]] [options]',
  details: [
    '<input> is a folder of images (recursive; PNG, JPEG, WebP, AVIF, TIFF, GIF), a text file of image paths, or',
    'WebDataset .tar shards (a .tar, or a folder of them). Each image is brought to SxS (centre crop by default) and',
    'encoded; shards of --shard-size items are written as .safetensors (tensor "latents" [N, C, h, w], keys in the',
    'metadata) or, with --format wds, WebDataset tars of KEY.latent.npy + KEY.json. dataset.json describes the model,',
    'the settings and every shard (items, SHA-256); bad items go to errors.jsonl and never stop the job. A rerun',
    'skips the shards that are complete. With --queue the shards become BullMQ jobs for `onnx-vae worker` processes',
    'on any machine that sees <input> and -o at the same paths; the command follows them unless --detach.',
    'Details: docs/dataset.md.',
  ].join('\n'),
  options: {
    output: { type: 'string', short: 'o', value: 'DIR', description: 'output folder (shared by all workers with --queue)' },
    size: { type: 'string', value: 'S', description: 'images become SxS; a multiple of the spatial factor (default 256)' },
    fit: { type: 'string', value: 'crop|resize|pad', description: 'how: centre crop (default), resize, or pad with white' },
    'min-size': { type: 'string', value: 'N', description: 'images with a shorter side under N are TOO_SMALL errors (default 1)' },
    flip: { type: 'boolean', description: 'also store the latents of the mirrored image ("latents_flip")' },
    sample: { type: 'boolean', description: 'store a posterior sample, seeded per item by --seed and its key (default: the mean)' },
    moments: { type: 'boolean', description: 'store "mean" and "logvar" instead of one latent' },
    seed: { type: 'string', value: 'N', description: 'base seed of --sample (default 0)' },
    scaled: { type: 'boolean', description: 'store diffusion latents (z - shift) * scaling instead of raw ones' },
    dtype: { type: 'string', value: 'float16|float32', description: 'stored element type (default float16)' },
    format: { type: 'string', value: 'safetensors|wds', description: 'shard format (default safetensors)' },
    'shard-size': { type: 'string', value: 'N', description: 'items per shard (default 1000)' },
    batch: { type: 'string', value: 'N', description: 'images per encoder run (default 8)' },
    workers: { type: 'string', value: 'N', description: 'local worker processes, each with the model (default 1)' },
    ...QUEUE_OPTIONS,
    detach: { type: 'boolean', description: 'with --queue: plan and exit without following' },
    attempts: { type: 'string', value: 'N', description: 'with --queue: attempts of a shard job (default 3)' },
  },
  inputs: { min: 1, max: 1 },
  async run(context) {
    const output = required(context.values, 'output', '<out-dir>');
    const settings = settingsOf(context.values);
    const queue = text(context.values, 'queue');
    const name = text(context.values, 'name');
    const progress = progressWriter(context);
    if (queue === undefined) {
      const summary = await encodeDataset(context.model, context.inputs[0]!, {
        ...settings,
        output,
        workers: integer(context.values, 'workers', 1),
        loadOptions: loadOptions(context),
        onProgress: progress.update,
      }).finally(progress.finish);
      context.io.stdout.write(`${formatSummary(summary)}\n`);
      return;
    }
    if (context.values.workers !== undefined)
      throw new InvalidOptionError(
        'workers',
        '--workers starts local worker processes; with --queue, start `onnx-vae worker` processes instead (on any machine).',
      );
    const attempts = integer(context.values, 'attempts', 1);
    const plan = await planDistributed(context.model, context.inputs[0]!, {
      ...settings,
      output,
      queue,
      ...(name === undefined ? {} : { name }),
      ...(attempts === undefined ? {} : { attempts }),
      loadOptions: loadOptions(context),
    });
    context.io.stderr.write(
      plan.alreadyRunning
        ? `onnx-vae: queue "${plan.name}" already runs this dataset; following it.\n`
        : `onnx-vae: planned ${plan.jobs} shard jobs (${plan.complete} shards already complete, ${plan.items} items) on queue "${plan.name}".\n`,
    );
    if (context.values.detach === true) return;
    const summary = await followDataset({ queue, ...(name === undefined ? {} : { name }), onProgress: progress.update }).finally(progress.finish);
    context.io.stdout.write(`${formatSummary(summary)}\n`);
  },
};

/** `onnx-vae worker <model> --queue redis://...`. */
export const workerCommand: DatasetCommand = {
  summary: 'process the shard jobs of a dataset queue (BullMQ) until stopped',
  synopsis: 'onnx-vae worker <model> --queue redis://HOST:PORT[/DB] [--name NAME] [--concurrency N] [options]',
  details: [
    'Loads the model once and encodes shard jobs planned by `onnx-vae encode-dataset ... --queue`, writing to the',
    'output folder given at planning. Run any number of workers on any machines. A job planned with another model',
    'is refused (MODEL_MISMATCH) and the worker stops. SIGINT or SIGTERM: finish the running jobs and stop; a',
    "killed worker's job is retried by another worker once its lock expires (--lock-duration).",
  ].join('\n'),
  options: {
    ...QUEUE_OPTIONS,
    concurrency: { type: 'string', value: 'N', description: 'shard jobs at once in this process (default 1)' },
    'lock-duration': { type: 'string', value: 'MS', description: "job lock; a killed worker's job is retried after it (default 30000)" },
  },
  inputs: { min: 0, max: 0 },
  async run(context) {
    const queue = required(context.values, 'queue', 'redis://HOST:PORT[/DB]');
    const name = text(context.values, 'name');
    const concurrency = integer(context.values, 'concurrency', 1);
    const lockDuration = integer(context.values, 'lock-duration', 100);
    const worker = await startWorker(context.model, {
      queue,
      ...(name === undefined ? {} : { name }),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(lockDuration === undefined ? {} : { lockDuration }),
      loadOptions: loadOptions(context),
      onEvent: (line) => context.io.stderr.write(`onnx-vae worker: ${line}\n`),
    });
    context.io.stderr.write(`onnx-vae worker: ${worker.name} ready on queue "${name ?? 'dataset'}"\n`);
    const stop = (): void => void worker.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await worker.closed;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    const refusal = worker.refusal();
    if (refusal !== null) throw refusal;
  },
};

/** `onnx-vae dataset-status --queue redis://...`. */
export const datasetStatusCommand: DatasetCommand = {
  summary: 'show a dataset queue: shards waiting/active/completed/failed, items/s, workers',
  synopsis: 'onnx-vae dataset-status --queue redis://HOST:PORT[/DB] [--name NAME] [--json]',
  details: 'Reads the BullMQ queue of a dataset planned with `onnx-vae encode-dataset ... --queue`; failed shards are listed with their reasons.',
  options: { ...QUEUE_OPTIONS, json: { type: 'boolean', description: 'print the status as JSON' } },
  inputs: { min: 0, max: 0 },
  modelFolder: false,
  async run(context) {
    const queue = required(context.values, 'queue', 'redis://HOST:PORT[/DB]');
    const name = text(context.values, 'name');
    const status = await datasetStatus({ queue, ...(name === undefined ? {} : { name }) });
    context.io.stdout.write(context.values.json === true ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n`);
  },
};

/** The dataset commands by name, for the `onnx-vae` CLI's COMMANDS table. */
export const DATASET_COMMANDS = Object.freeze({
  'encode-dataset': encodeDatasetCommand,
  worker: workerCommand,
  'dataset-status': datasetStatusCommand,
});
