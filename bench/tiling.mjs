#!/usr/bin/env node
// Tiled encode/decode measurements for docs/tiling.md: tiled vs untiled differences (max, mean, tile borders vs
// interior) on a real photo, and peak RSS + time of tiled encoding and decoding at 1024^2, 2048^2 and 4096^2, each
// run in a fresh child process so that process.resourceUsage().maxRSS is that run's own peak.
//
//   npx tsc -b && node bench/tiling.mjs [--models taef2,kl-f8] [--sizes 1024,2048,4096]
//     [--arena off,on] [--untiled-sizes 1024] [--skip-compare] [--skip-memory] [--threads 2] [--no-write]
//
// Writes two blocks of docs/tiling.md, <!-- measure-tiling:compare --> and <!-- measure-tiling:memory -->; a
// --skip-* flag leaves that block as it is.
//
// Models: TAEF2 from ../shared/models/taesd (a temporary folder with symlinks; its manifest is detected), and
// kl-f8 from models/kl-f8 when that folder exists. The photo is scikit-image's astronaut.png (Debian:
// apt-get install python3-skimage), resized with sharp (lanczos3) to each size.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { machineLine, writeDocBlock } from './stats.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TILING_PRESETS, VaeTensor, loadVae, planTiles, tiledDecode, tiledEncode } from '../packages/node/dist/index.js';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = join(dirname(SCRIPT), '..');
const requireNode = createRequire(join(ROOT, 'packages', 'node', 'package.json'));
const sharp = requireNode('sharp');
const ort = requireNode('onnxruntime-node');

const PHOTOS = ['/usr/lib/python3/dist-packages/skimage/data/astronaut.png', '/usr/share/skimage/data/astronaut.png'];
const TAESD = join(ROOT, '..', 'shared', 'models', 'taesd');
/** Pixels on each side of an inner tile edge counted as "border": 16 image pixels, 2 latent pixels. */
const IMAGE_BAND = 16;
const LATENT_BAND = 2;

const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    models: { type: 'string', default: 'taef2,kl-f8' },
    sizes: { type: 'string', default: '1024,2048,4096' },
    arena: { type: 'string', default: 'off,on' },
    'untiled-sizes': { type: 'string', default: '1024' },
    'skip-compare': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    'no-write': { type: 'boolean', default: false },
  },
});
const threads = Number(args.threads);
const list = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

// ---------------------------------------------------------------- shared helpers

function photoPath() {
  const found = PHOTOS.find((p) => existsSync(p));
  if (!found) throw new Error(`No astronaut.png in ${PHOTOS.join(' or ')}; install it with: apt-get install -y python3-skimage`);
  return found;
}

/** The photo resized to size x size, as [1, 3, size, size] in the model's data range. */
async function photo(size, range) {
  const pixels = await sharp(photoPath()).removeAlpha().resize(size, size, { kernel: 'lanczos3' }).raw().toBuffer();
  const plane = size * size;
  const data = new Float32Array(3 * plane);
  const [low, high] = range;
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) data[c * plane + p] = low + ((high - low) * pixels[p * 3 + c]) / 255;
  return new VaeTensor(data, [1, 3, size, size]);
}

/** A model folder and its tiling preset; TAEF2 gets a temporary folder with symlinks to its graphs (loadVae detects the manifest). */
async function modelFolder(name) {
  if (name === 'taef2') {
    if (existsSync(join(ROOT, 'models', 'taef2', 'vae.json'))) return { dir: join(ROOT, 'models', 'taef2'), preset: 'taef2', cleanup: async () => {} };
    if (!existsSync(join(TAESD, 'taef2_encoder.onnx'))) return null;
    const dir = await mkdtemp(join(tmpdir(), 'onnx-vae-taef2-'));
    for (const file of ['taef2_encoder.onnx', 'taef2_decoder.onnx']) await symlink(join(TAESD, file), join(dir, file));
    return { dir, preset: 'taef2', cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  if (name === 'kl-f8') {
    const dir = join(ROOT, 'models', 'kl-f8');
    return existsSync(join(dir, 'vae.json')) ? { dir, preset: 'kl-f8', cleanup: async () => {} } : null;
  }
  throw new Error(`Unknown model "${name}"; use taef2 or kl-f8.`);
}

// allowOutsideLinks: TAEF2's folder links to the graphs in ../shared/models/taesd.
const sessionOptions = (arena) => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  allowOutsideLinks: true,
  ...(arena === 'off' ? { enableCpuMemArena: false, enableMemPattern: false } : {}),
});
const encodeWith = (vae) => async (tile) => {
  const q = await vae.encode(tile);
  return { mean: q.mean, logvar: q.deterministic ? null : q.logvar };
};
const mib = (kib) => kib / 1024;
const seconds = (start) => (performance.now() - start) / 1000;

/** PSNR in dB of a against the reference, both mapped from `range` to [0, 1], a clamped. */
function psnr(a, reference, range) {
  const [low, high] = range;
  let squared = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.min(1, Math.max(0, (a[i] - low) / (high - low)));
    const d = v - (reference[i] - low) / (high - low);
    squared += d * d;
  }
  return 10 * Math.log10(a.length / squared);
}

/**
 * |a - b| over [N, C, H, W] tensors (values divided by `unit`): max and mean overall, on the border (within `band`
 * pixels of an inner tile edge; tile starts and length scaled by `scale`) and in the interior (the rest).
 */
function differences(a, b, dims, plan, scale, band, unit = 1) {
  const [n, c, h, w] = dims;
  const mask = (starts, length, size) => {
    const out = new Uint8Array(size);
    for (const start of starts) {
      for (const edge of [start * scale, (start + length) * scale])
        if (edge > 0 && edge < size) out.fill(1, Math.max(0, edge - band), Math.min(size, edge + band));
    }
    return out;
  };
  const rows = mask(plan.tops, plan.tileHeight, h);
  const columns = mask(plan.lefts, plan.tileWidth, w);
  const all = { max: 0, sum: 0, count: 0 };
  const border = { max: 0, sum: 0, count: 0 };
  const interior = { max: 0, sum: 0, count: 0 };
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const k = (p * h + i) * w + j;
        const e = Math.abs(a[k] - b[k]) / unit;
        for (const s of [all, rows[i] || columns[j] ? border : interior]) {
          s.max = Math.max(s.max, e);
          s.sum += e;
          s.count++;
        }
      }
    }
  }
  const summary = (s) => (s.count === 0 ? null : { max: s.max, mean: s.sum / s.count });
  return { all: summary(all), border: summary(border), interior: summary(interior) };
}

/** Bins of {@link errorProfile}, in latent pixels from the nearest inner tile edge. */
const PROFILE_BINS = [0, 2, 5, 10, 20, 40, Infinity];

/**
 * Mean |a - b| (divided by `unit`) of [N, C, H, W] image tensors by distance from the nearest inner tile edge, in
 * latent pixels (`factor` image pixels), binned by {@link PROFILE_BINS}; pixels with no inner edge are left out.
 */
function errorProfile(a, b, dims, plan, factor, unit) {
  const [n, c, h, w] = dims;
  const edges = (starts, length, size) => starts.flatMap((s) => [s * factor, (s + length) * factor]).filter((e) => e > 0 && e < size);
  const distance = (edgeList, size) =>
    Float64Array.from({ length: size }, (_, i) => Math.min(Infinity, ...edgeList.map((e) => Math.abs(i + 0.5 - e) / factor)));
  const rows = distance(edges(plan.tops, plan.tileHeight, h), h);
  const columns = distance(edges(plan.lefts, plan.tileWidth, w), w);
  const sum = new Float64Array(PROFILE_BINS.length - 1);
  const count = new Float64Array(PROFILE_BINS.length - 1);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const d = Math.min(rows[i], columns[j]);
        const bin = PROFILE_BINS.findIndex((low, k) => d >= low && d < PROFILE_BINS[k + 1]);
        if (bin < 0) continue;
        const k = (p * h + i) * w + j;
        sum[bin] += Math.abs(a[k] - b[k]) / unit;
        count[bin]++;
      }
    }
  }
  return Array.from(sum, (total, k) => ({ from: PROFILE_BINS[k], to: PROFILE_BINS[k + 1], mean: count[k] ? total / count[k] : null }));
}

// ---------------------------------------------------------------- child processes: one measured run each

/** Peak RSS of this process's address space from /proc/self/status (Linux), in MiB; null elsewhere. */
async function vmHwm() {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function child(job) {
  const baseline = process.resourceUsage().maxRSS;
  const vae = await loadVae(job.dir, sessionOptions(job.arena));
  const loaded = process.resourceUsage().maxRSS;
  const preset = TILING_PRESETS[job.preset];
  const range = vae.manifest.data.range;
  const result = { ...job, baselineMiB: mib(baseline), loadedMiB: mib(loaded) };
  if (job.kind === 'encode') {
    const x = await photo(job.size, range);
    const start = performance.now();
    const q = await tiledEncode(encodeWith(vae), x, { preset: job.preset });
    result.seconds = seconds(start);
    result.peakMiB = mib(process.resourceUsage().maxRSS);
    result.hwmMiB = await vmHwm();
    result.tiles = planTiles(job.size, job.size, { ...preset.encode, align: preset.factor }).tiles.length;
    result.latentDims = q.mean.dims;
    await writeFile(job.latent, q.mean.data);
  } else {
    const bytes = (await stat(job.latent)).size;
    const itemSize = bytes / 4;
    const side = job.size / preset.factor;
    const channels = itemSize / (side * side);
    // Read straight into the batch buffer (no extra copy in the peak); every item is the same latent.
    const data = new Float32Array(job.batch * itemSize);
    const file = await open(job.latent);
    await file.read(new Uint8Array(data.buffer, 0, bytes), 0, bytes, 0);
    await file.close();
    for (let b = 1; b < job.batch; b++) data.copyWithin(b * itemSize, 0, itemSize);
    const z = new VaeTensor(data, [job.batch, channels, side, side]);
    const start = performance.now();
    const image = job.kind === 'decode' ? await tiledDecode((tile) => vae.decode(tile), z, { preset: job.preset }) : await vae.decode(z);
    result.seconds = seconds(start);
    result.peakMiB = mib(process.resourceUsage().maxRSS);
    result.hwmMiB = await vmHwm();
    result.tiles = job.kind === 'decode' ? job.batch * planTiles(side, side, preset.decode).tiles.length : 0;
    // Quality after the measurement, so the photo does not count in the peak.
    const x = await photo(job.size, range);
    result.psnr = psnr(image.data.subarray(0, x.size), x.data, range);
  }
  await vae.dispose();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(job) {
  const started = performance.now();
  const out = spawnSync(process.execPath, [SCRIPT, '--child', JSON.stringify(job), '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (out.status !== 0) throw new Error(`child ${JSON.stringify(job)} failed (${out.status ?? out.signal}):\n${out.stderr}`);
  const line = out.stdout.trim().split('\n').pop();
  const result = JSON.parse(line);
  console.log(
    `  ${job.kind} ${job.size}^2 x${job.batch ?? 1} arena ${job.arena}: ${result.seconds.toFixed(1)} s, peak RSS ${result.peakMiB.toFixed(0)} MiB (${((performance.now() - started) / 1000).toFixed(0)} s wall)`,
  );
  return result;
}

// ---------------------------------------------------------------- tiled vs untiled on one photo

async function compare(model, size, decodeSettings, encodeSettings) {
  const vae = await loadVae(model.dir, sessionOptions('off'));
  const preset = TILING_PRESETS[model.preset];
  const factor = preset.factor;
  const range = vae.manifest.data.range;
  const unit = range[1] - range[0];
  const x = await photo(size, range);
  const q = await vae.encode(x);
  const reference = await vae.decode(q.mean);
  const rows = [{ what: 'untiled', psnr: psnr(reference.data, x.data, range) }];
  for (const overlap of [0, decodeSettings.overlap]) {
    const options = { preset: model.preset, tileSize: decodeSettings.tileSize, overlap };
    const tiled = await tiledDecode((tile) => vae.decode(tile), q.mean, options);
    const plan = planTiles(size / factor, size / factor, options);
    rows.push({
      what: 'decode',
      tileSize: options.tileSize,
      overlap,
      tiles: plan.tiles.length,
      image: differences(tiled.data, reference.data, tiled.dims, plan, factor, IMAGE_BAND, unit),
      profile: errorProfile(tiled.data, reference.data, tiled.dims, plan, factor, unit),
      psnr: psnr(tiled.data, x.data, range),
    });
  }
  for (const overlap of [0, encodeSettings.overlap]) {
    const options = { preset: model.preset, tileSize: encodeSettings.tileSize, overlap };
    const tiled = await tiledEncode(encodeWith(vae), x, options);
    const plan = planTiles(size, size, { ...options, align: factor });
    const latentPlan = {
      ...plan,
      tops: plan.tops.map((t) => t / factor),
      lefts: plan.lefts.map((l) => l / factor),
      tileHeight: plan.tileHeight / factor,
      tileWidth: plan.tileWidth / factor,
    };
    const decoded = await vae.decode(tiled.mean);
    rows.push({
      what: 'encode',
      tileSize: options.tileSize,
      overlap,
      tiles: plan.tiles.length,
      latent: differences(tiled.mean.data, q.mean.data, tiled.mean.dims, latentPlan, 1, LATENT_BAND),
      image: differences(decoded.data, reference.data, decoded.dims, plan, 1, IMAGE_BAND, unit),
      psnr: psnr(decoded.data, x.data, range),
    });
  }
  await vae.dispose();
  return { size, rows };
}

// ---------------------------------------------------------------- report

const f = (v, digits = 4) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
const pair = (s) => (s === null ? 'n/a' : `${f(s.max)} / ${f(s.mean)}`);

function compareTable(model, comparison) {
  const untiled = comparison.rows[0];
  const lines = [
    `${model} at ${comparison.size}x${comparison.size} (untiled reconstruction: PSNR ${f(untiled.psnr, 2)} dB against the photo)`,
    '',
    '| run | tile / overlap | tiles | all: max / mean | border: max / mean | interior: max / mean | border / interior mean | PSNR vs photo (dB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of comparison.rows.slice(1)) {
    const units = row.what === 'decode' ? 'latent px' : 'px';
    const ratio = (d) => (d.border && d.interior ? f(d.border.mean / d.interior.mean, 2) : 'n/a');
    if (row.what === 'decode') {
      lines.push(
        `| tiled decode, image | ${row.tileSize} / ${row.overlap} ${units} | ${row.tiles} | ${pair(row.image.all)} | ${pair(row.image.border)} | ${pair(row.image.interior)} | ${ratio(row.image)} | ${f(row.psnr, 2)} |`,
      );
    } else {
      lines.push(
        `| tiled encode, latent | ${row.tileSize} / ${row.overlap} ${units} | ${row.tiles} | ${pair(row.latent.all)} | ${pair(row.latent.border)} | ${pair(row.latent.interior)} | ${ratio(row.latent)} | |`,
      );
      lines.push(
        `| tiled encode, decoded untiled | ${row.tileSize} / ${row.overlap} ${units} | ${row.tiles} | ${pair(row.image.all)} | ${pair(row.image.border)} | ${pair(row.image.interior)} | ${ratio(row.image)} | ${f(row.psnr, 2)} |`,
      );
    }
  }
  const hard = comparison.rows.find((row) => row.what === 'decode' && row.overlap === 0);
  if (hard) {
    const bins = hard.profile.filter((b) => b.mean !== null).map((b) => `${b.from}-${b.to === Infinity ? '' : b.to}: ${f(b.mean)}`);
    lines.push('', `Mean error of the tiled decode without overlap by distance from the nearest inner tile edge (latent pixels): ${bins.join(', ')}.`);
  }
  return lines.join('\n');
}

function memoryTable(model, runs) {
  const lines = [
    `${model}, preset "${runs[0]?.preset}" (${JSON.stringify(TILING_PRESETS[runs[0]?.preset])})`,
    '',
    '| run | size | batch | ORT arena + mem pattern | tiles | time (s) | peak RSS (MiB) | VmHWM (MiB) | RSS after load (MiB) | PSNR vs photo (dB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of runs) {
    const what = r.kind === 'encode' ? 'tiled encode' : r.kind === 'decode' ? 'tiled decode' : 'untiled decode';
    lines.push(
      `| ${what} | ${r.size}x${r.size} | ${r.batch ?? 1} | ${r.arena} | ${r.tiles || 1} | ${f(r.seconds, 1)} | ${f(r.peakMiB, 0)} | ${f(r.hwmMiB, 0)} | ${f(r.loadedMiB, 0)} | ${r.psnr === undefined ? '' : f(r.psnr, 2)} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const sizes = list(args.sizes).map(Number);
  const arenas = list(args.arena);
  const untiledSizes = list(args['untiled-sizes']).map(Number);
  const load = loadavg()[0];
  const machine = `${machineLine(`onnxruntime-node ${ort.env.versions.node}`, `${threads} intra-op threads`)}; load average ${load.toFixed(1)} at start (the cores are shared with a training job, so times are noisy)`;
  const command = `npx tsc -b && nice -n 10 node bench/tiling.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const header = `Command: \`${command}\`, ${new Date().toISOString().slice(0, 10)}.\nMachine: ${machine}.\n`;
  const models = [];
  for (const name of list(args.models)) {
    const model = await modelFolder(name);
    if (!model) console.log(`${name}: not found, skipped.`);
    models.push({ name, model });
  }
  const missing = (name) => `### ${name}\n\nNot measured: the model was not present (${name === 'kl-f8' ? 'models/kl-f8' : TAESD}).`;
  try {
    // Memory first, while this process is small: a child's maxRSS starts from its parent's RSS at the fork.
    if (!args['skip-memory']) {
      const sections = [];
      for (const { name, model } of models) {
        if (!model) {
          sections.push(missing(name));
          continue;
        }
        console.log(`${name}: peak RSS and time, one child process per run`);
        const runs = [];
        for (const size of sizes) {
          const latent = join(tmpdir(), `onnx-vae-tiling-${name}-${size}-${process.pid}.f32`);
          const base = { dir: model.dir, preset: model.preset, size, latent, batch: 1 };
          try {
            runs.push(runChild({ ...base, kind: 'encode', arena: 'off' }));
            for (const arena of arenas) runs.push(runChild({ ...base, kind: 'decode', arena }));
            if (size === sizes[0]) runs.push(runChild({ ...base, kind: 'decode', arena: arenas[0], batch: 2 }));
            if (untiledSizes.includes(size)) for (const arena of arenas) runs.push(runChild({ ...base, kind: 'untiled', arena }));
          } finally {
            await rm(latent, { force: true });
          }
        }
        console.log(memoryTable(name, runs));
        sections.push(`### ${name}\n\n${memoryTable(name, runs)}`);
      }
      const notes =
        'Each size: the photo is encoded with `tiledEncode` (preset sizes), its latent saved, and decoded in fresh processes with `tiledDecode` (preset sizes; batch 2 = the same latent twice) and, for comparison, with one untiled `decode`. ' +
        'Peak RSS is `process.resourceUsage().maxRSS` of the child (model loading included; encode runs include reading and resizing the photo with sharp); "VmHWM" is the same peak from /proc/self/status. ' +
        '"RSS after load" is maxRSS right after `loadVae`. PSNR compares the decoded image (first item) with the photo at that size, in [0, 1]. ' +
        '"ORT arena + mem pattern" off = `loadVae(dir, { enableCpuMemArena: false, enableMemPattern: false })`.';
      if (!args['no-write'])
        await writeDocBlock(
          join(ROOT, 'docs', 'tiling.md'),
          'measure-tiling:memory',
          `${header}${notes}\n\n${sections.join('\n\n')}`,
          '# Tiled encoding and decoding',
        );
    }
    if (!args['skip-compare']) {
      const sections = [];
      for (const { name, model } of models) {
        if (!model) {
          sections.push(missing(name));
          continue;
        }
        const preset = TILING_PRESETS[model.preset];
        const parts = [`### ${name}`];
        console.log(`${name}: tiled vs untiled`);
        const half = (s) => ({ tileSize: s.tileSize / 2, overlap: s.overlap / 2 });
        for (const [size, decodeSettings, encodeSettings] of [
          [512, half(preset.decode), half(preset.encode)],
          [1024, preset.decode, preset.encode],
        ]) {
          const table = compareTable(name, await compare(model, size, decodeSettings, encodeSettings));
          console.log(table);
          parts.push(table);
        }
        sections.push(parts.join('\n\n'));
      }
      const notes =
        "Photo: scikit-image's astronaut.png (512x512), resized with sharp (lanczos3). The untiled encoder's latent is decoded untiled (the reference) and tiled; the photo is also encoded tiled and that latent decoded untiled. " +
        `Differences are in units of the data range; "border" = within ${IMAGE_BAND} image pixels (${LATENT_BAND} latent pixels for latents) of an inner tile edge, "interior" = the rest. ` +
        'At 512x512 the tiles are half the preset size (the preset tile is the whole image); at 1024x1024 they are the preset. Overlap 0 rows show the seams the ramps remove.';
      if (!args['no-write'])
        await writeDocBlock(
          join(ROOT, 'docs', 'tiling.md'),
          'measure-tiling:compare',
          `${header}${notes}\n\n${sections.join('\n\n')}`,
          '# Tiled encoding and decoding',
        );
    }
  } finally {
    for (const { model } of models) await model?.cleanup();
  }
}

if (args.child) await child(JSON.parse(args.child));
else await main();
