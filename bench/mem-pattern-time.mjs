#!/usr/bin/env node
// What onnxruntime's memory pattern does to time, per model size: onnx-vae with enableMemPattern false (its default)
// and true, on the same model in one process, interleaved rounds (alternating which goes first), paired median of
// the per-round ratios. Memory is bench/memory.mjs's job (it needs fresh processes); this is the time side.
//
//   node bench/mem-pattern-time.mjs [--rounds 20] [--threads 2] [--taef2 ../shared/models/taesd] [--only TEXT]
//     [--sd-sizes 256]
// --only: the cases whose label contains TEXT. --sd-sizes: the SD VAE's decode sizes (e.g. 256,512,1024); a case
// runs max(min rounds, rounds x scale) paired rounds after max(1, rounds/4) warm-up rounds per side (at least 2
// below 1024x1024: a decode there takes minutes).
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineLine, median } from './stats.mjs';
import { NormalV1, VaeTensor, loadVae } from '../packages/node/dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    threads: { type: 'string', default: '2' },
    taef2: { type: 'string', default: resolve(ROOT, '..', 'shared', 'models', 'taesd') },
    only: { type: 'string', default: '' },
    'sd-sizes': { type: 'string', default: '256' },
  },
});
const rounds = Number(args.rounds);
const noise = (dims) => new VaeTensor(new NormalV1(1).fill(new Float32Array(dims.reduce((a, b) => a * b, 1))), dims);
const uniform = (dims) =>
  new VaeTensor(
    new Float32Array(dims.reduce((a, b) => a * b, 1)).map((_, i) => (i % 97) / 97),
    dims,
  );

const CASES = [
  {
    model: join(ROOT, 'models', 'mnist-vae'),
    label: 'mnist-vae (MLP, 0.67 M decoder parameters): encode+decode batch 1',
    work: (vae) => vae.reconstruct(uniform([1, 784])),
    scale: 50,
  },
  { model: join(ROOT, 'models', 'mnist-vae'), label: 'mnist-vae: encode+decode batch 256', work: (vae) => vae.reconstruct(uniform([256, 784])), scale: 5 },
  {
    model: join(ROOT, 'models', 'kl-f8'),
    label: 'kl-f8 (conv, 0.79 M decoder parameters): decode 256x256',
    work: (vae) => vae.decode(noise([1, 4, 32, 32])),
    scale: 1,
  },
  {
    model: args.taef2,
    options: { preset: 'flux-2-tiny' },
    label: 'TAEF2 (conv, 1.34 M decoder parameters): decode 256x256',
    work: (vae) => vae.decode(noise([1, 32, 16, 16])),
    scale: 1,
    needs: 'taef2_decoder.onnx',
  },
  ...args['sd-sizes'].split(',').map((text) => {
    const size = Number(text);
    return {
      model: join(ROOT, 'bench', 'models', 'sd-vae'),
      label: `SD VAE (conv + attention, 49.5 M decoder parameters): decode ${size}x${size}`,
      work: (vae) => vae.decode(noise([1, 4, size / 8, size / 8])),
      scale: 0.25 * (256 / size) ** 2,
      minRounds: size >= 1024 ? 3 : 4,
      warmUp: size >= 1024 ? 1 : 2,
      needs: 'decoder.onnx',
    };
  }),
];

console.log(
  `${machineLine()}; load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')} at the start`,
);
for (const c of CASES.filter((c) => c.label.includes(args.only))) {
  if (!existsSync(join(c.model, c.needs ?? 'vae.json'))) {
    console.log(`SKIPPED ${c.label}: no ${c.needs ?? 'vae.json'} in ${c.model}`);
    continue;
  }
  const options = { ...c.options, intraOpNumThreads: Number(args.threads), interOpNumThreads: 1, preload: ['encoder', 'decoder'] };
  const off = await loadVae(c.model, { ...options, enableMemPattern: false });
  const on = await loadVae(c.model, { ...options, enableMemPattern: true });
  const n = Math.max(c.minRounds ?? 4, Math.round(rounds * c.scale));
  for (let i = 0; i < Math.max(c.warmUp ?? 2, n / 4); i++) {
    await c.work(off);
    await c.work(on);
  }
  const times = { off: [], on: [] };
  for (let i = 0; i < n; i++) {
    for (const side of i % 2 ? ['off', 'on'] : ['on', 'off']) {
      const t = performance.now();
      await c.work(side === 'off' ? off : on);
      times[side].push(performance.now() - t);
    }
  }
  const paired = median(times.off.map((t, i) => t / times.on[i]));
  console.log(
    `${c.label}: pattern off ${median(times.off).toFixed(2)} ms, on ${median(times.on).toFixed(2)} ms, off/on paired median ${paired.toFixed(3)} (${n} rounds)`,
  );
  await Promise.all([off.dispose(), on.dispose()]);
}
console.log(
  `load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')} at the end`,
);
