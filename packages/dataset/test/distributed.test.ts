/**
 * Distributed mode on BullMQ against a private redis-server: 3 worker processes write what a local run writes; a
 * worker killed with SIGKILL mid-shard loses its lock and another finishes the job, every item exactly once; a shard
 * job delivered twice at once leaves one shard; a worker with another model refuses with MODEL_MISMATCH and the
 * failed shard shows in the summary with its reason.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { decodeSafetensors } from '@onnx-vae/core';
import { FINALIZE_JOB_ID, QUEUE_PREFIX, datasetStatus, encodeDataset, followDataset, formatStatus, planDistributed, startWorker } from '../src/index';
import type { DatasetManifest, ShardJobData } from '../src/index';
import { KL_F8, MNIST, REDIS_SERVER, makeImageFolder, startCli, startRedis, stopProcess, waitFor } from './helpers';
import type { CliProcess, RedisServer } from './helpers';

const available = existsSync(REDIS_SERVER);
if (!available) console.warn(`skipped the distributed tests: ${REDIS_SERVER} is not installed (apt-get install redis-server)`);
const describeWithRedis = available ? describe : describe.skip;

const LOAD = { loadOptions: { intraOpNumThreads: 1 } };
let dir: string;
let images: string;
let redis: RedisServer;
const workers: CliProcess[] = [];

function worker(model: string, name: string, lockMs = 3000): CliProcess {
  const started = startCli(['worker', model, '--queue', redis.url, '--name', name, '--lock-duration', String(lockMs)]);
  workers.push(started);
  return started;
}

function queueOf(name: string): Queue {
  return new Queue(name, { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
}

async function manifestOf(out: string): Promise<DatasetManifest> {
  return JSON.parse(await readFile(join(out, 'dataset.json'), 'utf8')) as DatasetManifest;
}

async function keysOf(out: string, manifest: DatasetManifest): Promise<string[]> {
  const keys: string[] = [];
  for (const shard of manifest.shards) keys.push(...(JSON.parse(decodeSafetensors(await readFile(join(out, shard.file))).metadata.keys!) as string[]));
  return keys;
}

describeWithRedis('encode-dataset on BullMQ', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-distributed-'));
    images = join(dir, 'images');
    await makeImageFolder(images, 12, true);
    redis = await startRedis();
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => stopProcess(w.child)));
  });

  afterAll(async () => {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('3 worker processes write what the local run writes; dataset-status lists them', async () => {
    const local = join(dir, 'local');
    const shared = join(dir, 'shared');
    const settings = ['--size', '32', '--shard-size', '3', '--min-size', '8'];
    const reference = await encodeDataset(KL_F8, images, { output: local, size: 32, shardSize: 3, minSize: 8, ...LOAD });
    const three = [worker(KL_F8, 'three'), worker(KL_F8, 'three'), worker(KL_F8, 'three')];
    await waitFor('3 workers ready', () => three.every((w) => w.output().includes('ready')), 60_000);
    const planner = startCli(['encode-dataset', KL_F8, images, '-o', shared, ...settings, '--queue', redis.url, '--name', 'three']);
    expect(await planner.exited).toBe(0);
    expect(planner.output()).toContain(
      `onnx-vae: planned 5 shard jobs (0 shards already complete, ${reference.items + reference.errors} items) on queue "three".\n`,
    );
    expect(planner.output()).toContain(
      `onnx-vae: wrote ${join(shared, 'dataset.json')}: ${reference.items} items in 5 shards (0 already complete), ${reference.errors} errors, `,
    );
    const manifest = await manifestOf(shared);
    expect(manifest.shards).toEqual(reference.manifest.shards);
    expect(await readFile(join(shared, 'errors.jsonl'), 'utf8')).toBe(await readFile(join(local, 'errors.jsonl'), 'utf8'));

    const status = startCli(['dataset-status', '--queue', redis.url, '--name', 'three', '--json']);
    expect(await status.exited).toBe(0);
    const parsed = JSON.parse(status.output()) as { shards: Record<string, number>; finalize: string; workers: string[]; items: number };
    expect(parsed).toMatchObject({ shards: { waiting: 0, active: 0, completed: 5, failed: 0 }, finalize: 'completed', items: reference.items });
    expect(parsed.workers).toHaveLength(3);
  });

  it('a worker killed with SIGKILL mid-shard loses its lock; another worker completes the job, every item once', async () => {
    const out = join(dir, 'killed');
    const reference = await encodeDataset(KL_F8, images, { output: join(dir, 'killed-local'), size: 64, shardSize: 100, batch: 1, minSize: 8, ...LOAD });
    const plan = await planDistributed(KL_F8, images, { output: out, queue: redis.url, name: 'kill', size: 64, shardSize: 100, batch: 1, minSize: 8, ...LOAD });
    expect(plan).toMatchObject({ jobs: 1, complete: 0, alreadyRunning: false });
    const events = new QueueEvents('kill', { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
    const queue = queueOf('kill');
    try {
      await events.waitUntilReady();
      const first = worker(KL_F8, 'kill', 1500);
      const progressed = new Promise<void>((done) => events.on('progress', () => done()));
      await progressed;
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      const job = (await queue.getJob('shard-00000'))!;
      expect(await job.getState()).toBe('active');
      expect(existsSync(join(out, 'shard-00000.safetensors'))).toBe(false);
      worker(KL_F8, 'kill', 1500);
      const summary = await followDataset({ queue: redis.url, name: 'kill' });
      expect(summary).toMatchObject({ items: reference.items, errors: reference.errors, failedShards: [] });
      const manifest = await manifestOf(out);
      expect(manifest.shards).toEqual(reference.manifest.shards);
      const keys = await keysOf(out, manifest);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys).toEqual(await keysOf(join(dir, 'killed-local'), reference.manifest));
      const done = (await queue.getJob('shard-00000'))!;
      expect(done.stalledCounter).toBeGreaterThanOrEqual(1);
      expect(done.finishedOn).toBeGreaterThan(0);
    } finally {
      await events.close();
      await queue.close();
    }
  });

  it('a shard job delivered twice at once leaves one shard, byte for byte the local one; planning twice adds no jobs', async () => {
    const out = join(dir, 'twice');
    const plan = await planDistributed(KL_F8, images, { output: out, queue: redis.url, name: 'twice', size: 32, shardSize: 100, minSize: 8, ...LOAD });
    expect(plan.jobs).toBe(1);
    expect(await planDistributed(KL_F8, images, { output: out, queue: redis.url, name: 'twice', size: 32, shardSize: 100, minSize: 8, ...LOAD })).toMatchObject(
      { jobs: 0, alreadyRunning: true },
    );
    const queue = queueOf('twice');
    const shard = (await queue.getJob('shard-00000'))!;
    // The same shard again under another id, waiting beside the first, as a redelivery after a lost lock would run
    // it while the first still runs: a worker with concurrency 2 takes both at once.
    const copy = await queue.add('shard', shard.data as ShardJobData, { jobId: 'shard-00000-again' });
    const running = await startWorker(KL_F8, { queue: redis.url, name: 'twice', concurrency: 2, ...LOAD });
    try {
      await waitFor('both deliveries', async () => (await shard.isCompleted()) && (await copy.isCompleted()), 30_000);
      const results = await Promise.all(
        ['shard-00000', 'shard-00000-again'].map(async (id) => (await queue.getJob(id))!.returnvalue as { skipped: boolean; items: number }),
      );
      expect(results.map((r) => r.skipped)).toEqual([false, false]);
      await waitFor('finalize', async () => await (await queue.getJob(FINALIZE_JOB_ID))!.isCompleted(), 30_000);
    } finally {
      await running.close();
      await queue.close();
    }
    expect((await readdir(out)).sort()).toEqual(['dataset.json', 'errors.jsonl', 'records', 'shard-00000.safetensors']);
    expect(await readdir(join(out, 'records'))).toEqual(['shard-00000.safetensors.json']);
    const local = await encodeDataset(KL_F8, images, { output: join(dir, 'twice-local'), size: 32, shardSize: 100, minSize: 8, ...LOAD });
    expect((await manifestOf(out)).shards).toEqual(local.manifest.shards);
  });

  it('a transient failure (the output cannot be written) is retried with backoff and then completes', async () => {
    const out = join(dir, 'transient');
    await mkdir(out, { recursive: true });
    // A file where the records folder goes: writing the shard fails until it is removed.
    await writeFile(join(out, 'records'), 'in the way');
    await planDistributed(KL_F8, images, {
      output: out,
      queue: redis.url,
      name: 'transient',
      size: 32,
      shardSize: 100,
      minSize: 8,
      attempts: 5,
      backoffMs: 300,
      ...LOAD,
    });
    const queue = queueOf('transient');
    const running = await startWorker(KL_F8, { queue: redis.url, name: 'transient', ...LOAD });
    try {
      await waitFor('a failed attempt', async () => ((await queue.getJob('shard-00000'))?.attemptsMade ?? 0) >= 1, 30_000);
      const job = (await queue.getJob('shard-00000'))!;
      expect(job.failedReason).toMatch(/records/);
      expect(['delayed', 'waiting', 'active']).toContain(await job.getState());
      await unlink(join(out, 'records'));
      await waitFor('finalize', async () => await (await queue.getJob(FINALIZE_JOB_ID))!.isCompleted(), 30_000);
      const done = (await queue.getJob('shard-00000'))!;
      expect(await done.getState()).toBe('completed');
      expect(done.attemptsMade).toBeGreaterThanOrEqual(2);
    } finally {
      await running.close();
      await queue.close();
    }
    expect((await manifestOf(out)).incomplete).toEqual([]);
  });

  it('a worker with another model refuses with MODEL_MISMATCH and stops; the failed shard and its reason end in the summary', async () => {
    const out = join(dir, 'mismatch');
    await planDistributed(KL_F8, images, { output: out, queue: redis.url, name: 'mismatch', size: 32, shardSize: 100, minSize: 8, attempts: 1, ...LOAD });
    const wrong = worker(MNIST, 'mismatch');
    expect(await wrong.exited).toBe(2);
    expect(wrong.output()).toContain('onnx-vae: error [MODEL_MISMATCH]: This dataset was planned with model "kl-f8"');
    const queue = queueOf('mismatch');
    try {
      const job = (await queue.getJob('shard-00000'))!;
      expect(await job.getState()).toBe('failed');
      expect(job.failedReason).toMatch(/^\[MODEL_MISMATCH\] This dataset was planned with model "kl-f8"/);
    } finally {
      await queue.close();
    }
    expect(existsSync(join(out, 'shard-00000.safetensors'))).toBe(false);
    const status = formatStatus(await datasetStatus({ queue: redis.url, name: 'mismatch' }));
    expect(status).toContain('shards: 0 waiting, 0 delayed (retry backoff), 0 active, 0 completed, 1 failed');
    expect(status).toContain('failed shard-00000 after 1 attempts: [MODEL_MISMATCH] This dataset was planned with model "kl-f8"');
    // A worker with the right model runs the finalize job, which lists the failed shard.
    const right = await startWorker(KL_F8, { queue: redis.url, name: 'mismatch', ...LOAD });
    try {
      const summary = await followDataset({ queue: redis.url, name: 'mismatch' });
      expect(summary.items).toBe(0);
      expect(summary.failedShards).toEqual([{ file: 'shard-00000.safetensors', reason: expect.stringMatching(/^\[MODEL_MISMATCH\]/) }]);
      expect((await manifestOf(out)).incomplete).toEqual([
        { file: 'shard-00000.safetensors', planned: 14, reason: expect.stringMatching(/^\[MODEL_MISMATCH\]/) },
      ]);
    } finally {
      await right.close();
    }
  });
});
