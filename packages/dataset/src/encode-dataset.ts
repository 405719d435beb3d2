/**
 * `encodeDataset`: a dataset's images to latent shards on this machine, in this process or in N worker processes;
 * resumable, bad items recorded, `dataset.json` at the end.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdir } from 'node:fs/promises';
import { InvalidOptionError, describe } from '@onnx-vae/core';
import type { LoadVaeOptions } from '@onnx-vae/node';
import type { TaskMessage, WorkerMessage } from './local-worker.js';
import { writeDatasetManifest } from './manifest.js';
import type { DatasetManifest, DatasetSpec } from './manifest.js';
import { planDataset } from './plan.js';
import { ProgressTracker } from './progress.js';
import type { DatasetProgress } from './progress.js';
import { createShardRunner } from './shard-runner.js';
import type { EncodeSettingsOptions } from './settings.js';
import type { ShardTask } from './shard.js';

/** Options of {@link encodeDataset}. */
export interface EncodeDatasetOptions extends EncodeSettingsOptions {
  /** The output folder (created when missing). */
  readonly output: string;
  /** Worker processes, each with its own copy of the model. Default 1: encode in this process. */
  readonly workers?: number;
  /**
   * Model loading options. With several workers, `intraOpNumThreads` defaults to the cores divided among them.
   */
  readonly loadOptions?: LoadVaeOptions;
  /** Called after each batch of any shard. */
  readonly onProgress?: (progress: DatasetProgress) => void;
}

/** The end of a dataset job. */
export interface DatasetSummary {
  /** Items stored. */
  readonly items: number;
  /** Items in `errors.jsonl`. */
  readonly errors: number;
  /** Shards planned. */
  readonly shards: number;
  /** Shards that were already complete. */
  readonly skippedShards: number;
  /** Shards that failed, with the reason. */
  readonly failedShards: readonly { readonly file: string; readonly reason: string }[];
  /** Seconds of the run. */
  readonly seconds: number;
  /** Items handled per second in this run. */
  readonly itemsPerSecond: number;
  /** What was written to `dataset.json`. */
  readonly manifest: DatasetManifest;
}

/** The path of a built script of this package, also when this module runs from its TypeScript sources (tests). @internal */
export function builtScript(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here.replace(/([\\/])src$/, '$1dist'), name);
}

interface ShardEvents {
  progress(file: string, done: number, errors: number): void;
  finished(file: string, items: number, errors: number, skipped: boolean): void;
  failed(file: string, reason: string): void;
}

async function runInProcess(
  model: string,
  loadOptions: LoadVaeOptions,
  tasks: readonly ShardTask[],
  spec: DatasetSpec,
  out: string,
  events: ShardEvents,
): Promise<void> {
  const runner = await createShardRunner(model, loadOptions);
  try {
    for (const task of tasks) {
      try {
        const { record, skipped } = await runner.run(task, spec, out, { onProgress: (p) => events.progress(task.file, p.done, p.errors) });
        events.finished(task.file, task.items.length, record.errors.length, skipped);
      } catch (error) {
        events.failed(task.file, (error as Error).message);
      }
    }
  } finally {
    await runner.dispose();
  }
}

async function runInWorkers(
  workers: number,
  model: string,
  loadOptions: LoadVaeOptions,
  tasks: readonly ShardTask[],
  spec: DatasetSpec,
  out: string,
  events: ShardEvents,
): Promise<void> {
  const queue = [...tasks];
  const script = builtScript('local-worker.js');
  const threads = loadOptions.intraOpNumThreads ?? Math.max(1, Math.floor(availableParallelism() / workers));
  const options = { ...loadOptions, intraOpNumThreads: threads };
  delete (options as { onWarning?: unknown }).onWarning;
  const one = (): Promise<void> =>
    new Promise((resolvePromise) => {
      const child = fork(script, [model, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let current: ShardTask | undefined;
      const next = (): void => {
        current = queue.shift();
        if (current === undefined) child.send({ type: 'exit' });
        else child.send({ type: 'task', task: current, spec, out } satisfies TaskMessage);
      };
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') next();
        else if (message.type === 'progress') events.progress(message.file, message.done, message.errors);
        else if (message.type === 'done') {
          events.finished(message.file, message.items, message.errors, message.skipped);
          next();
        } else {
          events.failed(message.file, message.message);
          next();
        }
      });
      child.on('exit', (code, signal) => {
        if (current !== undefined) {
          events.failed(current.file, `worker process exited (${signal ?? `code ${code}`}) while encoding it`);
          current = undefined;
        }
        resolvePromise();
      });
    });
  await Promise.all(Array.from({ length: Math.min(workers, tasks.length) }, one));
  // Every worker process died (e.g. it could not start): what is left is not lost silently.
  for (const task of queue.splice(0)) events.failed(task.file, `no worker process was left to encode it (${script} must exist: build with tsc -b)`);
}

/**
 * Encodes a dataset of images to latent shards in an output folder: `shard-NNNNN.safetensors` (or `.tar` with
 * `format: 'wds'`), `records/`, `errors.jsonl` and `dataset.json` (docs/dataset.md). A rerun skips shards that are
 * complete and verify; bad items are recorded and never stop the job.
 *
 * @param model - the model folder
 * @param input - a folder of images, a text file of image paths, or WebDataset `.tar` shards
 * @param options - `output`, the settings (`size` 256, `fit` `'crop'`, `flip`, `kind` `'mean'` | `'sample'` |
 *   `'moments'`, `seed` 0, `space` `'raw'` | `'diffusion'`, `dtype` `'float16'`, `format` `'safetensors'` | `'wds'`,
 *   `shardSize` 1000, `batch` 8, `minSize` 1), `workers` (default 1), `loadOptions`, `onProgress`
 * @returns the summary, with the manifest written
 * @throws {@link InvalidOptionError} for bad options or inputs; the errors of `loadVae`
 * @example
 * const summary = await encodeDataset('models/kl-f8', 'photos/', { output: 'latents/', size: 256, flip: true });
 * console.log(`${summary.items} items, ${summary.itemsPerSecond.toFixed(1)} items/s`);
 */
export async function encodeDataset(model: string, input: string, options: EncodeDatasetOptions): Promise<DatasetSummary> {
  const workers = options.workers ?? 1;
  if (!Number.isSafeInteger(workers) || workers < 1)
    throw new InvalidOptionError('workers', `Expected "workers" to be a positive integer but received ${describe(options.workers)}.`);
  if (typeof options.output !== 'string' || options.output.length === 0)
    throw new InvalidOptionError('output', `Expected "output" to be the output folder but received ${describe(options.output)}.`);
  const out = resolve(options.output);
  const loadOptions = options.loadOptions ?? {};
  const planner = await createShardRunner(model, loadOptions);
  let plan;
  try {
    plan = await planDataset(planner.vae, model, input, options);
  } finally {
    await planner.dispose();
  }
  await mkdir(out, { recursive: true });
  const total = plan.tasks.reduce((sum, task) => sum + task.items.length, 0);
  const tracker = new ProgressTracker(total, plan.tasks.length);
  const failures = new Map<string, string>();
  let skippedShards = 0;
  const events: ShardEvents = {
    progress: (file, done, errors) => {
      tracker.update(file, done, errors);
      options.onProgress?.(tracker.snapshot());
    },
    finished: (file, items, errors, skipped) => {
      if (skipped) skippedShards++;
      tracker.finish(file, items, errors, skipped);
      options.onProgress?.(tracker.snapshot());
    },
    failed: (file, reason) => {
      failures.set(file, reason);
      const planned = plan.tasks.find((task) => task.file === file)?.items.length ?? 0;
      tracker.finish(file, planned, planned);
      options.onProgress?.(tracker.snapshot());
    },
  };
  if (workers === 1) await runInProcess(model, loadOptions, plan.tasks, plan.spec, out, events);
  else await runInWorkers(workers, resolve(model), loadOptions, plan.tasks, plan.spec, out, events);
  const manifest = await writeDatasetManifest(out, plan.spec, plan.shards, plan.planErrors, failures);
  const final = tracker.snapshot();
  return {
    items: manifest.items,
    errors: manifest.errors,
    shards: plan.tasks.length,
    skippedShards,
    failedShards: [...failures].map(([file, reason]) => ({ file, reason })),
    seconds: final.seconds,
    itemsPerSecond: final.itemsPerSecond,
    manifest,
  };
}

/** One line summing up a job: `1000 items in 1 shards (0 skipped), 3 errors, 12.3s, 81.3 items/s`. */
export function formatSummary(
  summary: Pick<DatasetSummary, 'items' | 'errors' | 'shards' | 'skippedShards' | 'failedShards' | 'seconds' | 'itemsPerSecond'>,
): string {
  const lines = [
    `${summary.items} items in ${summary.shards} shards (${summary.skippedShards} already complete), ${summary.errors} errors, ${summary.seconds.toFixed(1)}s, ${summary.itemsPerSecond.toFixed(1)} items/s`,
  ];
  for (const failed of summary.failedShards) lines.push(`failed shard ${failed.file}: ${failed.reason}`);
  return lines.join('\n');
}
