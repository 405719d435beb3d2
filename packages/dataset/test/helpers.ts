/**
 * Test helpers of the dataset package: fixture paths, a generated image dataset, a private redis-server per suite,
 * the built CLI as a child process, and safetensors/npy checks in Python where /usr/bin/python3 has numpy.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { testFixtures } from '@onnx-vae/core/testing';

const fixtures = testFixtures(__dirname);
export const ROOT = fixtures.root;
export const KL_F8 = fixtures.model('kl-f8');
export const MNIST = fixtures.model('mnist-vae');
/** The built `onnx-vae` CLI entry (`tsc -b` makes it; `pnpm test` builds first). */
export const BIN = join(ROOT, 'packages/cli/dist/main.js');
export const REDIS_SERVER = '/usr/bin/redis-server';
export const PYTHON = '/usr/bin/python3';

/** Whether /usr/bin/python3 with numpy is here. */
export function hasNumpy(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Deterministic noise pixels with a gradient, so images differ and have structure. */
export function pixels(width: number, height: number, seed: number): Buffer {
  const out = Buffer.alloc(width * height * 3);
  let s = seed * 2654435761;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        out[(y * width + x) * 3 + c] = ((x * 7 + y * 3 + c * 50 + seed * 31) % 200) + (s >>> 27);
      }
    }
  }
  return out;
}

/** Writes an image of the given size and format. */
export async function writeImage(path: string, width: number, height: number, seed: number): Promise<void> {
  const image = sharp(pixels(width, height, seed), { raw: { width, height, channels: 3 } });
  const format = path.endsWith('.jpg') ? image.jpeg({ quality: 95 }) : path.endsWith('.webp') ? image.webp({ lossless: true }) : image.png();
  await writeFile(path, await format.toBuffer());
}

/**
 * A small dataset: `count` images of varied sizes and formats in a folder and a subfolder, plus the bad items
 * `broken.png` (not an image), `tiny.png` (4x4) when `bad` is true.
 */
export async function makeImageFolder(folder: string, count: number, bad = false): Promise<string[]> {
  await mkdir(join(folder, 'sub'), { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const extension = ['png', 'jpg', 'webp'][i % 3]!;
    const name = `${i % 2 === 0 ? '' : 'sub/'}img-${String(i).padStart(3, '0')}.${extension}`;
    await writeImage(join(folder, name), 40 + (i % 4) * 8, 36 + (i % 3) * 10, i + 1);
    names.push(name);
  }
  if (bad) {
    await writeFile(join(folder, 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is not the rest of a png'));
    await writeImage(join(folder, 'tiny.png'), 4, 4, 99);
  }
  return names;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

/** A private redis-server without persistence. */
export interface RedisServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port (`--save '' --appendonly no`), ready within 10 s. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((done, fail) => {
    const deadline = setTimeout(() => fail(new Error(`redis-server did not accept connections on port ${port} within 10s`)), 10_000);
    const poll = (): void => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        socket.destroy();
        if (data.toString().startsWith('+PONG')) {
          clearTimeout(deadline);
          done();
        } else setTimeout(poll, 100);
      });
      socket.on('error', () => {
        socket.destroy();
        setTimeout(poll, 100);
      });
    };
    child.on('exit', (code) => fail(new Error(`redis-server exited with code ${code}`)));
    poll();
  });
  return {
    url: `redis://127.0.0.1:${port}/0`,
    stop: () => stopProcess(child),
  };
}

/** Sends SIGTERM and waits (then SIGKILL after 10 s). */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(hard);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** A CLI child process with its output collected. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code (or the signal name) when it ends. */
  readonly exited: Promise<number | string>;
}

/** Starts `onnx-vae ARGS` (`node packages/cli/dist/main.js`; one onnxruntime thread, to share the two cores). */
export function startCli(args: readonly string[]): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args, '--threads', '1', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? -1)));
  return { child, output: () => output, exited };
}

/** Waits until `check` is true, polling every 50 ms, failing after `ms`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a Python script with numpy; returns its stdout parsed as JSON. */
export function python(script: string, args: readonly string[]): unknown {
  return JSON.parse(execFileSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' }));
}
