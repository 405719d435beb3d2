#!/usr/bin/env node
// Peak RSS of onnx-vae on onnxruntime-web's wasm backend (in Node, single thread) with the memory pattern off (the
// default) and on: each setting in a fresh process, one model, two decodes of one seeded latent at one size.
//
//   node bench/wasm-memory.mjs [--model models/kl-f8] [--size 256]
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { model: { type: 'string', default: join(ROOT, 'models', 'kl-f8') }, size: { type: 'string', default: '256' }, child: { type: 'string' } },
});
const peak = () => Number(readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/)[1]) / 1024;

if (args.child) {
  const { loadVae, NormalV1, VaeTensor } = await import('../packages/web/dist/index.js');
  const dir = resolve(args.model);
  const manifest = JSON.parse(await readFile(join(dir, 'vae.json'), 'utf8'));
  const [encoder, decoder] = await Promise.all([readFile(join(dir, manifest.encoder.file)), readFile(join(dir, manifest.decoder.file))]);
  const vae = await loadVae(
    { manifest, encoder: new Uint8Array(encoder), decoder: new Uint8Array(decoder) },
    { device: 'wasm', numThreads: 1, preload: ['decoder'], enableMemPattern: args.child === 'on' },
  );
  const side = Number(args.size) / 8;
  const z = new VaeTensor(new NormalV1(1).fill(new Float32Array(manifest.latent.shape[0] * side * side)), [1, manifest.latent.shape[0], side, side]);
  const peaks = [];
  for (let i = 0; i < 2; i++) {
    await vae.decode(z);
    peaks.push(Math.round(peak()));
  }
  await vae.dispose();
  console.log(JSON.stringify({ pattern: args.child, peaks }));
} else {
  console.log(
    `${args.model} ${args.size}x${args.size}, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  for (const setting of ['off', 'on']) {
    const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', setting, '--model', args.model, '--size', args.size], {
      encoding: 'utf8',
    });
    console.log(
      out.status === 0
        ? `memory pattern ${setting}: peak RSS after each decode ${JSON.parse(out.stdout.trim().split('\n').pop()).peaks.join(', ')} MiB`
        : `memory pattern ${setting}: failed: ${out.stderr.trim().split('\n').pop()}`,
    );
  }
}
