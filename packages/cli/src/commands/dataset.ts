/**
 * `onnx-vae encode-dataset`, `onnx-vae worker` and `onnx-vae dataset-status`: the command lines of
 * `@onnx-vae/dataset`'s jobs (encode a dataset into latent shards, locally or on a BullMQ queue). The work is that
 * package's public functions; this module only reads the options.
 */
import {
  DATASET_MANIFEST_FILE,
  FITS,
  LATENT_DTYPES,
  SHARD_FORMATS,
  datasetStatus,
  encodeDataset,
  followDataset,
  formatProgress,
  formatStatus,
  formatSummary,
  planDistributed,
  startWorker,
} from '@onnx-vae/dataset';
import type { DatasetProgress, EncodeSettingsOptions } from '@onnx-vae/dataset';
import { join } from 'node:path';
import type { LoadVaeOptions } from '@onnx-vae/node';
import { InvalidOptionError } from '@onnx-vae/node';
import { backendOptions, maxBatch, requiredOption, requiredOutput, showProgress } from '../context.js';
import type { Command, CommandContext } from '../context.js';
import { choiceOption, integerOption, stringOption } from '../options.js';
import type { OptionSpec, OptionValues } from '../options.js';
import { ProgressLine } from '../progress.js';

/** The model loading options of the common `--device`, `--strict`, `--preset`, `--threads` and `--max-batch`. */
function loadOptions(context: CommandContext): LoadVaeOptions {
  return { ...backendOptions(context), maxBatch: maxBatch(context) };
}

/** A dataset job's progress line on stderr, shown as the other commands show their bars. */
function progressWriter(context: CommandContext): { update(progress: DatasetProgress): void; finish(): void } {
  const line = new ProgressLine(context.io.stderr, showProgress(context, Infinity));
  return {
    update: (progress) => line.update(formatProgress(progress), progress.done >= progress.total),
    finish: () => line.finish(),
  };
}

/** Settings from the command line (the package checks them, with the valid values in its messages). */
function settingsOf(values: OptionValues): EncodeSettingsOptions {
  if (values.sample === true && values.moments === true)
    throw new InvalidOptionError(
      'moments',
      '--sample and --moments exclude each other: --sample stores one posterior draw, --moments the mean and log-variance to draw from.',
    );
  return {
    size: integerOption(values, 'size', 1),
    fit: choiceOption(values, 'fit', FITS),
    minSize: integerOption(values, 'min-size', 1),
    flip: values.flip === true,
    kind: values.moments === true ? 'moments' : values.sample === true ? 'sample' : 'mean',
    seed: integerOption(values, 'seed', 0),
    space: values.scaled === true ? 'diffusion' : 'raw',
    dtype: choiceOption(values, 'dtype', LATENT_DTYPES),
    format: choiceOption(values, 'format', SHARD_FORMATS),
    shardSize: integerOption(values, 'shard-size', 1),
    batch: integerOption(values, 'batch', 1),
  };
}

/** `--queue` and `--name`, as the queue functions take them. */
function queueOf(context: CommandContext): { queue: string; name?: string } {
  const queue = requiredOption(context, 'queue', 'redis://HOST:PORT[/DB]');
  const name = stringOption(context.values, 'name');
  return { queue, ...(name === undefined ? {} : { name }) };
}

const QUEUE_OPTIONS = Object.freeze({
  queue: { type: 'string', value: 'redis://HOST:PORT[/DB]', description: 'the Redis of the BullMQ queue' },
  name: { type: 'string', value: 'NAME', description: 'queue name, one per dataset (default "dataset")' },
} satisfies Record<string, OptionSpec>);

/** `onnx-vae encode-dataset <model> <input> -o <out-dir>`. */
export const encodeDatasetCommand: Command = {
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
    const output = requiredOutput(context, 'out-dir');
    const settings = settingsOf(context.values);
    const input = context.inputs[0]!;
    const progress = progressWriter(context);
    const wrote = `onnx-vae: wrote ${join(output, DATASET_MANIFEST_FILE)}: `;
    if (context.values.queue === undefined) {
      const workers = integerOption(context.values, 'workers', 1);
      const summary = await encodeDataset(context.model, input, {
        ...settings,
        output,
        workers,
        loadOptions: loadOptions(context),
        onProgress: progress.update,
      }).finally(progress.finish);
      context.io.stdout.write(`${wrote}${formatSummary(summary)}\n`);
      return;
    }
    const queue = queueOf(context);
    if (context.values.workers !== undefined)
      throw new InvalidOptionError(
        'workers',
        '--workers starts local worker processes; with --queue, start `onnx-vae worker` processes instead (on any machine).',
      );
    const attempts = integerOption(context.values, 'attempts', 1);
    const plan = await planDistributed(context.model, input, {
      ...settings,
      output,
      ...queue,
      ...(attempts === undefined ? {} : { attempts }),
      loadOptions: loadOptions(context),
    });
    context.io.stdout.write(
      plan.alreadyRunning
        ? `onnx-vae: queue "${plan.name}" already runs this dataset; following it.\n`
        : `onnx-vae: planned ${plan.jobs} shard jobs (${plan.complete} shards already complete, ${plan.items} items) on queue "${plan.name}".\n`,
    );
    if (context.values.detach === true) return;
    const summary = await followDataset({ ...queue, onProgress: progress.update }).finally(progress.finish);
    context.io.stdout.write(`${wrote}${formatSummary(summary)}\n`);
  },
};

/** `onnx-vae worker <model> --queue redis://...`. */
export const workerCommand: Command = {
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
    const queue = queueOf(context);
    const concurrency = integerOption(context.values, 'concurrency', 1);
    const lockDuration = integerOption(context.values, 'lock-duration', 100);
    const worker = await startWorker(context.model, {
      ...queue,
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(lockDuration === undefined ? {} : { lockDuration }),
      loadOptions: loadOptions(context),
      onEvent: (line) => context.io.stderr.write(`onnx-vae worker: ${line}\n`),
    });
    context.io.stderr.write(`onnx-vae worker: ${worker.name} ready on queue "${queue.name ?? 'dataset'}"\n`);
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
export const datasetStatusCommand: Command = {
  summary: 'show a dataset queue: shards waiting/active/completed/failed, items/s, workers',
  synopsis: 'onnx-vae dataset-status --queue redis://HOST:PORT[/DB] [--name NAME] [--json]',
  details: 'Reads the BullMQ queue of a dataset planned with `onnx-vae encode-dataset ... --queue`; failed shards are listed with their reasons.',
  options: { ...QUEUE_OPTIONS, json: { type: 'boolean', description: 'print the status as JSON' } },
  inputs: { min: 0, max: 0 },
  model: 'none',
  async run(context) {
    const status = await datasetStatus(queueOf(context));
    context.io.stdout.write(context.values.json === true ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n`);
  },
};
