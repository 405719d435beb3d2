#!/usr/bin/env node
// Rate-distortion of the VAE latent codec (.vlat files: float32, float16, uint8-affine, DEFLATE level 9) against JPEG
// and WebP (sharp, quality 1..100) on real photos held out from kl-f8's training: bits per pixel against PSNR and
// SSIM (packages/core/src/image/metrics.ts). Writes the tables into docs/compression.md (between the rate-distortion
// markers; the text around them is kept) and draws docs/compression.png (an SVG rasterised by sharp).
//
//   npx tsc -b && node bench/rate-distortion.mjs [--models kl-f8,taef2] [--kl-f8-dir models/kl-f8]
//     [--taef2-dir ../shared/models/taesd] [--limit N] [--quality-step 1] [--threads 2] [--json results.json] [--no-write]
//
// Photos: the "test" rows of training/photos.txt (the photos onnx_vae_training.train_kl_f8 holds out), in the trainer's
// evaluation view: a photo with a shorter side of at most 768 px is centre-cropped to multiples of 8 at native size;
// a larger one is resized (sharp, lanczos3) to a shorter side of 768 px and centre-cropped to 512x512.
// Models: models/kl-f8 when it has a vae.json; TAEF2 from ../shared/models/taesd (loaded with the flux-2-tiny preset).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, cpus, loadavg, platform, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  LATENT_DTYPES,
  decodeLatentFile,
  encodeLatentFile,
  loadVae,
  pixelsToTensor,
  psnr,
  sha256Hex,
  ssim,
  tensorToPixels,
} from '../packages/node/dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireNode = createRequire(join(ROOT, 'packages', 'node', 'package.json'));
const sharp = requireNode('sharp');
const ORT_VERSION = requireNode('onnxruntime-node/package.json').version;

const PHOTO_LIST = join(ROOT, 'training', 'photos.txt');
const DOC = join(ROOT, 'docs', 'compression.md');
const PLOT = join(ROOT, 'docs', 'compression.png');
const BEGIN = '<!-- rate-distortion:begin -->';
const END = '<!-- rate-distortion:end -->';
/** The trainer's evaluation view (training/onnx_vae_training/data/photos.py: EVAL_SHORT_SIDE, EVAL_CROP; DOWN). */
const EVAL_SHORT_SIDE = 768;
const EVAL_CROP = 512;
const MULTIPLE = 8;
const DTYPES = Object.keys(LATENT_DTYPES); // float32, float16, uint8-affine
const CODECS = Object.freeze({
  jpeg: { label: 'JPEG', encode: (image, quality) => image.jpeg({ quality }) },
  webp: { label: 'WebP', encode: (image, quality) => image.webp({ quality }) },
});
/** Qualities listed in the doc's summary table of the JPEG / WebP curves (all of 1..100 go in the collapsed table). */
const SUMMARY_QUALITIES = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100];

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'kl-f8,taef2' },
    'kl-f8-dir': { type: 'string', default: join(ROOT, 'models', 'kl-f8') },
    'taef2-dir': { type: 'string', default: join(ROOT, '..', 'shared', 'models', 'taesd') },
    limit: { type: 'string' },
    'quality-step': { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
    json: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const threads = Number(args.threads);
const MODELS = Object.freeze({
  'kl-f8': { label: 'kl-f8', dir: args['kl-f8-dir'], needs: 'vae.json', options: {} },
  taef2: { label: 'TAEF2', dir: args['taef2-dir'], needs: 'taef2_encoder.onnx', options: { preset: 'flux-2-tiny' } },
});
const qualityStep = Number(args['quality-step']);
const qualities = [];
for (let q = 1; q < 100; q += qualityStep) qualities.push(q);
qualities.push(100);
sharp.concurrency(threads);
sharp.cache(false);

const log = (...parts) => console.log(...parts);
const mean = (values) => values.reduce((s, v) => s + v, 0) / values.length;
const fixed = (value, digits) => (value === null || value === undefined || Number.isNaN(value) ? '—' : value === Infinity ? '∞' : value.toFixed(digits));

// ---------------------------------------------------------------- photos

/** [{ path, credit, name }] of the held-out ("test") rows of training/photos.txt, refusing any training photo. */
async function heldOutPhotos() {
  const rows = (await readFile(PHOTO_LIST, 'utf8'))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [split, path, ...credit] = line.split(/\s+/);
      return { split, path, credit: credit.join(' ') };
    });
  const training = new Set(rows.filter((r) => r.split === 'train').map((r) => r.path));
  const photos = [];
  for (const row of rows.filter((r) => r.split === 'test')) {
    if (training.has(row.path)) throw new Error(`${row.path} is both a training and a test photo in ${PHOTO_LIST}.`);
    if (!existsSync(row.path)) {
      log(`skipping ${row.path}: not installed (see the apt-get line in training/photos.txt)`);
      continue;
    }
    const parts = row.path.split('/');
    const at = parts.indexOf('contents');
    photos.push({ ...row, name: at > 0 ? parts[at - 1] : parts.at(-1).replace(/\.[a-z]+$/i, '') });
  }
  return photos;
}

/** The trainer's evaluation view of a photo as 8-bit RGB: { pixels, width, height, source: [w, h], view }. */
async function evaluationView(path) {
  const { width: sourceWidth, height: sourceHeight } = await sharp(path).metadata();
  let image = sharp(path).removeAlpha().toColourspace('srgb');
  let width = sourceWidth;
  let height = sourceHeight;
  let cropWidth;
  let cropHeight;
  let view;
  if (Math.min(width, height) > EVAL_SHORT_SIDE) {
    const scale = EVAL_SHORT_SIDE / Math.min(width, height);
    width = Math.max(1, Math.round(width * scale));
    height = Math.max(1, Math.round(height * scale));
    image = image.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
    cropWidth = cropHeight = EVAL_CROP;
    view = `resized to ${width}x${height}, centre ${EVAL_CROP}x${EVAL_CROP}`;
  } else {
    cropWidth = Math.floor(width / MULTIPLE) * MULTIPLE;
    cropHeight = Math.floor(height / MULTIPLE) * MULTIPLE;
    view = cropWidth === width && cropHeight === height ? 'native' : `native, centre ${cropWidth}x${cropHeight}`;
  }
  const left = Math.floor((width - cropWidth) / 2);
  const top = Math.floor((height - cropHeight) / 2);
  // A second pipeline: sharp applies one extract either before or after a resize, so crop the resized raw pixels.
  const resized = await image.raw().toBuffer({ resolveWithObject: true });
  if (resized.info.channels !== 3) throw new Error(`${path}: expected 3 channels after removeAlpha/srgb, got ${resized.info.channels}`);
  const pixels = new Uint8Array(cropWidth * cropHeight * 3);
  for (let y = 0; y < cropHeight; y++) {
    const from = ((top + y) * width + left) * 3;
    pixels.set(resized.data.subarray(from, from + cropWidth * 3), y * cropWidth * 3);
  }
  return { pixels, width: cropWidth, height: cropHeight, source: [sourceWidth, sourceHeight], view };
}

// ---------------------------------------------------------------- codecs

const rawInput = (photo) =>
  sharp(Buffer.from(photo.pixels.buffer, photo.pixels.byteOffset, photo.pixels.length), { raw: { width: photo.width, height: photo.height, channels: 3 } });

/** Quality of a decoded 8-bit RGB image against the photo. */
function quality(photo, decoded) {
  return { psnr: psnr(photo.pixels, decoded), ssim: ssim(photo.pixels, decoded, photo.width, photo.height, 3) };
}

/**
 * Bytes of a baseline JPEG that are not entropy-coded data: the markers up to the end of the (single) start-of-scan
 * header, plus the 2-byte end-of-image marker.
 */
function jpegHeaderBytes(file) {
  let at = 2; // SOI
  while (at + 4 <= file.length) {
    if (file[at] !== 0xff) throw new Error(`unexpected JPEG byte 0x${file[at].toString(16)} at ${at}`);
    const marker = file[at + 1];
    const length = file.readUInt16BE(at + 2);
    at += 2 + length;
    if (marker === 0xda) return at + 2;
  }
  throw new Error('no start-of-scan marker in the JPEG');
}

/** One point of a JPEG / WebP curve: whole-file bytes, bpp, PSNR, SSIM. */
async function codecPoint(photo, codec, q) {
  const file = await CODECS[codec].encode(rawInput(photo), q).toBuffer();
  const decoded = await sharp(file).removeAlpha().raw().toBuffer();
  const point = { quality: q, bytes: file.length, bpp: (file.length * 8) / (photo.width * photo.height), ...quality(photo, decoded) };
  if (codec === 'jpeg') point.headerBytes = jpegHeaderBytes(file);
  return point;
}

/** Lossless reference: PNG at compression level 9 with adaptive filtering. */
async function pngBpp(photo) {
  const file = await rawInput(photo).png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer();
  return (file.length * 8) / (photo.width * photo.height);
}

/**
 * PSNR and SSIM of a curve (points in quality order) at a bitrate, linearly interpolated between the two adjacent
 * qualities whose bpp bracket it (the lowest such pair); `null` when no pair brackets it.
 */
function atBpp(curve, bpp) {
  for (let i = 0; i + 1 < curve.length; i++) {
    const low = curve[i];
    const high = curve[i + 1];
    if (low.bpp <= bpp && bpp <= high.bpp) {
      const t = high.bpp === low.bpp ? 0 : (bpp - low.bpp) / (high.bpp - low.bpp);
      return {
        qualities: [low.quality, high.quality],
        psnr: low.psnr + t * (high.psnr - low.psnr),
        ssim: low.ssim + t * (high.ssim - low.ssim),
      };
    }
  }
  return null;
}

/**
 * The bpp at which a curve (points in quality order) reaches a PSNR or SSIM, linearly interpolated between the two
 * adjacent qualities that bracket it (the lowest such pair); `null` when no pair does (below quality 1 or above 100).
 */
function bppAt(curve, metric, value) {
  for (let i = 0; i + 1 < curve.length; i++) {
    const low = curve[i];
    const high = curve[i + 1];
    if (low[metric] <= value && value <= high[metric]) {
      const t = high[metric] === low[metric] ? 0 : (value - low[metric]) / (high[metric] - low[metric]);
      return low.bpp + t * (high.bpp - low.bpp);
    }
  }
  return null;
}

// ---------------------------------------------------------------- VAE codec

/** Encodes, stores, reads back and decodes every photo with one model; one row per photo and dtype. */
async function measureModel(key, photos) {
  const spec = MODELS[key];
  if (!spec) throw new Error(`Unknown model "${key}"; use ${Object.keys(MODELS).join(', ')}.`);
  if (!existsSync(join(spec.dir, spec.needs))) {
    log(`skipping ${spec.label}: ${relative(ROOT, join(spec.dir, spec.needs))} does not exist`);
    return null;
  }
  const vae = await loadVae(spec.dir, { ...spec.options, intraOpNumThreads: threads, interOpNumThreads: 1 });
  try {
    const { range } = vae.manifest.data;
    const decoderPath = join(spec.dir, vae.manifest.decoder.file);
    const fingerprint = await sha256Hex(await readFile(decoderPath));
    const rows = [];
    for (const photo of photos) {
      const geometry = { width: photo.width, height: photo.height, channels: 3 };
      const x = pixelsToTensor(photo.pixels, geometry, { range, layout: 'NCHW', channels: 3 });
      const started = performance.now();
      const posterior = await vae.encode({ data: x, dims: [1, 3, photo.height, photo.width] });
      const encodeSeconds = (performance.now() - started) / 1000;
      for (const dtype of DTYPES) {
        const file = encodeLatentFile(posterior.mean, { modelFingerprint: fingerprint, dtype, imageSize: { height: photo.height, width: photo.width } });
        const { latent, header } = decodeLatentFile(file, { expectedFingerprint: fingerprint });
        const decodeStarted = performance.now();
        const image = await vae.decode(latent);
        const decodeSeconds = (performance.now() - decodeStarted) / 1000;
        const decoded = tensorToPixels(image.data, geometry, range, 'NCHW');
        const row = {
          photo: photo.name,
          dtype,
          latentDims: header.dims,
          bytes: file.length,
          payloadBytes: header.payloadLength,
          headerBytes: file.length - header.payloadLength,
          rawPayloadBytes: header.rawLength,
          bpp: (file.length * 8) / (photo.width * photo.height),
          ...quality(photo, decoded),
          encodeSeconds,
          decodeSeconds,
        };
        rows.push(row);
        log(`  ${spec.label} ${photo.name} ${dtype}: ${row.bytes} B (${row.bpp.toFixed(3)} bpp)  PSNR ${row.psnr.toFixed(2)} dB  SSIM ${row.ssim.toFixed(4)}`);
      }
    }
    return { key, label: spec.label, dir: relative(ROOT, spec.dir), range, fingerprint, latentShape: vae.manifest.latent.shape, rows };
  } finally {
    await vae.dispose();
  }
}

// ---------------------------------------------------------------- plot

const COLOURS = { jpeg: '#1f77b4', webp: '#ff7f0e', 'kl-f8': '#d62728', taef2: '#2ca02c' };
const MARKERS = { float32: 'circle', float16: 'square', 'uint8-affine': 'triangle' };
const SHORT = { float32: 'f32', float16: 'f16', 'uint8-affine': 'u8' };
const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function marker(shape, x, y, colour, size = 6) {
  if (shape === 'circle') return `<circle cx="${x}" cy="${y}" r="${size}" fill="${colour}" stroke="#000" stroke-width="0.8"/>`;
  if (shape === 'square')
    return `<rect x="${x - size}" y="${y - size}" width="${2 * size}" height="${2 * size}" fill="${colour}" stroke="#000" stroke-width="0.8"/>`;
  const h = size * 1.2;
  return `<polygon points="${x},${y - h} ${x - h},${y + h * 0.8} ${x + h},${y + h * 0.8}" fill="${colour}" stroke="#000" stroke-width="0.8"/>`;
}

/** "Nice" linear ticks covering [low, high]. */
function linearTicks(low, high, count) {
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.ceil(low / step - 1e-9) * step; v <= high + 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  return { ticks, step };
}

/**
 * One panel: bpp (log2 axis) against a metric; JPEG / WebP mean curves as lines, the VAE points as markers (one
 * colour per model, one shape per dtype) joined by a dashed line.
 */
function panel({ left, top, width, height, metric, yLabel, curves, models, xDomain, yDomain, digits }) {
  const [x0, x1] = xDomain.map(Math.log2);
  const [y0, y1] = yDomain;
  const px = (bpp) => left + ((Math.log2(bpp) - x0) / (x1 - x0)) * width;
  const py = (v) => top + height - ((v - y0) / (y1 - y0)) * height;
  const parts = [];
  parts.push(`<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="#fff" stroke="#333" stroke-width="1"/>`);
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    const x = px(2 ** e);
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + height}" stroke="#e4e4e4"/>`);
    parts.push(`<line x1="${x}" y1="${top + height}" x2="${x}" y2="${top + height + 5}" stroke="#333"/>`);
    const label = e >= 0 ? String(2 ** e) : `1/${2 ** -e}`;
    parts.push(`<text x="${x}" y="${top + height + 20}" text-anchor="middle" font-size="13">${label}</text>`);
  }
  for (const v of linearTicks(y0, y1, 6).ticks) {
    const y = py(v);
    parts.push(`<line x1="${left}" y1="${y}" x2="${left + width}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" stroke="#333"/>`);
    parts.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end" font-size="13">${v.toFixed(digits)}</text>`);
  }
  parts.push(`<text x="${left + width / 2}" y="${top + height + 42}" text-anchor="middle" font-size="14">bits per pixel (whole file; log scale)</text>`);
  parts.push(`<text transform="translate(${left - 52} ${top + height / 2}) rotate(-90)" text-anchor="middle" font-size="14">${escape(yLabel)}</text>`);
  parts.push(`<clipPath id="clip-${metric}"><rect x="${left}" y="${top}" width="${width}" height="${height}"/></clipPath>`);
  const plotted = [];
  for (const [codec, curve] of Object.entries(curves)) {
    const points = curve.map((p) => `${px(p.bpp).toFixed(1)},${py(p[metric]).toFixed(1)}`).join(' ');
    plotted.push(`<polyline points="${points}" fill="none" stroke="${COLOURS[codec]}" stroke-width="2.2"/>`);
    for (const p of curve.filter((p) => [10, 50, 90].includes(p.quality))) {
      plotted.push(`<circle cx="${px(p.bpp)}" cy="${py(p[metric])}" r="2.5" fill="${COLOURS[codec]}"/>`);
      plotted.push(`<text x="${px(p.bpp) + 4}" y="${py(p[metric]) + 14}" font-size="11" fill="${COLOURS[codec]}">q${p.quality}</text>`);
    }
  }
  for (const model of models) {
    const points = DTYPES.map((dtype) => model.summary[dtype]);
    plotted.push(
      `<polyline points="${points.map((p) => `${px(p.bpp).toFixed(1)},${py(p[metric]).toFixed(1)}`).join(' ')}" fill="none" stroke="${COLOURS[model.key]}" stroke-width="1.4" stroke-dasharray="5 4"/>`,
    );
    for (const dtype of DTYPES) {
      const p = model.summary[dtype];
      plotted.push(marker(MARKERS[dtype], px(p.bpp), py(p[metric]), COLOURS[model.key]));
      plotted.push(`<text x="${px(p.bpp)}" y="${py(p[metric]) - 11}" text-anchor="middle" font-size="11" fill="#222">${SHORT[dtype]}</text>`);
    }
  }
  parts.push(`<g clip-path="url(#clip-${metric})">${plotted.join('')}</g>`);
  return parts.join('\n');
}

function drawPlot(curves, models, photoCount) {
  const panelWidth = 520;
  const panelHeight = 380;
  const top = 60;
  const lefts = [80, 80 + panelWidth + 90];
  const width = lefts[1] + panelWidth + 30;
  const legendTop = top + panelHeight + 62;
  const all = [...Object.values(curves).flat(), ...models.flatMap((m) => DTYPES.map((d) => m.summary[d]))];
  const bpps = all.map((p) => p.bpp);
  const xDomain = [2 ** Math.floor(Math.log2(Math.min(...bpps))), 2 ** Math.ceil(Math.log2(Math.max(...bpps)))];
  const psnrs = all.map((p) => p.psnr);
  const ssims = all.map((p) => p.ssim);
  const psnrDomain = [Math.floor(Math.min(...psnrs) / 5) * 5, Math.ceil(Math.max(...psnrs) / 5) * 5];
  const ssimDomain = [Math.floor(Math.min(...ssims) * 10) / 10, 1];
  const legendRows = [
    [
      ...Object.keys(curves).map((codec) => ({ kind: 'line', colour: COLOURS[codec], text: `${CODECS[codec].label} (sharp, quality 1-100)` })),
      ...models.map((m) => ({ kind: 'dash', colour: COLOURS[m.key], text: `${m.label} latent (.vlat, DEFLATE)` })),
    ],
    DTYPES.map((dtype) => ({ kind: MARKERS[dtype], colour: '#999', text: `${SHORT[dtype]}: ${dtype} latent` })),
  ];
  const legend = legendRows.flatMap((row, r) => row.map((item, i) => ({ ...item, x: lefts[0] + i * 280, y: legendTop + r * 26 })));
  const legendParts = legend.map((item) => {
    const { x, y } = item;
    const symbol =
      item.kind === 'line'
        ? `<line x1="${x}" y1="${y}" x2="${x + 30}" y2="${y}" stroke="${item.colour}" stroke-width="2.2"/>`
        : item.kind === 'dash'
          ? `<line x1="${x}" y1="${y}" x2="${x + 30}" y2="${y}" stroke="${item.colour}" stroke-width="1.4" stroke-dasharray="5 4"/>`
          : marker(item.kind, x + 15, y, item.colour);
    return `${symbol}<text x="${x + 38}" y="${y + 4}" font-size="13">${escape(item.text)}</text>`;
  });
  const height = legendTop + legendRows.length * 26 + 6;
  const common = { top, width: panelWidth, height: panelHeight, curves, models, xDomain };
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${width / 2}" y="26" text-anchor="middle" font-size="17" font-weight="bold">Rate-distortion: mean over ${photoCount} held-out photos</text>
<text x="${lefts[0] + panelWidth / 2}" y="${top - 10}" text-anchor="middle" font-size="14">PSNR (RGB, 8-bit)</text>
<text x="${lefts[1] + panelWidth / 2}" y="${top - 10}" text-anchor="middle" font-size="14">SSIM (Rec. 601 luma, Gaussian 11x11, sigma 1.5)</text>
${panel({ ...common, left: lefts[0], metric: 'psnr', yLabel: 'PSNR (dB)', yDomain: psnrDomain, digits: 0 })}
${panel({ ...common, left: lefts[1], metric: 'ssim', yLabel: 'SSIM', yDomain: ssimDomain, digits: 2 })}
${legendParts.join('\n')}
</svg>`;
  return { svg, width, height };
}

// ---------------------------------------------------------------- report

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Mean over photos of a codec's points at one quality. */
function meanCurve(perPhoto, codec) {
  return qualities.map((q, i) => {
    const points = perPhoto.map((p) => p.curves[codec][i]);
    return { quality: q, bpp: mean(points.map((p) => p.bpp)), psnr: mean(points.map((p) => p.psnr)), ssim: mean(points.map((p) => p.ssim)) };
  });
}

function report({ photos, perPhoto, models, curves, environment }) {
  const lines = [];
  lines.push(
    `Generated by \`node bench/rate-distortion.mjs${environment.argv ? ` ${environment.argv}` : ''}\` on ${environment.date}: ${environment.cpu}, ${environment.cores} cores, ${environment.memory} GiB RAM, ${environment.platform}; Node ${environment.node}, onnxruntime-node ${environment.ort} (CPU, ${threads} intra-op threads), sharp ${environment.sharp} (libvips ${environment.vips}, mozjpeg ${environment.mozjpeg}, libwebp ${environment.webp}). Load average at the start: ${environment.load}.`,
  );
  lines.push('');
  lines.push('### Photos');
  lines.push('');
  lines.push(
    table(
      ['photo', 'file', 'source size', 'evaluated view', 'PNG (lossless) bpp', 'credit'],
      photos.map((p, i) => [
        p.name,
        `\`${p.path}\``,
        `${p.source[0]}x${p.source[1]}`,
        `${p.width}x${p.height} (${p.view})`,
        fixed(perPhoto[i].pngBpp, 2),
        escape(p.credit),
      ]),
    ),
  );
  lines.push('');
  lines.push(`![Rate-distortion plot: bpp against PSNR and SSIM](compression.png)`);
  lines.push('');
  lines.push('### VAE codec and JPEG / WebP at the same bits per pixel');
  lines.push('');
  lines.push(
    'Means over the photos. "JPEG / WebP at same bpp": each photo\'s JPEG (WebP) curve interpolated at that photo\'s `.vlat` bpp, then averaged; "—" where q=100 is still smaller than the `.vlat` file on some photo (the bracket count says on how many photos the bitrate was reached).',
  );
  lines.push('');
  const summaryRows = [];
  for (const model of models) {
    for (const dtype of DTYPES) {
      const s = model.summary[dtype];
      const matched = Object.keys(CODECS).flatMap((codec) => {
        const m = s.matched[codec];
        return m.count === photos.length ? [fixed(m.psnr, 2), fixed(m.ssim, 4)] : [`— (${m.count}/${photos.length})`, `— (${m.count}/${photos.length})`];
      });
      summaryRows.push([model.label, `\`${dtype}\``, fixed(s.bpp, 3), fixed(s.psnr, 2), fixed(s.ssim, 4), ...matched]);
    }
  }
  lines.push(table(['model', 'dtype', 'bpp', 'PSNR (dB)', 'SSIM', 'JPEG PSNR', 'JPEG SSIM', 'WebP PSNR', 'WebP SSIM'], summaryRows));
  lines.push('');
  lines.push(
    'The other way round: the bpp JPEG (WebP) needs for the `.vlat` file\'s PSNR (SSIM) on each photo, interpolated between adjacent qualities, mean over the photos, and the `.vlat` bpp divided by it ("x": how many times more bits the VAE codec spends for the same number). "(k/N)": the `.vlat` file\'s PSNR (SSIM) was within JPEG\'s (WebP\'s) range on only k of the N photos; the means and the ratio are over those k. "below quality 1": even quality 1 is better on every photo.',
  );
  lines.push('');
  const sameRows = [];
  for (const model of models) {
    for (const dtype of DTYPES) {
      const s = model.summary[dtype];
      const cells = Object.keys(CODECS).flatMap((codec) =>
        ['psnr', 'ssim'].map((metric) => {
          const m = s.sameQuality[`${codec}-${metric}`];
          if (m.count === 0) return m.below === photos.length ? 'below quality 1' : `— (0/${photos.length})`;
          return `${fixed(m.bpp, 3)} (${fixed(m.ratio, 1)}x)${m.count === photos.length ? '' : ` (${m.count}/${photos.length})`}`;
        }),
      );
      sameRows.push([model.label, `\`${dtype}\``, fixed(s.bpp, 3), ...cells]);
    }
  }
  lines.push(table(['model', 'dtype', '.vlat bpp', 'JPEG bpp, same PSNR', 'JPEG bpp, same SSIM', 'WebP bpp, same PSNR', 'WebP bpp, same SSIM'], sameRows));
  lines.push('');
  lines.push('### Where the bytes go');
  lines.push('');
  lines.push('Mean bytes per `.vlat` file. Header = 16-byte prefix + JSON header + 4-byte CRC-32; payload = the DEFLATEd values (raw = before DEFLATE).');
  lines.push('');
  const byteRows = [];
  for (const model of models) {
    for (const dtype of DTYPES) {
      const rows = model.rows.filter((r) => r.dtype === dtype);
      const header = mean(rows.map((r) => r.headerBytes));
      const payload = mean(rows.map((r) => r.payloadBytes));
      const raw = mean(rows.map((r) => r.rawPayloadBytes));
      byteRows.push([
        model.label,
        `\`${dtype}\``,
        fixed(header + payload, 0),
        `${fixed(header, 0)} (${fixed((100 * header) / (header + payload), 2)} %)`,
        fixed(payload, 0),
        fixed(raw, 0),
        fixed(payload / raw, 3),
      ]);
    }
  }
  lines.push(table(['model', 'dtype', 'file bytes', 'header bytes (share)', 'payload bytes', 'raw payload bytes', 'DEFLATE ratio'], byteRows));
  lines.push('');
  const jpegHeaders = perPhoto.flatMap((p) => p.curves.jpeg.map((point) => point.headerBytes));
  const jpegAt = (q) =>
    mean(
      perPhoto
        .map((p) => p.curves.jpeg.find((point) => point.quality === q))
        .filter(Boolean)
        .map((point) => point.bytes),
    );
  lines.push(
    `For comparison, sharp's JPEG files spend ${Math.min(...jpegHeaders)} to ${Math.max(...jpegHeaders)} bytes (mean ${fixed(mean(jpegHeaders), 0)}) on markers, quantisation and Huffman tables before the entropy-coded data (the start-of-scan header and the end-of-image marker included), for whole files of ${fixed(jpegAt(qualities[0]), 0)} bytes at quality ${qualities[0]} to ${fixed(jpegAt(100), 0)} bytes at quality 100 (means over the photos).`,
  );
  lines.push('');
  lines.push('<details><summary>Per photo</summary>');
  lines.push('');
  const photoRows = [];
  for (const model of models) {
    for (const row of model.rows) {
      const i = photos.findIndex((p) => p.name === row.photo);
      const matched = Object.keys(CODECS).flatMap((codec) => {
        const curve = perPhoto[i].curves[codec];
        const m = atBpp(curve, row.bpp);
        return m ? [`${m.qualities.join('–')}`, fixed(m.psnr, 2), fixed(m.ssim, 4)] : [`> 100 (${fixed(curve.at(-1).bpp, 2)} bpp)`, '—', '—'];
      });
      photoRows.push([
        model.label,
        row.photo,
        `\`${row.dtype}\``,
        `[${row.latentDims.join(', ')}]`,
        String(row.bytes),
        fixed(row.bpp, 3),
        fixed(row.psnr, 2),
        fixed(row.ssim, 4),
        ...matched,
      ]);
    }
  }
  lines.push(
    table(
      ['model', 'photo', 'dtype', 'latent', 'bytes', 'bpp', 'PSNR', 'SSIM', 'JPEG q', 'JPEG PSNR', 'JPEG SSIM', 'WebP q', 'WebP PSNR', 'WebP SSIM'],
      photoRows,
    ),
  );
  lines.push('');
  lines.push('</details>');
  lines.push('');
  lines.push('### JPEG and WebP curves');
  lines.push('');
  lines.push(
    'Means over the photos at each quality setting (sharp defaults otherwise: JPEG 4:2:0 chroma subsampling, optimised Huffman tables, baseline; WebP lossy, 4:2:0, effort 4). bpp counts the whole file.',
  );
  lines.push('');
  const curveRows = (list) =>
    list.map((q) => {
      const i = qualities.indexOf(q);
      return [
        String(q),
        ...Object.keys(CODECS).flatMap((codec) => [fixed(curves[codec][i].bpp, 3), fixed(curves[codec][i].psnr, 2), fixed(curves[codec][i].ssim, 4)]),
      ];
    });
  const curveHeader = ['quality', ...Object.values(CODECS).flatMap((c) => [`${c.label} bpp`, `${c.label} PSNR`, `${c.label} SSIM`])];
  lines.push(table(curveHeader, curveRows(SUMMARY_QUALITIES.filter((q) => qualities.includes(q)))));
  lines.push('');
  lines.push('<details><summary>Every quality</summary>');
  lines.push('');
  lines.push(table(curveHeader, curveRows(qualities)));
  lines.push('');
  lines.push('</details>');
  return lines.join('\n');
}

async function writeDoc(block) {
  let text = existsSync(DOC) ? await readFile(DOC, 'utf8') : `# Compression: rate-distortion\n\n${BEGIN}\n${END}\n`;
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC} lacks the ${BEGIN} ... ${END} markers; add them where the results go.`);
  text = `${text.slice(0, start + BEGIN.length)}\n${block}\n${text.slice(end)}`;
  await writeFile(DOC, text);
}

// ---------------------------------------------------------------- main

const started = performance.now();
let photos = await heldOutPhotos();
if (args.limit) photos = photos.slice(0, Number(args.limit));
if (photos.length === 0) throw new Error(`No held-out photo of ${PHOTO_LIST} is installed; install the packages it lists.`);
log(`${photos.length} photos; qualities ${qualities[0]}..100 step ${qualityStep}`);
for (const photo of photos) Object.assign(photo, await evaluationView(photo.path));

const perPhoto = [];
for (const photo of photos) {
  const curves = {};
  for (const codec of Object.keys(CODECS)) {
    curves[codec] = [];
    for (const q of qualities) curves[codec].push(await codecPoint(photo, codec, q));
  }
  perPhoto.push({ photo: photo.name, pngBpp: await pngBpp(photo), curves });
  log(
    `  ${photo.name} ${photo.width}x${photo.height}: JPEG ${curves.jpeg[0].bpp.toFixed(3)}..${curves.jpeg.at(-1).bpp.toFixed(2)} bpp, WebP ${curves.webp[0].bpp.toFixed(3)}..${curves.webp.at(-1).bpp.toFixed(2)} bpp`,
  );
}
const curves = Object.fromEntries(Object.keys(CODECS).map((codec) => [codec, meanCurve(perPhoto, codec)]));

const models = [];
for (const key of args.models
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)) {
  const measured = await measureModel(key, photos);
  if (!measured) continue;
  measured.summary = Object.fromEntries(
    DTYPES.map((dtype) => {
      const rows = measured.rows.filter((r) => r.dtype === dtype);
      const matched = Object.fromEntries(
        Object.keys(CODECS).map((codec) => {
          const found = rows.map((r) => atBpp(perPhoto[photos.findIndex((p) => p.name === r.photo)].curves[codec], r.bpp)).filter(Boolean);
          return [
            codec,
            { count: found.length, psnr: found.length ? mean(found.map((m) => m.psnr)) : null, ssim: found.length ? mean(found.map((m) => m.ssim)) : null },
          ];
        }),
      );
      const sameQuality = Object.fromEntries(
        Object.keys(CODECS).flatMap((codec) =>
          ['psnr', 'ssim'].map((metric) => {
            const found = [];
            let below = 0;
            for (const r of rows) {
              const curve = perPhoto[photos.findIndex((p) => p.name === r.photo)].curves[codec];
              const bpp = bppAt(curve, metric, r[metric]);
              if (bpp !== null) found.push({ bpp, vlat: r.bpp });
              else if (r[metric] < curve[0][metric]) below++;
            }
            const ratio = found.length ? mean(found.map((f) => f.vlat)) / mean(found.map((f) => f.bpp)) : null;
            return [`${codec}-${metric}`, { count: found.length, below, bpp: found.length ? mean(found.map((f) => f.bpp)) : null, ratio }];
          }),
        ),
      );
      return [dtype, { bpp: mean(rows.map((r) => r.bpp)), psnr: mean(rows.map((r) => r.psnr)), ssim: mean(rows.map((r) => r.ssim)), matched, sameQuality }];
    }),
  );
  models.push(measured);
}
if (models.length === 0) log('no VAE model found; the report holds the JPEG / WebP curves only');

const environment = {
  argv: process.argv
    .slice(2)
    .join(' ')
    .replace(/--json(=|\s+)\S+\s*/, '')
    .trim(),
  date: new Date().toISOString().slice(0, 10),
  cpu: cpus()[0]?.model ?? 'unknown CPU',
  cores: cpus().length,
  memory: (totalmem() / 2 ** 30).toFixed(0),
  platform: `${platform()} ${arch()}`,
  node: process.versions.node,
  ort: ORT_VERSION,
  sharp: sharp.versions.sharp,
  vips: sharp.versions.vips,
  mozjpeg: sharp.versions.mozjpeg,
  webp: sharp.versions.webp,
  load: loadavg()
    .map((v) => v.toFixed(2))
    .join(', '),
};
const block = report({ photos, perPhoto, models, curves, environment });
const { svg } = drawPlot(curves, models, photos.length);
log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (args.json) {
  const strip = ({ pixels: _pixels, ...rest }) => rest;
  await writeFile(args.json, JSON.stringify({ environment, photos: photos.map(strip), perPhoto, curves, models }, null, 1));
}
if (args['no-write']) {
  log(block);
} else {
  await sharp(Buffer.from(svg)).png().toFile(PLOT);
  await writeDoc(block);
  log(`wrote ${relative(ROOT, DOC)} and ${relative(ROOT, PLOT)}`);
}
