/**
 * The two bombs of issue 10, run as a user would (the CLI in a child process) under an RSS watchdog
 * (scripts/memory-watch.mjs polls /proc/PID/status and kills the child past a bound): a 16383x16383 1-bit PNG of
 * ~33 KB, and a 2,251-byte .vlat holding a [1, 4, 512, 512] latent. Both must end in LIMIT_EXCEEDED (exit 2) with a
 * bounded peak; and a tiled compress must read the image band by band (a lower peak than the whole read). Linux only.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { VaeTensor, crc32, encodeLatentFile, parseManifest } from '@onnx-vae/core';
import { decoderFingerprint } from '@onnx-vae/node';

const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'packages/cli/dist/main.js');
const WATCH = join(ROOT, 'scripts/memory-watch.mjs');
const KL_F8 = join(ROOT, 'models/kl-f8');
const linux = existsSync('/proc/self/status') ? describe : describe.skip;

/** A black 1-bit greyscale PNG of `side` x `side`, written without decoding anything (zlib over zero rows). */
function blackPng(side: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * side); // filter byte 0 and zero pixels on every row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

interface Watched {
  peakRssMb: number;
  killed: boolean;
  code: number | null;
  stderrTail: string;
}

function watched(limitMb: number, args: readonly string[]): Promise<Watched> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [WATCH, '--limit-mb', String(limitMb), '--', process.execPath, MAIN, ...args, '--no-progress', '--threads', '1']);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolvePromise(JSON.parse(stdout) as Watched));
  });
}

linux('bombs under an RSS watchdog', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-bombs-'));
    await writeFile(join(dir, 'bomb-16383.png'), blackPng(16383));
    await writeFile(join(dir, 'bomb-2048.png'), blackPng(2048));
    const manifest = parseManifest(await readFile(join(KL_F8, 'vae.json'), 'utf8'));
    const latent = new VaeTensor(new Float32Array(4 * 512 * 512), [1, 4, 512, 512]);
    await writeFile(join(dir, 'bomb.vlat'), encodeLatentFile(latent, { modelFingerprint: await decoderFingerprint(KL_F8, manifest) }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a 16383x16383 1-bit PNG (~33 KB) is refused before decoding: compress without --tile', async () => {
    expect((await readFile(join(dir, 'bomb-16383.png'))).length).toBeLessThan(40000);
    const run = await watched(1000, ['compress', KL_F8, join(dir, 'bomb-16383.png'), '-o', join(dir, 'out.vlat')]);
    expect(run.killed).toBe(false);
    expect(run.code).toBe(2);
    expect(run.stderrTail).toContain('error [LIMIT_EXCEEDED]: The image');
    expect(run.stderrTail).toContain('is 268,402,689 pixels, over the limit maxUntiledPixels of 4,194,304; tile it');
    expect(run.peakRssMb).toBeLessThan(400);
  });

  it.each([
    ['encode --tile', ['encode', KL_F8, 'PNG', '-o', 'OUT/x.npy', '--tile']],
    ['reconstruct --tile', ['reconstruct', KL_F8, 'PNG', '-o', 'OUT/x.png', '--tile']],
  ])('the same PNG through %s, which needs it whole, is refused at maxOutputPixels', async (_, args) => {
    const run = await watched(
      1000,
      args.map((a) => a.replace('PNG', join(dir, 'bomb-16383.png')).replace('OUT', dir)),
    );
    expect(run.code).toBe(2);
    expect(run.stderrTail).toContain('read whole is 268,402,689 pixels, over the limit maxOutputPixels of 67,108,864');
    expect(run.peakRssMb).toBeLessThan(400);
  });

  it('a 2,251-byte .vlat of a [1, 4, 512, 512] latent is refused before the decoder runs: decompress without --tile', async () => {
    expect((await readFile(join(dir, 'bomb.vlat'))).length).toBeLessThan(3000);
    const run = await watched(1000, ['decompress', KL_F8, join(dir, 'bomb.vlat'), '-o', join(dir, 'out.png')]);
    expect(run.killed).toBe(false);
    expect(run.code).toBe(2);
    expect(run.stderrTail).toContain('error [LIMIT_EXCEEDED]: The decoded output of latents [1, 4, 512, 512] without tiling is 16,777,216 pixels');
    expect(run.stderrTail).toContain('CLI `--tile`');
    expect(run.peakRssMb).toBeLessThan(400);
  });

  it('compress --tile reads the image band by band: a lower peak than reading it whole', async () => {
    // conv-moments with spatialFactor 4: a tiny conv VAE, so the run measures reading, not the encoder's work.
    const model = join(dir, 'conv-moments-f4');
    await cp(join(ROOT, 'models/fixtures/conv-moments'), model, { recursive: true });
    const manifest = JSON.parse(await readFile(join(model, 'vae.json'), 'utf8'));
    manifest.latent.spatialFactor = 4;
    await writeFile(join(model, 'vae.json'), JSON.stringify(manifest));
    const png = join(dir, 'bomb-2048.png');
    const tiled = await watched(1500, ['compress', model, png, '-o', join(dir, 'tiled.vlat'), '--tile']);
    const whole = await watched(1500, ['compress', model, png, '-o', join(dir, 'whole.vlat')]);
    console.log(`compress of a 2048x2048 PNG (conv-moments, factor 4): peak RSS ${tiled.peakRssMb} MB with --tile, ${whole.peakRssMb} MB read whole`);
    expect(tiled.code).toBe(0);
    expect(whole.code).toBe(0);
    // Whole: 2048^2 x 12 bytes of float32 RGB (48 MB) and the encoder's activations on all of it at once.
    expect(tiled.peakRssMb).toBeLessThan(whole.peakRssMb);
    expect(tiled.peakRssMb).toBeLessThan(400);
  });
});
