/**
 * Distributed dataset encoding on BullMQ. Planning adds one flow to a queue (FlowProducer): a parent job `finalize`
 * (writes `dataset.json`) whose children are the shard jobs, one per output shard with its input list. Workers
 * (`startWorker`, any number of processes and machines) load the model once and process both kinds of job. Fault
 * tolerance is BullMQ's: a killed worker's job is found stalled when its lock expires and is retried by another
 * worker; failed attempts retry with exponential backoff; a shard that keeps failing ends in the failed set and, with
 * `ignoreDependencyOnFailure`, still lets `finalize` run and list it as incomplete. Shard writes are atomic and
 * idempotent (shard.ts), so a retried or duplicated job leaves one shard.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import { BackendError, InvalidOptionError, describe } from '@onnx-vae/core';
import type { VaeError } from '@onnx-vae/core';
import type { LoadVaeOptions } from '@onnx-vae/node';
import type { ItemError } from './item-errors.js';
import { writeDatasetManifest } from './manifest.js';
import type { DatasetSpec, PlannedShard } from './manifest.js';
import { planDataset } from './plan.js';
import { ProgressTracker } from './progress.js';
import type { DatasetProgress } from './progress.js';
import { createShardRunner, modelMismatch } from './shard-runner.js';
import type { ShardRunner } from './shard-runner.js';
import type { EncodeSettingsOptions } from './settings.js';
import { completeShard } from './shard.js';
import type { ShardTask } from './shard.js';
import type { DatasetSummary } from './encode-dataset.js';

/** Key prefix of every onnx-vae queue in Redis. */
export const QUEUE_PREFIX = 'onnx-vae';
/** Queue name when none is given. */
export const DEFAULT_QUEUE_NAME = 'dataset';
/** Job names in a dataset queue. */
export const JOB_NAMES = Object.freeze({ shard: 'shard', finalize: 'finalize' } as const);
/** The id of the finalize job (one flow per queue name). */
export const FINALIZE_JOB_ID = 'finalize';

/** Data of a shard job: its input list, and everything that decides its bytes. */
export interface ShardJobData {
  readonly task: ShardTask;
  readonly spec: DatasetSpec;
  /** The shared output folder. */
  readonly out: string;
}

/** Data of the finalize job. */
export interface FinalizeJobData {
  readonly spec: DatasetSpec;
  readonly out: string;
  readonly shards: readonly PlannedShard[];
  readonly planErrors: readonly ItemError[];
  /** Ids of the shard jobs (shards complete before planning have none). */
  readonly jobs: readonly string[];
}

/** What a shard job returns. */
export interface ShardJobResult {
  readonly file: string;
  readonly items: number;
  readonly errors: number;
  readonly skipped: boolean;
  readonly seconds: number;
  readonly worker: string;
}

/** What the finalize job returns. */
export interface FinalizeJobResult {
  readonly items: number;
  readonly errors: number;
  readonly shards: number;
  readonly incomplete: readonly { readonly file: string; readonly reason: string }[];
}

/** The connection of a queue URL. */
export interface QueueLocation {
  readonly connection: ConnectionOptions;
  readonly name: string;
  readonly prefix: string;
}

/**
 * Parses `redis://[user:password@]HOST:PORT[/DB]` (or `rediss://` for TLS) and a queue name.
 *
 * @throws {@link InvalidOptionError} `INVALID_OPTION` for another URL or a name with characters other than
 *   letters, digits, `-`, `_` and `.`
 */
export function queueLocation(url: string, name: string = DEFAULT_QUEUE_NAME): QueueLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError('queue', `Expected --queue to be a Redis URL like redis://127.0.0.1:6379/0 but received ${describe(url)}.`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidOptionError('queue', `Expected --queue to be a Redis URL (redis:// or rediss://) but received ${describe(url)}.`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new InvalidOptionError('name', `Expected --name to be letters, digits, "-", "_" and "." but received ${describe(name)}.`);
  }
  // Workers block on Redis, so ioredis must not give up on a command (BullMQ's requirement for Worker connections).
  return { connection: { url, maxRetriesPerRequest: null }, name, prefix: QUEUE_PREFIX };
}

const CONNECT_TIMEOUT_MS = 10_000;

/** Opens a queue, failing with a clear error when Redis cannot be reached. */
async function openQueue(location: QueueLocation, url: string): Promise<Queue> {
  const queue = new Queue(location.name, { connection: location.connection, prefix: location.prefix });
  queue.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      queue.waitUntilReady(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new BackendError(
                'BACKEND_UNAVAILABLE',
                `Cannot reach Redis at ${url} within ${CONNECT_TIMEOUT_MS / 1000}s; start redis-server there, or check --queue.`,
              ),
            ),
          CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    await queue.close().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return queue;
}

/** The job id of a shard: its file name without the extension. */
export function shardJobId(file: string): string {
  return file.replace(/\.[^.]+$/, '');
}

/** Options of {@link planDistributed}. */
export interface PlanDistributedOptions extends EncodeSettingsOptions {
  /** The output folder every worker can write (a shared file system). */
  readonly output: string;
  /** `redis://HOST:PORT[/DB]`. */
  readonly queue: string;
  /** Queue name, one per dataset. Default `"dataset"`. */
  readonly name?: string;
  /** Attempts of a shard job before it fails for good. Default 3. */
  readonly attempts?: number;
  /** First retry delay; doubled on each retry. Default 1000 ms. */
  readonly backoffMs?: number;
  /** Loading options of the model (the planner reads its manifest and hashes it). */
  readonly loadOptions?: LoadVaeOptions;
}

/** What planning did. */
export interface DistributedPlan {
  readonly name: string;
  /** Shard jobs added. */
  readonly jobs: number;
  /** Shards already complete on disk (no job). */
  readonly complete: number;
  /** Items planned in all shards. */
  readonly items: number;
  /** True when the queue already held a running flow for this name, which is followed instead. */
  readonly alreadyRunning: boolean;
}

/**
 * Plans a dataset into a BullMQ queue: one shard job per output shard not yet complete on disk, under a `finalize`
 * parent. A queue whose earlier flow finished is emptied first (its shards on disk are kept and skipped); a queue
 * whose flow is still running is left to it.
 *
 * @param model - the model folder (its fingerprint goes into every job)
 * @param input - see `listDatasetInputs`; paths are made absolute, so workers must see them at the same paths
 * @param options - `output`, `queue`, `name`, `attempts`, `backoffMs`, and the settings of `encodeDataset`
 * @throws {@link InvalidOptionError}; {@link BackendError} `BACKEND_UNAVAILABLE` when Redis cannot be reached
 */
export async function planDistributed(model: string, input: string, options: PlanDistributedOptions): Promise<DistributedPlan> {
  const location = queueLocation(options.queue, options.name);
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 1000;
  if (!Number.isSafeInteger(attempts) || attempts < 1)
    throw new InvalidOptionError('attempts', `Expected "attempts" to be a positive integer but received ${describe(options.attempts)}.`);
  const out = resolve(options.output);
  const runner = await createShardRunner(model, options.loadOptions);
  let plan;
  try {
    plan = await planDataset(runner.vae, model, input, options);
  } finally {
    await runner.dispose();
  }
  const items = plan.tasks.reduce((sum, task) => sum + task.items.length, 0);
  const queue = await openQueue(location, options.queue);
  try {
    const existing = await queue.getJob(FINALIZE_JOB_ID);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed') return { name: location.name, jobs: 0, complete: 0, items, alreadyRunning: true };
      await queue.obliterate({ force: true });
    }
    const pending: ShardTask[] = [];
    for (const [i, task] of plan.tasks.entries()) {
      if ((await completeShard(out, task.file, plan.shards[i]!.planHash)) === null) pending.push(task);
    }
    const flow = new FlowProducer({ connection: location.connection, prefix: location.prefix });
    try {
      await flow.add({
        name: JOB_NAMES.finalize,
        queueName: location.name,
        data: {
          spec: plan.spec,
          out,
          shards: plan.shards,
          planErrors: plan.planErrors,
          jobs: pending.map((task) => shardJobId(task.file)),
        } satisfies FinalizeJobData,
        opts: { jobId: FINALIZE_JOB_ID, attempts, backoff: { type: 'exponential', delay: backoffMs } },
        children: pending.map((task) => ({
          name: JOB_NAMES.shard,
          queueName: location.name,
          data: { task, spec: plan.spec, out } satisfies ShardJobData,
          opts: { jobId: shardJobId(task.file), attempts, backoff: { type: 'exponential', delay: backoffMs }, ignoreDependencyOnFailure: true },
        })),
      });
    } finally {
      await flow.close();
    }
    return { name: location.name, jobs: pending.length, complete: plan.tasks.length - pending.length, items, alreadyRunning: false };
  } finally {
    await queue.close();
  }
}

/** Options of {@link startWorker}. */
export interface StartWorkerOptions {
  /** `redis://HOST:PORT[/DB]`. */
  readonly queue: string;
  /** Queue name. Default `"dataset"`. */
  readonly name?: string;
  /** Shard jobs at once in this process (sharing one model). Default 1. */
  readonly concurrency?: number;
  /**
   * How long a job's lock lasts without renewal (BullMQ renews it at half this while the worker lives). A killed
   * worker's job is retried this long after it died. Default 30000 ms.
   */
  readonly lockDuration?: number;
  /** Loading options of the model. */
  readonly loadOptions?: LoadVaeOptions;
  /** Told what the worker does, one line each (job done, job failed, refused). */
  readonly onEvent?: (line: string) => void;
}

/** A running worker. */
export interface DatasetWorker {
  /** The BullMQ worker. */
  readonly worker: Worker;
  /** Its name, as `dataset-status` lists it: `HOST:PID`. */
  readonly name: string;
  /** Resolves when the worker has stopped: after {@link DatasetWorker.close}, or after it refused a job. */
  readonly closed: Promise<void>;
  /** The `MODEL_MISMATCH` error when the worker stopped because a job was planned for another model. */
  readonly refusal: () => VaeError | null;
  /** Stops taking jobs, waits for the running ones, releases the model. */
  close(): Promise<void>;
}

async function finalize(job: Job<FinalizeJobData>, queue: Queue): Promise<FinalizeJobResult> {
  const { spec, out, shards, planErrors } = job.data;
  const failures = new Map<string, string>();
  for (const shard of shards) {
    const child = await queue.getJob(shardJobId(shard.file));
    if (child?.failedReason) failures.set(shard.file, child.failedReason);
  }
  const manifest = await writeDatasetManifest(out, spec, shards, planErrors, failures);
  return {
    items: manifest.items,
    errors: manifest.errors,
    shards: shards.length,
    incomplete: manifest.incomplete.map(({ file, reason }) => ({ file, reason })),
  };
}

/**
 * Starts a worker: loads the model once and processes the queue's shard and finalize jobs until closed. A job
 * planned for another model is refused with `MODEL_MISMATCH` (the attempt fails, so a worker with the right model
 * retries it), and the worker then stops, so it cannot use up the attempts of every job.
 *
 * @param model - the model folder
 * @param options - `queue`, `name`, `concurrency`, `lockDuration`, `loadOptions`, `onEvent`
 * @throws the errors of `loadVae`; {@link BackendError} `BACKEND_UNAVAILABLE` when Redis cannot be reached
 * @example
 * const worker = await startWorker('models/kl-f8', { queue: 'redis://10.0.0.5:6379/0', concurrency: 1 });
 * process.on('SIGTERM', () => void worker.close());
 * await worker.closed;
 */
export async function startWorker(model: string, options: StartWorkerOptions): Promise<DatasetWorker> {
  const location = queueLocation(options.queue, options.name);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new InvalidOptionError('concurrency', `Expected "concurrency" to be a positive integer but received ${describe(options.concurrency)}.`);
  const lockDuration = options.lockDuration ?? 30_000;
  const queue = await openQueue(location, options.queue);
  let runner: ShardRunner;
  try {
    runner = await createShardRunner(model, options.loadOptions);
  } catch (error) {
    await queue.close();
    throw error;
  }
  const name = `${hostname()}:${process.pid}`;
  const say = options.onEvent ?? (() => undefined);
  let refusal: VaeError | null = null;
  let closing: Promise<void> | null = null;
  const worker = new Worker<ShardJobData | FinalizeJobData, ShardJobResult | FinalizeJobResult>(
    location.name,
    async (job) => {
      if (job.name === JOB_NAMES.finalize) return finalize(job as Job<FinalizeJobData>, queue);
      const { task, spec, out } = job.data as ShardJobData;
      const mismatch = modelMismatch(runner.identity, spec);
      if (mismatch !== null) {
        refusal = mismatch;
        say(`refused ${task.file}: [${mismatch.code}] ${mismatch.message}`);
        void close();
        throw new Error(`[${mismatch.code}] ${mismatch.message}`);
      }
      const started = performance.now();
      const { record, skipped } = await runner.run(task, spec, out, {
        onProgress: (p) => job.updateProgress({ done: p.done, errors: p.errors, total: p.total }),
      });
      return { file: task.file, items: record.items, errors: record.errors.length, skipped, seconds: (performance.now() - started) / 1000, worker: name };
    },
    {
      connection: location.connection,
      prefix: location.prefix,
      concurrency,
      lockDuration,
      stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
      maxStalledCount: 2,
      name,
    },
  );
  worker.on('error', (error) => say(`queue error: ${error.message}`));
  worker.on('completed', (job, result) => {
    if (job.name === JOB_NAMES.shard) {
      const r = result as ShardJobResult;
      say(`${r.file}: ${r.skipped ? 'already complete' : `${r.items} items, ${r.errors} errors, ${r.seconds.toFixed(1)}s`}`);
    } else say('finalize: dataset.json written');
  });
  worker.on('failed', (job, error) => {
    if (job && refusal === null) say(`${job.id} failed (attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1}): ${error.message}`);
  });
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await worker.close();
      await queue.close();
      await runner.dispose();
      closedResolve();
    })();
    return closing;
  };
  await worker.waitUntilReady();
  return { worker, name, closed, refusal: () => refusal, close };
}

/** Options of {@link followDataset}. */
export interface FollowOptions {
  readonly queue: string;
  readonly name?: string;
  /** Called on every progress event. */
  readonly onProgress?: (progress: DatasetProgress) => void;
}

/**
 * Follows a planned dataset until its `finalize` job is done, summing the shard jobs' progress events.
 *
 * @returns the summary (what `dataset.json` says, items/s over the follow time, failed shards with reasons)
 * @throws {@link InvalidOptionError} when the queue holds no planned dataset; the finalize job's failure
 */
export async function followDataset(options: FollowOptions): Promise<Omit<DatasetSummary, 'manifest'>> {
  const location = queueLocation(options.queue, options.name);
  const queue = await openQueue(location, options.queue);
  const events = new QueueEvents(location.name, { connection: location.connection, prefix: location.prefix });
  events.on('error', () => undefined);
  try {
    await events.waitUntilReady();
    const parent = await queue.getJob(FINALIZE_JOB_ID);
    if (!parent)
      throw new InvalidOptionError(
        'name',
        `The queue "${location.name}" at ${options.queue} holds no planned dataset; plan one with onnx-vae encode-dataset ... --queue.`,
      );
    const data = parent.data as FinalizeJobData;
    const total = data.shards.reduce((sum, shard) => sum + shard.planned, 0);
    const tracker = new ProgressTracker(total, data.shards.length);
    const planned = new Map(data.shards.map((shard) => [shardJobId(shard.file), shard]));
    const skipped = new Set<string>();
    const report = (): void => options.onProgress?.(tracker.snapshot());
    // Shards complete before planning have no job; count them as done.
    const jobs = new Set(data.jobs);
    for (const [id, shard] of planned) {
      if (!jobs.has(id)) {
        tracker.finish(shard.file, shard.planned, 0, true);
        skipped.add(shard.file);
      }
    }
    events.on('progress', ({ jobId, data: progress }) => {
      const shard = planned.get(jobId);
      const p = progress as { done?: number; errors?: number };
      if (shard && typeof p.done === 'number') {
        tracker.update(shard.file, p.done, p.errors ?? 0);
        report();
      }
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      const shard = planned.get(jobId);
      if (!shard) return;
      const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ShardJobResult;
      if (r.skipped) skipped.add(shard.file);
      tracker.finish(shard.file, shard.planned, shard.planned - r.items, r.skipped);
      report();
    });
    events.on('failed', async ({ jobId }) => {
      const shard = planned.get(jobId);
      if (!shard) return;
      const job = await queue.getJob(jobId);
      if (job && (await job.getState()) === 'failed') {
        tracker.finish(shard.file, shard.planned, shard.planned);
        report();
      }
    });
    // Jobs that finished before we listened (states first: fetching a job fetches its input list).
    for (const id of jobs) {
      const state = await queue.getJobState(id);
      if (state !== 'completed' && state !== 'failed') continue;
      const job = await queue.getJob(id);
      const shard = planned.get(id)!;
      if (state === 'completed' && job?.returnvalue) {
        const r = job.returnvalue as ShardJobResult;
        if (r.skipped) skipped.add(shard.file);
        tracker.finish(shard.file, shard.planned, shard.planned - r.items, true);
      } else tracker.finish(shard.file, shard.planned, shard.planned);
    }
    report();
    const result = (await parent.waitUntilFinished(events)) as FinalizeJobResult;
    const final = tracker.snapshot();
    return {
      items: result.items,
      errors: result.errors,
      shards: result.shards,
      skippedShards: skipped.size,
      failedShards: result.incomplete,
      seconds: final.seconds,
      itemsPerSecond: final.itemsPerSecond,
    };
  } finally {
    await events.close();
    await queue.close();
  }
}

const RECENT_JOBS = 200;

/** What `dataset-status` shows. */
export interface DatasetStatus {
  readonly name: string;
  /** Shard jobs by state. */
  readonly shards: { readonly waiting: number; readonly active: number; readonly completed: number; readonly failed: number; readonly delayed: number };
  /** State of the finalize job, or `null` when nothing is planned. */
  readonly finalize: string | null;
  /** Items stored per second by the most recent completed shard jobs (up to 200; first start to last finish). */
  readonly itemsPerSecond: number;
  /** Items stored by those jobs. */
  readonly items: number;
  /** Workers connected to the queue now. */
  readonly workers: readonly string[];
  /** Failed shard jobs with their reasons (up to 200). */
  readonly failed: readonly { readonly id: string; readonly reason: string; readonly attempts: number }[];
}

/**
 * The state of a dataset queue.
 *
 * @throws {@link BackendError} `BACKEND_UNAVAILABLE` when Redis cannot be reached
 */
export async function datasetStatus(options: { readonly queue: string; readonly name?: string }): Promise<DatasetStatus> {
  const location = queueLocation(options.queue, options.name);
  const queue = await openQueue(location, options.queue);
  try {
    const parent = await queue.getJob(FINALIZE_JOB_ID);
    const finalizeState = parent ? await parent.getState() : null;
    const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
    // Every count but the finalize job's own state is shard jobs.
    const shardCount = (state: string, ...names: string[]): number =>
      names.reduce((sum, name) => sum + (counts[name] ?? 0), 0) - (finalizeState === state ? 1 : 0);
    // The rate from the most recent completed shard jobs (fetching every job would fetch every input list).
    const recent = (await queue.getJobs(['completed'], 0, RECENT_JOBS - 1, false)).filter((job) => job.name === JOB_NAMES.shard);
    let items = 0;
    let first = Infinity;
    let last = 0;
    for (const job of recent) {
      const r = job.returnvalue as ShardJobResult;
      if (r.skipped) continue;
      items += r.items;
      first = Math.min(first, job.processedOn ?? Infinity);
      last = Math.max(last, job.finishedOn ?? 0);
    }
    const failedJobs = (await queue.getJobs(['failed'], 0, RECENT_JOBS - 1)).filter((job) => job.name === JOB_NAMES.shard);
    const workers = (await queue.getWorkers()).map((w) => String(w.name ?? w.rawname ?? w.addr ?? '?'));
    return {
      name: location.name,
      shards: {
        waiting: shardCount('waiting', 'waiting', 'prioritized'),
        active: shardCount('active', 'active'),
        completed: shardCount('completed', 'completed'),
        failed: shardCount('failed', 'failed'),
        delayed: shardCount('delayed', 'delayed'),
      },
      finalize: finalizeState,
      itemsPerSecond: last > first ? (items * 1000) / (last - first) : 0,
      items,
      workers,
      failed: failedJobs.map((job) => ({ id: job.id ?? '?', reason: job.failedReason, attempts: job.attemptsMade })),
    };
  } finally {
    await queue.close();
  }
}

/** `dataset-status` as text. */
export function formatStatus(status: DatasetStatus): string {
  const s = status.shards;
  const lines = [
    `dataset queue "${status.name}": ${status.finalize === null ? 'nothing planned' : `finalize ${status.finalize}`}`,
    `shards: ${s.waiting} waiting, ${s.delayed} delayed (retry backoff), ${s.active} active, ${s.completed} completed, ${s.failed} failed`,
    `recent shards: ${status.items} items stored, ${status.itemsPerSecond.toFixed(1)} items/s`,
    `workers (${status.workers.length}): ${status.workers.join(', ') || 'none connected'}`,
  ];
  for (const failed of status.failed) lines.push(`failed ${failed.id} after ${failed.attempts} attempts: ${failed.reason}`);
  return lines.join('\n');
}
