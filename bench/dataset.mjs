// pnpm bench:dataset: images/s of dataset encoding on models/kl-f8 at 256x256, locally with 1 and 2 worker processes
// and distributed on BullMQ with 2 worker processes (ratios from one run), then BullMQ's own cost per job on this
// Redis (empty jobs and shard-sized jobs, jobs/s and Redis memory per job). Writes the block "bench-dataset" of
// docs/dataset.md. Starts its own redis-server (/usr/bin/redis-server) on a free loopback port, without persistence.
//
// Options: --images N (default 48), --shard-size N (default 8), --jobs N (empty jobs, default 2000).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { machineLine, writeDocBlock } from './stats.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = join(ROOT, 'models/kl-f8');
const BIN = join(ROOT, 'packages/cli/dist/main.js');
const requireDataset = createRequire(join(ROOT, 'packages/dataset/package.json'));
const sharp = requireDataset('sharp');
const { Queue, Worker } = await import(requireDataset.resolve('bullmq'));
const { Redis } = requireDataset('ioredis');
const { encodeDataset, planDistributed, followDataset } = await import(join(ROOT, 'packages/dataset/dist/index.js'));

const { values } = parseArgs({
  options: { images: { type: 'string', default: '48' }, 'shard-size': { type: 'string', default: '8' }, jobs: { type: 'string', default: '2000' } },
});
const IMAGES = Number(values.images);
const SHARD = Number(values['shard-size']);
const JOBS = Number(values.jobs);
const SIZE = 256;
const cores = availableParallelism();

function freePort() {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => (socket.destroy(), done(data.toString().startsWith('+PONG'))));
      socket.on('error', () => (socket.destroy(), done(false)));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `redis://127.0.0.1:${port}/0`, child };
}

function startWorkerProcess(url, name, threads) {
  const child = spawn(process.execPath, [BIN, 'worker', MODEL, '--queue', url, '--name', name, '--threads', String(threads)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  const ready = new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`worker not ready: ${output}`)), 120_000);
    child.stderr.on('data', () => output.includes('ready') && (clearTimeout(timer), done()));
  });
  return { child, ready };
}

async function makeImages(folder) {
  for (let i = 0; i < IMAGES; i++) {
    const width = 320 + (i % 3) * 32;
    const height = 288 + (i % 2) * 48;
    const raw = Buffer.alloc(width * height * 3);
    let s = i + 1;
    for (let j = 0; j < raw.length; j++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      raw[j] = ((j % (width * 3)) >> 2) + (s >>> 26);
    }
    await sharp(raw, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(join(folder, `img-${String(i).padStart(4, '0')}.jpg`));
  }
}

const dir = await mkdtemp(join(tmpdir(), 'onnx-vae-bench-dataset-'));
const images = join(dir, 'images');
await (await import('node:fs/promises')).mkdir(images);
await makeImages(images);
const settings = { size: SIZE, shardSize: SHARD, batch: 8 };
const rows = [];

console.log(`${IMAGES} JPEG images (~320x300) -> ${SIZE}x${SIZE} centre crop -> kl-f8 latents, shards of ${SHARD}; ${cores} cores`);
const one = await encodeDataset(MODEL, images, { ...settings, output: join(dir, 'local-1'), workers: 1, loadOptions: { intraOpNumThreads: cores } });
rows.push(['local, 1 process', `${cores} threads`, one.itemsPerSecond, one.seconds]);
console.log(rows.at(-1));
const two = await encodeDataset(MODEL, images, {
  ...settings,
  output: join(dir, 'local-2'),
  workers: 2,
  loadOptions: { intraOpNumThreads: Math.max(1, cores / 2) },
});
rows.push(['local, 2 worker processes', `${Math.max(1, cores / 2)} thread each`, two.itemsPerSecond, two.seconds]);
console.log(rows.at(-1));

const redis = await startRedis();
try {
  const workers = [startWorkerProcess(redis.url, 'bench', Math.max(1, cores / 2)), startWorkerProcess(redis.url, 'bench', Math.max(1, cores / 2))];
  await Promise.all(workers.map((w) => w.ready));
  await planDistributed(MODEL, images, { ...settings, output: join(dir, 'distributed'), queue: redis.url, name: 'bench' });
  const distributed = await followDataset({ queue: redis.url, name: 'bench' });
  rows.push(['BullMQ, 2 worker processes', `${Math.max(1, cores / 2)} thread each`, distributed.itemsPerSecond, distributed.seconds]);
  console.log(rows.at(-1));
  for (const w of workers) w.child.kill('SIGTERM');

  // BullMQ's own cost: no-op jobs through one Redis.
  const connection = { url: redis.url, maxRetriesPerRequest: null };
  const queueCost = [];
  for (const [label, payload, count, concurrency] of [
    ['empty job', {}, JOBS, 1],
    ['empty job', {}, JOBS, 16],
    [
      'shard-sized job (1000 paths, ~90 KB)',
      {
        items: Array.from({ length: 1000 }, (_, i) => ({
          key: `part-00042/${String(i).padStart(9, '0')}`,
          path: `/mnt/datasets/laion/part-00042/${String(i).padStart(9, '0')}.jpg`,
        })),
      },
      Math.min(JOBS, 200),
      4,
    ],
  ]) {
    const name = `cost-${queueCost.length}`;
    const queue = new Queue(name, { connection, prefix: 'onnx-vae' });
    const client = new Redis(redis.url);
    const memory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);
    const before = await memory();
    let started = performance.now();
    for (let i = 0; i < count; i += 500)
      await queue.addBulk(
        Array.from({ length: Math.min(500, count - i) }, (_, j) => ({
          name: 'shard',
          data: payload,
          opts: { jobId: `job-${i + j}`, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
        })),
      );
    const addSeconds = (performance.now() - started) / 1000;
    const bytesPerJob = ((await memory()) - before) / count;
    let done = 0;
    started = performance.now();
    const finished = new Promise((resolveDone) => {
      const worker = new Worker(name, async () => ({ items: 1000 }), { connection, prefix: 'onnx-vae', concurrency });
      worker.on('completed', () => ++done === count && resolveDone(worker));
    });
    const worker = await finished;
    const processSeconds = (performance.now() - started) / 1000;
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    client.disconnect();
    queueCost.push([label, concurrency, count / addSeconds, count / processSeconds, bytesPerJob]);
    console.log(queueCost.at(-1));
  }

  // What a worker sends per batch: one job.updateProgress (a Lua script and a progress event), from 16 jobs at once.
  const progressQueue = new Queue('cost-progress', { connection, prefix: 'onnx-vae' });
  const progressJobs = await progressQueue.addBulk(Array.from({ length: 16 }, (_, i) => ({ name: 'shard', data: {}, opts: { jobId: `p-${i}` } })));
  const UPDATES = 200;
  let started = performance.now();
  await Promise.all(
    progressJobs.map(async (job) => {
      for (let i = 0; i < UPDATES; i++) await job.updateProgress({ done: i, errors: 0, total: UPDATES });
    }),
  );
  const progressPerSecond = (16 * UPDATES) / ((performance.now() - started) / 1000);
  await progressQueue.obliterate({ force: true });
  await progressQueue.close();
  console.log('progress updates/s', progressPerSecond);

  const base = rows[0][2];
  const table = [
    `Measured by \`pnpm bench:dataset\` (bench/dataset.mjs) on ${machineLine(`${IMAGES} images, shards of ${SHARD}, batch 8`)}.`,
    'The machine was shared with other jobs while it ran (2 cores for several agents), so absolute figures are low and',
    'noisy; the ratios come from one run, one configuration after the other. Local times include loading the model in',
    'each process; the BullMQ workers were started and loaded before planning, and their time runs from planning to',
    'the finalize job (queue round trips included).',
    '',
    '| mode | onnxruntime threads | images/s | vs local, 1 process | seconds |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(([mode, threads, rate, seconds]) => `| ${mode} | ${threads} | ${rate.toFixed(2)} | ${(rate / base).toFixed(2)}x | ${seconds.toFixed(1)} |`),
    '',
    "BullMQ's own cost on this Redis (a no-op processor; add = `addBulk` in chunks of 500 with attempts and backoff):",
    '',
    '| job | worker concurrency | added/s | processed/s | Redis bytes per job |',
    '| --- | --- | --- | --- | --- |',
    ...queueCost.map(
      ([label, concurrency, added, processed, bytes]) => `| ${label} | ${concurrency} | ${added.toFixed(0)} | ${processed.toFixed(0)} | ${bytes.toFixed(0)} |`,
    ),
    '',
    `Progress events (\`job.updateProgress\`, what a worker sends after each batch), 16 jobs at once: ${progressPerSecond.toFixed(0)}/s.`,
  ].join('\n');
  await writeDocBlock(join(ROOT, 'docs/dataset.md'), 'bench-dataset', table, '# Dataset encoding');
} finally {
  redis.child.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
}
