// `pnpm bench:server`: the HTTP server under load (autocannon on 127.0.0.1), for mnist-vae encode/decode and kl-f8
// 64x64 encode/decode, at concurrency 1, 8 and 64, in four set-ups: (a) in-process, (b) micro-batching,
// (c) worker threads, (d) both. Requests and answers are .npy. The event-loop delay p99 is the server's own
// (prom-client's monitorEventLoopDelay, reset by each /metrics scrape, so one scrape before and one after a run).
// Writes the table into docs/benchmarks.md (bench:server) and docs/serving.md (bench:server).
//
//   npx tsc -b && node bench/server.mjs [--duration 3] [--rounds 2] [--workers 2] [--max-batch 32] [--max-delay-ms 0]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { VaeTensor, encodeNpy } from '../packages/node/dist/index.js';
import { machineLine, writeDocBlock } from './stats.mjs';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    'max-batch': { type: 'string' },
    'max-delay-ms': { type: 'string', default: '0' },
  },
});
const duration = Number(values.duration);
const ROUNDS = Number(values.rounds);
const workers = Number(values.workers);
const maxDelayMs = Number(values['max-delay-ms']);
const CONCURRENCY = [1, 8, 64];

function tensor(dims, f) {
  const size = dims.reduce((a, b) => a * b, 1);
  return new VaeTensor(
    Float32Array.from({ length: size }, (_, i) => f(i)),
    dims,
  );
}
const MODELS = [
  // maxBatchSize per model, by docs/serving.md's rule: large for a small MLP, small for a conv net.
  {
    name: 'mnist-vae',
    maxBatchSize: 32,
    routes: [
      ['encode', tensor([1, 784], (i) => (i % 7) / 7)],
      ['decode', tensor([1, 50], (i) => Math.sin(i))],
    ],
  },
  {
    name: 'kl-f8',
    maxBatchSize: 8,
    routes: [
      ['encode 64x64', tensor([1, 3, 64, 64], (i) => Math.sin(i * 0.01))],
      ['decode 64x64', tensor([1, 4, 8, 8], (i) => Math.sin(i))],
    ],
  },
];
for (const model of MODELS)
  model.batching = { maxBatchSize: values['max-batch'] === undefined ? model.maxBatchSize : Number(values['max-batch']), maxDelayMs, maxQueue: 4096 };
const SETUPS = [
  { key: 'a', label: '(a) in-process', options: () => ({ batching: false }) },
  { key: 'b', label: '(b) batching', options: (model) => ({ batching: model.batching }) },
  { key: 'c', label: `(c) ${workers} workers`, options: () => ({ batching: false, workers }) },
  { key: 'd', label: `(d) ${workers} workers + batching`, options: (model) => ({ batching: model.batching, workers }) },
];

// Servers end with the bench, also when it is interrupted.
const children = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGTERM');
    process.exit(130);
  });
}

/** Starts `serve()` in a child process; resolves with its URL and the child. */
async function startServer(model, options) {
  const script = `import { serve } from '@onnx-vae/server';
const server = await serve(${JSON.stringify(join(ROOT, 'models', model))}, { port: 0, logger: false, ...${JSON.stringify(options)} });
process.stdout.write(server.url + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: join(ROOT, 'packages', 'server'), stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const [chunk] = await Promise.race([
    once(child.stdout, 'data'),
    once(child, 'exit').then(() => {
      throw new Error('the server exited');
    }),
  ]);
  return { url: chunk.toString().trim(), child };
}

async function eventLoopP99(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nodejs_eventloop_lag_p99_seconds ([\d.e+-]+)$/m.exec(text)?.[1] ?? NaN) * 1000;
}

function load(url, path, body, connections, seconds) {
  return autocannon({
    url: `${url}${path}`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/x-npy', accept: 'application/x-npy' },
    body: Buffer.from(encodeNpy(body)),
  });
}

const rows = [];
const started = Date.now();
const loadBefore = loadavg()[0];
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
for (const model of MODELS) {
  const { name, routes } = model;
  // The four set-ups run side by side, alternating, so that a change of load on the machine touches them alike.
  const servers = [];
  try {
    for (const setup of SETUPS) servers.push({ setup, ...(await startServer(name, setup.options(model))) });
    for (const [route, body] of routes) {
      const path = `/v1/${route.split(' ')[0]}`;
      for (const { url } of servers) await load(url, path, body, 8, 1); // warm-up
      for (const c of CONCURRENCY) {
        const runs = new Map(SETUPS.map((s) => [s.key, []]));
        for (let round = 0; round < ROUNDS; round++) {
          for (const { setup, url } of round % 2 === 0 ? servers : [...servers].reverse()) {
            await eventLoopP99(url); // resets the server's event-loop histogram
            const result = await load(url, path, body, c, duration);
            runs.get(setup.key).push({ result, loopP99: await eventLoopP99(url) });
          }
        }
        for (const setup of SETUPS) {
          const list = runs.get(setup.key);
          const row = {
            model: name,
            route,
            setup: setup.key,
            c,
            rps: mean(list.map((r) => r.result.requests.average)),
            mean: mean(list.map((r) => r.result.latency.mean)),
            p50: mean(list.map((r) => r.result.latency.p50)),
            p99: mean(list.map((r) => r.result.latency.p99)),
            loopP99: Math.max(...list.map((r) => r.loopP99)),
            errors: list.reduce((sum, r) => sum + r.result.errors + r.result.timeouts + r.result.non2xx, 0),
          };
          rows.push(row);
          console.log(
            `${name} ${route} ${setup.label} c=${c}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, event loop p99 ${row.loopP99.toFixed(1)} ms, errors ${row.errors}`,
          );
        }
      }
    }
  } finally {
    for (const { child } of servers) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

const find = (model, route, setup, c) => rows.find((r) => r.model === model && r.route === route && r.setup === setup && r.c === c);
const table = [
  '| model | route | set-up | c | req/s | p50 ms | p99 ms | event loop p99 ms | errors |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.route} | ${SETUPS.find((s) => s.key === r.setup).label} | ${r.c} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.loopP99.toFixed(1)} | ${r.errors} |`,
  ),
];
const ratios = [
  '| model | route | (d)/(a) req/s at c=64 | (b)/(a) req/s at c=64 | (c)/(a) req/s at c=64 | (b)/(a) mean latency at c=1 | loop p99 (c) / (d) at c=64, ms |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...MODELS.flatMap(({ name, routes }) =>
    routes.map(([route]) => {
      const a64 = find(name, route, 'a', 64);
      const r = (s) => (find(name, route, s, 64).rps / a64.rps).toFixed(2);
      return `| ${name} | ${route} | ${r('d')} | ${r('b')} | ${r('c')} | ${(find(name, route, 'b', 1).mean / find(name, route, 'a', 1).mean).toFixed(2)} | ${find(name, route, 'c', 64).loopP99.toFixed(1)} / ${find(name, route, 'd', 64).loopP99.toFixed(1)} |`;
    }),
  ),
];
const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
const body = [
  '## The HTTP server under load (`onnx-vae serve`)',
  '',
  `Command: \`pnpm bench:server\` (\`node bench/server.mjs --duration ${duration} --rounds ${ROUNDS} --workers ${workers}${values['max-batch'] === undefined ? '' : ` --max-batch ${values['max-batch']}`} --max-delay-ms ${maxDelayMs}\`), ${date} UTC, ${((Date.now() - started) / 60000).toFixed(1)} min.`,
  `Machine: ${machineLine()}; shared with other jobs while it ran (1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end), so compare the ratios, measured side by side in one run, not the absolute numbers.`,
  '',
  `autocannon on 127.0.0.1 (in the bench process) against \`serve()\` in four child processes, one per set-up, all up at once and loaded in turn: ${ROUNDS} runs of ${duration} s per row (order a-d, then d-a), after a 1 s warm-up per route; req/s and latencies are the means of the runs, event loop p99 the worst run; one item per request, .npy in and out. (a) the graphs on the main thread, onnxruntime's default threads; (b) (a) with \`batching: { maxBatchSize, maxDelayMs: ${maxDelayMs} }\`, maxBatchSize ${MODELS.map((m) => `${m.batching.maxBatchSize} for ${m.name}`).join(' and ')}; (c) \`workers: ${workers}\` (cores / workers intra-op threads each); (d) both. "event loop p99" is the server's own event-loop delay during the row (prom-client, 10 ms sampling resolution). errors: socket errors, timeouts and non-2xx answers.`,
  '',
  ...ratios,
  '',
  ...table,
].join('\n');
await writeDocBlock(join(ROOT, 'docs', 'benchmarks.md'), 'bench:server', body, '# Benchmarks');
await writeDocBlock(join(ROOT, 'docs', 'serving.md'), 'bench:server', body, '# Serving');
