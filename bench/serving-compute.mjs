#!/usr/bin/env node
// The set-ups of bench:server without HTTP: how many calls per second each gets from the graphs alone, in one process,
// from 1 and from 64 concurrent call loops. This is the most batching and workers can give on this machine whatever
// the server does; bench:server's ratios cannot beat the ratios here by much (HTTP only adds work per request).
// Printed only (docs/serving.md quotes it with the date and load).
//
//   npx tsc -b && node bench/serving-compute.mjs [--seconds 3] [--rounds 2] [--workers 2] [--models mnist-vae,kl-f8]
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadVae } from '../packages/node/dist/index.js';
import { SERVING_MODELS } from './serving-cases.mjs';
import { machineLine } from './stats.mjs';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    models: { type: 'string', default: 'mnist-vae,kl-f8' },
  },
});
const seconds = Number(values.seconds);
const workers = Number(values.workers);

// The inputs and batch sizes of bench:server.
const MODELS = SERVING_MODELS.filter((m) => values.models.split(',').includes(m.name));
const SETUPS = [
  ['a', '(a) in-process', () => ({})],
  ['b', '(b) batching', (m) => ({ batching: { maxBatchSize: m.maxBatchSize, maxDelayMs: 0 } })],
  ['c', `(c) ${workers} workers`, () => ({ workers })],
  ['d', `(d) ${workers} workers + batching`, (m) => ({ workers, batching: { maxBatchSize: m.maxBatchSize, maxDelayMs: 0 } })],
];

/** Calls per second from `loops` concurrent loops of `call` for `ms`. */
async function rate(call, loops, ms) {
  let calls = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (performance.now() < end) {
        await call();
        calls++;
      }
    }),
  );
  return calls / (ms / 1000);
}

console.log(`${machineLine()}; load average ${loadavg()[0].toFixed(2)} at the start`);
for (const model of MODELS) {
  const vaes = {};
  for (const [key, , options] of SETUPS) vaes[key] = await loadVae(join(ROOT, 'models', model.name), { preload: ['encoder', 'decoder'], ...options(model) });
  for (const [label, x] of model.routes) {
    const route = label.split(' ')[0];
    const results = Object.fromEntries(SETUPS.map(([key]) => [key, { 1: [], 64: [] }]));
    for (const [key] of SETUPS) {
      await rate(() => vaes[key][route](x), 1, 500);
      await rate(() => vaes[key][route](x), 64, 500);
    }
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const [key] of round % 2 === 0 ? SETUPS : [...SETUPS].reverse()) {
        for (const loops of [1, 64]) results[key][loops].push(await rate(() => vaes[key][route](x), loops, seconds * 1000));
      }
    }
    const mean = (list) => list.reduce((a, b) => a + b, 0) / list.length;
    const a = { 1: mean(results.a[1]), 64: mean(results.a[64]) };
    for (const [key, label] of SETUPS) {
      const r = { 1: mean(results[key][1]), 64: mean(results[key][64]) };
      console.log(
        `${model.name} ${route} ${label}: ${r[1].toFixed(0)} calls/s alone (${(r[1] / a[1]).toFixed(2)} of (a)), ${r[64].toFixed(0)} calls/s from 64 loops (${(r[64] / a[64]).toFixed(2)} of (a))`,
      );
    }
  }
  for (const vae of Object.values(vaes)) await vae.dispose();
}
console.log(`load average ${loadavg()[0].toFixed(2)} at the end`);
