#!/usr/bin/env node
// pnpm bench: the onnx-vae SDK against raw onnxruntime-node on the same model, measured side by side in one run
// (interleaved A/B iterations, same session options), medians and SDK/raw ratios written to docs/benchmarks.md.
//
//   node bench/sdk.mjs [--model models/mnist-vae] [--threads 2] [--quick] [--no-write] [--breakdown]
//
// --breakdown: only the batch-1 encode+decode, split into the time before, between and after the two native runs.
// onnxruntime-node starts each native run from a setImmediate callback, so timing those callbacks marks the runs.
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { machineLine, median, quantile, writeDocBlock } from './stats.mjs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { loadavg } from 'node:os';
import { loadVae, NormalV1, logSumExp, softplus, sigmoid } from '../packages/node/dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ort = createRequire(join(ROOT, 'packages', 'node', 'package.json'))('onnxruntime-node');

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'models', 'mnist-vae') },
    threads: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'separate-sessions': { type: 'boolean', default: false },
    breakdown: { type: 'boolean', default: false },
  },
});
const threads = Number(args.threads);
const startLoad = loadavg();
const startedAt = new Date();
const scale = args.quick ? 0.1 : 1;

const manifest = JSON.parse(await readFile(join(args.model, 'vae.json'), 'utf8'));
const golden = JSON.parse(await readFile(join(args.model, 'golden.json'), 'utf8'));
const D = manifest.data.shape[0];
const L = manifest.latent.shape[0];
const goldenX = Float32Array.from(golden.x.data ?? golden.x.flat());
const itemsInGolden = goldenX.length / D;

/** Real test digits from the golden data, tiled to n items. */
function batchOf(n) {
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) out.set(goldenX.subarray((i % itemsInGolden) * D, ((i % itemsInGolden) + 1) * D), i * D);
  return out;
}

const sessionOptions = {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableMemPattern: false,
  executionProviders: ['cpu'],
};
// The raw side runs the very onnxruntime InferenceSessions the SDK holds, so both sides share one set of intra-op
// thread pools and the ratio is the SDK's own overhead. Two sets of pools on 2 cores (--separate-sessions) add the
// pools' spin-waiting against each other to whichever side runs second. The SDK keeps its sessions to itself, so
// the bench records them as the SDK creates them (onnxruntime-node's InferenceSession.create, wrapped while
// loadVae runs, with both sessions created at load).
const created = [];
const create = ort.InferenceSession.create;
ort.InferenceSession.create = async (...createArgs) => {
  const session = await create.apply(ort.InferenceSession, createArgs);
  created.push(session);
  return session;
};
let vae;
try {
  vae = await loadVae(args.model, { intraOpNumThreads: threads, interOpNumThreads: 1, preload: ['encoder', 'decoder'] });
} finally {
  ort.InferenceSession.create = create;
}
const sdkSession = (input) => created.find((session) => session.inputNames.includes(input));
const enc = args['separate-sessions']
  ? await ort.InferenceSession.create(join(args.model, manifest.encoder.file), sessionOptions)
  : sdkSession(manifest.encoder.input);
const dec = args['separate-sessions']
  ? await ort.InferenceSession.create(join(args.model, manifest.decoder.file), sessionOptions)
  : sdkSession(manifest.decoder.input);
if (!(enc instanceof ort.InferenceSession) || !(dec instanceof ort.InferenceSession) || created.length !== 2)
  throw new Error(`could not reach the SDK's two sessions (recorded ${created.length}); run with --separate-sessions`);
const encIn = manifest.encoder.input;
const { mean: meanName, logvar: logvarName } = manifest.encoder.output;
const decIn = manifest.decoder.input;
const decOut = manifest.decoder.output;

// ---- raw onnxruntime-node: the same work written by hand ----
async function rawEncode(x, n) {
  const r = await enc.run({ [encIn]: new ort.Tensor('float32', x, [n, D]) });
  const mean = r[meanName].data;
  const logvar = r[logvarName].data;
  const std = new Float32Array(logvar.length);
  for (let i = 0; i < logvar.length; i++) {
    const lv = Math.min(Math.max(logvar[i], -30), 20);
    logvar[i] = lv;
    std[i] = Math.exp(0.5 * lv);
  }
  return { mean, logvar, std };
}
async function rawDecodeProbs(z, n) {
  const logits = (await dec.run({ [decIn]: new ort.Tensor('float32', z, [n, L]) }))[decOut].data;
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = sigmoid(logits[i]);
  return out;
}
async function rawEncodeDecode(x, n) {
  const q = await rawEncode(x, n);
  return rawDecodeProbs(q.mean, n);
}
async function rawScore(x, n, k, seed) {
  const q = await rawEncode(x, n);
  const probs = await rawDecodeProbs(q.mean, n);
  const mse = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += (x[i * D + j] - probs[i * D + j]) ** 2;
    mse[i] = s / D;
  }
  const rows = k * n;
  const eps = new NormalV1(seed).fill(new Float32Array(rows * L));
  const z = new Float32Array(rows * L);
  for (let r = 0; r < rows; r++) {
    const i = r % n;
    for (let j = 0; j < L; j++) z[r * L + j] = q.mean[i * L + j] + Math.fround(q.std[i * L + j] * eps[r * L + j]);
  }
  const logits = (await dec.run({ [decIn]: new ort.Tensor('float32', z, [rows, L]) }))[decOut].data;
  const logW = new Float64Array(rows);
  const logPx = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const i = r % n;
    let lpx = 0;
    for (let j = 0; j < D; j++) lpx += x[i * D + j] * logits[r * D + j] - softplus(logits[r * D + j]);
    // log p(z) - log q(z|x), with log q from eps (z = mean + std * eps): the 2 pi terms cancel.
    let lpz = 0;
    let lqz = 0;
    for (let j = 0; j < L; j++) {
      const v = z[r * L + j];
      const e = eps[r * L + j];
      lpz += v * v;
      lqz += e * e + q.logvar[i * L + j];
    }
    logPx[r] = lpx;
    logW[r] = lpx - 0.5 * lpz + 0.5 * lqz;
  }
  const iwae = new Float64Array(n);
  const elbo = new Float64Array(n);
  const w = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let kl = 0;
    for (let j = 0; j < L; j++) kl += q.mean[i * L + j] ** 2 + Math.exp(q.logvar[i * L + j]) - 1 - q.logvar[i * L + j];
    let rec = 0;
    for (let s = 0; s < k; s++) {
      w[s] = logW[s * n + i];
      rec += logPx[s * n + i];
    }
    elbo[i] = rec / k - 0.5 * kl;
    iwae[i] = logSumExp(w) - Math.log(k);
  }
  return { iwae, elbo, mse };
}

// ---- measurement ----
async function measure(name, rounds, sdk, raw) {
  // Warm-up long enough for V8 to finish optimising both paths (the SDK's is longer, so a short warm-up favours raw).
  for (let i = 0; i < Math.max(5, rounds / 4); i++) {
    await sdk();
    await raw();
  }
  const a = [];
  const b = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so drift and cache effects fall on both sides equally.
    const order =
      i % 2 === 0
        ? [
            [sdk, a],
            [raw, b],
          ]
        : [
            [raw, b],
            [sdk, a],
          ];
    for (const [fn, into] of order) {
      const t0 = performance.now();
      await fn();
      into.push(performance.now() - t0);
    }
  }
  // Ratio of medians, and the median of per-round ratios (paired), which is less sensitive to drift.
  const paired = a.map((v, i) => v / b[i]);
  const row = {
    name,
    rounds,
    sdk: median(a),
    raw: median(b),
    ratio: median(a) / median(b),
    pairedRatio: median(paired),
    sdkP90: quantile(a, 0.9),
    rawP90: quantile(b, 0.9),
  };
  console.log(
    `${name.padEnd(34)} sdk ${row.sdk.toFixed(3).padStart(9)} ms  raw ${row.raw.toFixed(3).padStart(9)} ms  ratio ${row.ratio.toFixed(3)}  paired ${row.pairedRatio.toFixed(3)}  (${rounds} rounds)`,
  );
  return row;
}

// Sanity: SDK and raw compute the same numbers.
{
  const x = batchOf(16);
  const sdk = await vae.score({ data: x, dims: [16, D] }, { samples: 10, seed: 3 });
  const raw = await rawScore(x, 16, 10, 3);
  const maxDiff = Math.max(...sdk.logLikelihood.map((v, i) => Math.abs(v - raw.iwae[i])));
  if (!(maxDiff < 1e-6)) throw new Error(`SDK and raw scores differ by ${maxDiff}`);
}

const x1 = batchOf(1);
if (args.breakdown) {
  const marks = [];
  const setImmediateOriginal = globalThis.setImmediate;
  globalThis.setImmediate = (callback, ...rest) =>
    setImmediateOriginal(() => {
      const t0 = performance.now();
      callback(...rest);
      marks.push(t0, performance.now());
    });
  const sides = { sdk: async () => vae.decode((await vae.encode({ data: x1, dims: [1, D] })).mean), raw: () => rawEncodeDecode(x1, 1) };
  const parts = { sdk: [], raw: [] };
  const rounds = Math.round(20000 * scale);
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 ? ['sdk', 'raw'] : ['raw', 'sdk']) {
      marks.length = 0;
      const t0 = performance.now();
      await sides[side]();
      const t1 = performance.now();
      if (r >= rounds / 4 && marks.length === 4)
        parts[side].push([marks[0] - t0, marks[1] - marks[0], marks[2] - marks[1], marks[3] - marks[2], t1 - marks[3], t1 - t0]);
    }
  }
  globalThis.setImmediate = setImmediateOriginal;
  const labels = ['before encoder', 'encoder run', 'between', 'decoder run', 'after decoder', 'total'];
  console.log(`batch-1 encode+decode, medians in µs over ${parts.sdk.length} rounds (intra-op threads ${threads}):`);
  for (const side of ['sdk', 'raw'])
    console.log(`  ${side}  ${labels.map((l, i) => `${l} ${(median(parts[side].map((p) => p[i])) * 1000).toFixed(1)}`).join('  ')}`);
  await vae.dispose();
  process.exit(0);
}
const rows = [];
const x256 = batchOf(256);
const x16 = batchOf(16);
rows.push(
  await measure(
    'encode+decode, batch 1',
    Math.round(10000 * scale),
    async () => vae.decode((await vae.encode({ data: x1, dims: [1, D] })).mean),
    () => rawEncodeDecode(x1, 1),
  ),
);
rows.push(
  await measure(
    'encode+decode, batch 256',
    Math.round(600 * scale),
    async () => vae.decode((await vae.encode({ data: x256, dims: [256, D] })).mean),
    () => rawEncodeDecode(x256, 256),
  ),
);
rows.push(
  await measure(
    'score k=1, batch 16',
    Math.round(1000 * scale),
    () => vae.score({ data: x16, dims: [16, D] }, { samples: 1, seed: 1 }),
    () => rawScore(x16, 16, 1, 1),
  ),
);
rows.push(
  await measure(
    'score k=100, batch 16',
    Math.round(100 * scale),
    () => vae.score({ data: x16, dims: [16, D] }, { samples: 100, seed: 1 }),
    () => rawScore(x16, 16, 100, 1),
  ),
);

if (args['separate-sessions']) {
  await enc.release();
  await dec.release();
}
await vae.dispose();

const machine = machineLine(`onnxruntime-node ${ort.env.versions.node}`);
const conditions = `load average ${startLoad.map((v) => v.toFixed(2)).join(' ')} at the start, ${loadavg()
  .map((v) => v.toFixed(2))
  .join(' ')} at the end`;
const table = [
  '| case | SDK median (ms) | raw median (ms) | SDK/raw (medians) | SDK/raw (paired median) | SDK p90 | raw p90 | rounds |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.sdk.toFixed(3)} | ${r.raw.toFixed(3)} | ${r.ratio.toFixed(3)} | ${r.pairedRatio.toFixed(3)} | ${r.sdkP90.toFixed(3)} | ${r.rawP90.toFixed(3)} | ${r.rounds} |`,
  ),
].join('\n');
console.log(`\n${machine}; ${conditions}\n\n${table}`);

if (!args['no-write'] && !args.quick) {
  const section = `## SDK vs raw onnxruntime-node (${manifest.name})\n\nCommand: \`pnpm bench\` (\`node bench/sdk.mjs --threads ${threads}\`), ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.\nMachine: ${machine}; ${conditions}.\n\n${table}\n\nBoth sides run the same onnxruntime sessions (intra-op threads ${threads}, inter-op 1, graph optimisation "all", memory pattern off as onnx-vae sets it by default, CPU EP): the raw side calls the InferenceSessions the SDK holds, so the ratio is the SDK's own overhead; they run interleaved in one process, alternating which goes first, after a warm-up of a quarter of the rounds (V8 needs it to finish optimising the SDK's longer path). (With two separate sets of sessions, \`--separate-sessions\`, their thread pools spin against each other on this 2-core machine and the batch-1 ratio moved by about 0.1 between runs either way.) "raw" is the same work written by hand against onnxruntime-node: it clamps logvar and computes std, applies the sigmoid to the decoder's logits, and for score draws the same noise, decodes all k x N samples in one run, and computes the Bernoulli log-likelihood, log p(z), log q(z|x), KL, logsumexp and the reconstruction MSE of decode(mean). The SDK additionally validates inputs (shape, dtype, finiteness, values in [0, 1]) and splits decoder runs into batches of maxBatch (256). \`node bench/sdk.mjs --breakdown\` splits the batch-1 case into the time before, between and after the two native runs, which shows where the SDK's extra microseconds go. Timings on this 2-core machine are noisy; compare the ratios, measured side by side, not the absolute numbers.`;
  await writeDocBlock(
    join(ROOT, 'docs', 'benchmarks.md'),
    'bench:core',
    section,
    '# Benchmarks\n\nEvery figure here is written by the script named next to it; rerun it to refresh.',
  );
}
