// `pnpm bench:server`: the HTTP server under load (autocannon on 127.0.0.1), for mnist-vae encode/decode and kl-f8
// 64x64 encode/decode, at concurrency 1, 8 and 64, in six set-ups: (a) in-process, (a') the same in a second
// process (the noise floor), (b) micro-batching, (c) worker threads, (d) both. Requests and answers are .npy. The event-loop delay p99 is the server's own
// (prom-client's monitorEventLoopDelay, reset by each /metrics scrape, so one scrape before and one after a run),
// less its 10 ms sampling interval: the histogram records whole timer intervals, so an idle loop reads 10-11 ms.
// A sixth set-up, (e), is the ceiling of the others: the same server whose encode/decode answer a result computed
// once, so a request costs its HTTP work only (parsing, .npy, Fastify, metrics, autocannon on the same cores).
// Writes the table into docs/benchmarks.md (bench:server) and docs/serving.md (bench:server).
//
//   npx tsc -b && node bench/server.mjs [--duration 3] [--rounds 3] [--workers 2] [--max-batch 32] [--max-delay-ms 0]
//     [--models mnist-vae,kl-f8] [--concurrency 1,8,64] [--no-write]
// A subset of models or concurrencies (for tuning) prints its rows and writes nothing.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { encodeNpy } from '../packages/node/dist/index.js';
import { SERVING_MODELS } from './serving-cases.mjs';
import { machineLine, writeDocBlock } from './stats.mjs';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    'max-batch': { type: 'string' },
    'max-delay-ms': { type: 'string', default: '0' },
    // For tuning runs: a subset of models and concurrencies, and no docs written.
    models: { type: 'string', default: 'mnist-vae,kl-f8' },
    concurrency: { type: 'string', default: '1,8,64' },
    'no-write': { type: 'boolean', default: false },
  },
});
const duration = Number(values.duration);
const ROUNDS = Number(values.rounds);
const workers = Number(values.workers);
const maxDelayMs = Number(values['max-delay-ms']);
const CONCURRENCY = values.concurrency.split(',').map(Number);

const ALL_MODELS = SERVING_MODELS;
const MODELS = ALL_MODELS.filter((m) => values.models.split(',').includes(m.name));
for (const model of MODELS)
  model.batching = { maxBatchSize: values['max-batch'] === undefined ? model.maxBatchSize : Number(values['max-batch']), maxDelayMs, maxQueue: 4096 };
const SETUPS = [
  { key: 'e', label: '(e) HTTP only (ceiling)', options: () => ({ ceiling: true }) },
  { key: 'a', label: '(a) in-process', options: () => ({ batching: false }) },
  // The same as (a) in another process: how far two identical servers differ, the noise floor of every ratio here.
  { key: 'a2', label: "(a') = (a), a second process", options: () => ({ batching: false }) },
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
  const dir = JSON.stringify(join(ROOT, 'models', model));
  const { ceiling, ...vaeOptions } = options;
  const script = ceiling
    ? `import { loadVae } from '@onnx-vae/node';
import { createServer } from '@onnx-vae/server';
const vae = await loadVae(${dir}, ${JSON.stringify(vaeOptions)});
// encode and decode compute their first result and answer it from then on: a request costs the HTTP path only.
const memo = new Map();
const http = new Proxy(vae, {
  get(target, name) {
    if (name === 'encode' || name === 'decode') return (input, call) => { if (!memo.has(name)) memo.set(name, target[name](input, call)); return memo.get(name); };
    const value = Reflect.get(target, name);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});
const app = await createServer(http, { logger: false });
process.stdout.write((await app.listen({ host: '127.0.0.1', port: 0 })) + '\\n');`
    : `import { serve } from '@onnx-vae/server';
const server = await serve(${dir}, { port: 0, logger: false, ...${JSON.stringify(vaeOptions)} });
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

/** prom-client's eventLoopMonitoringPrecision in the server (packages/server/src/metrics.ts). */
const LOOP_SAMPLING_MS = 10;
/** The server's event-loop delay p99 since the last scrape, ms: the timer-interval p99 less the sampling interval. */
async function eventLoopP99(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nodejs_eventloop_lag_p99_seconds ([\d.e+-]+)$/m.exec(text)?.[1] ?? NaN) * 1000 - LOOP_SAMPLING_MS;
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
  // The set-ups run side by side, alternating, so that a change of load on the machine touches them alike.
  const servers = [];
  try {
    for (const setup of SETUPS) servers.push({ setup, ...(await startServer(name, setup.options(model))) });
    for (const [route, body] of routes) {
      const path = `/v1/${route.split(' ')[0]}`;
      // Warm-up: 1 s alone and 1 s at c=64 per server, so that V8 has optimised both the one-call path and the
      // batched one before anything is measured.
      for (const { url } of servers) {
        await load(url, path, body, 1, 1);
        await load(url, path, body, 64, 1);
      }
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

if (!CONCURRENCY.includes(1) || !CONCURRENCY.includes(64) || MODELS.length < ALL_MODELS.length) {
  console.log('\nnot written to docs: a subset of the models or concurrencies');
  process.exit(0);
}
const find = (model, route, setup, c) => rows.find((r) => r.model === model && r.route === route && r.setup === setup && r.c === c);
const table = [
  '| model | route | set-up | c | req/s | p50 ms | p99 ms | event-loop delay p99 ms | errors |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.route} | ${SETUPS.find((s) => s.key === r.setup).label} | ${r.c} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.loopP99.toFixed(1)} | ${r.errors} |`,
  ),
];
const ratios = [
  "| model | route | (d)/(a) req/s at c=64 | (b)/(a) | (c)/(a) | ceiling (e)/(a) | (d)/(e) | (b)/(a) req/s at c=1 | noise floor (a')/(a) at c=1 / c=64 | event-loop delay p99 (c) / (d) at c=64, ms |",
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...MODELS.flatMap(({ name, routes }) =>
    routes.map(([route]) => {
      const rps = (s, c = 64) => find(name, route, s, c).rps;
      const r = (s, over = 'a', c = 64) => (rps(s, c) / rps(over, c)).toFixed(2);
      return `| ${name} | ${route} | ${r('d')} | ${r('b')} | ${r('c')} | ${r('e')} | ${r('d', 'e')} | ${r('b', 'a', 1)} | ${r('a2', 'a', 1)} / ${r('a2')} | ${find(name, route, 'c', 64).loopP99.toFixed(1)} / ${find(name, route, 'd', 64).loopP99.toFixed(1)} |`;
    }),
  ),
];
const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
const body = [
  '## The HTTP server under load (`onnx-vae serve`)',
  '',
  `Command: \`pnpm bench:server\` (\`node bench/server.mjs --duration ${duration} --rounds ${ROUNDS} --workers ${workers}${values['max-batch'] === undefined ? '' : ` --max-batch ${values['max-batch']}`} --max-delay-ms ${maxDelayMs}\`), ${date} UTC, ${((Date.now() - started) / 60000).toFixed(1)} min.`,
  `Machine: ${machineLine()}; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end (the bench itself keeps both cores busy; above 2 something else ran too). Compare the ratios, measured side by side in one run, not the absolute numbers.`,
  '',
  `autocannon on 127.0.0.1 (in the bench process) against \`serve()\` in six child processes, one per set-up, all up at once and loaded in turn: ${ROUNDS} runs of ${duration} s per row (order e, a, a', b-d, then the reverse), after a warm-up per server and route (1 s at c=1, 1 s at c=64); req/s and latencies are the means of the runs, event-loop delay p99 the worst run; one item per request, .npy in and out. (a) the graphs on the main thread, onnxruntime's default threads; (b) (a) with \`batching: { maxBatchSize, maxDelayMs: ${maxDelayMs} }\`, maxBatchSize ${MODELS.map((m) => `${m.batching.maxBatchSize} for ${m.name}`).join(' and ')}; (a') the same as (a) in another process, so that (a')/(a) shows how far two identical servers differ; (c) \`workers: ${workers}\` (cores / workers intra-op threads each); (d) both; (e) the ceiling: (a)'s server with encode/decode answering one result computed at the warm-up, so a request costs only its HTTP work (body parsing, .npy, Fastify, metrics) beside autocannon on the same cores; no set-up that runs the graphs can exceed it, so (e)/(a) bounds what batching and workers can gain here. "event-loop delay p99" is the server's own: prom-client's \`nodejs_eventloop_lag_p99_seconds\` over the row less its ${LOOP_SAMPLING_MS} ms sampling interval (the histogram records whole timer intervals: an idle loop reads ${LOOP_SAMPLING_MS}-${LOOP_SAMPLING_MS + 1} ms), the worst run. errors: socket errors, timeouts and non-2xx answers.`,
  '',
  ...ratios,
  '',
  ...table,
].join('\n');
if (values['no-write']) {
  console.log(`\n${body}\n\nnot written to docs (--no-write)`);
  process.exit(0);
}
await writeDocBlock(join(ROOT, 'docs', 'benchmarks.md'), 'bench:server', body, '# Benchmarks');
await writeDocBlock(join(ROOT, 'docs', 'serving.md'), 'bench:server', body, '# Serving');
