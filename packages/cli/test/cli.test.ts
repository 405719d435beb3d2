/**
 * The `onnx-vae` CLI, run as a child process from packages/node/dist (built by `tsc -b`, which `pnpm test` runs
 * first), against the fixtures and the shipped MNIST model; its numbers are compared with the API run in-process.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { VaeTensor, pixelValueTable, readOnnxSummary, tensorToPixels } from '@onnx-vae/core';
import type { Vae } from '@onnx-vae/core';
import { loadVae } from '@onnx-vae/node';
import { encodeNpy, readNpy } from '@onnx-vae/node';
import { nodeImageCodec } from '@onnx-vae/node';
import { MODEL_FIXTURES, testFixtures } from '@onnx-vae/core/testing';
import { runCli } from '../src/run';

const fixtures = testFixtures(__dirname);
const ROOT = fixtures.root;
const MAIN = join(ROOT, 'packages/cli/dist/main.js');
const MLP = fixtures.model(MODEL_FIXTURES.probs);
const CONV = fixtures.model(MODEL_FIXTURES.convMoments);
const MNIST = fixtures.model('mnist-vae');
const VERSION = '0.1.0';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with one onnxruntime thread (the test machine is shared). */
function cli(args: readonly string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, ONNX_VAE_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
  });
}

/**
 * Runs the CLI in this process, in `cwd` (for the table-driven cases: the same code as main.js without the cost of
 * starting node, onnxruntime and sharp for each case).
 */
async function inProcess(args: readonly string[], cwd = ROOT): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const previous = process.cwd();
  process.chdir(cwd);
  try {
    const status = await runCli(
      args,
      { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t), isTTY: false } },
      VERSION,
    );
    return { status, stdout, stderr };
  } finally {
    process.chdir(previous);
  }
}

const ONE_THREAD = ['--threads', '1'];

function expectNoStack(run: Run): void {
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function png(path: string, pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<void> {
  await sharp(Buffer.from(pixels), { raw: { width, height, channels } }).png().toFile(path);
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first with "npx tsc -b" (pnpm test builds before jest).`);
});

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'onnx-vae-cli-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** A fresh folder under the test's temporary folder. */
async function folder(name: string): Promise<string> {
  const path = join(work, name);
  await mkdir(path, { recursive: true });
  return path;
}

describe('usage, help and errors', () => {
  let dir: string;
  let x: string;
  beforeAll(async () => {
    dir = await folder('usage');
    x = join(dir, 'x.npy');
    await writeFile(
      x,
      encodeNpy(
        new VaeTensor(
          Float32Array.from({ length: 18 }, (_, i) => (i % 7) / 7),
          [3, 6],
        ),
      ),
    );
    await png(join(dir, 'x.png'), new Uint8Array(6), 3, 2, 1);
  });

  it('prints the version and the help', async () => {
    const [version, help] = await Promise.all([cli(['--version']), cli(['--help'])]);
    const encodeHelp = await inProcess(['encode', '-h']);
    const reconstructHelp = await inProcess(['help', 'reconstruct']);
    expect(version).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect(help.status).toBe(0);
    expect(help.stdout.startsWith('Usage: onnx-vae <command> <model-folder> [inputs...] [options]\n')).toBe(true);
    for (const command of ['info', 'encode', 'decode', 'reconstruct', 'generate', 'score']) expect(help.stdout).toMatch(new RegExp(`\\n  ${command} +\\S`));
    expect(encodeHelp.status).toBe(0);
    expect(encodeHelp.stdout.split('\n')[0]).toBe(
      'Usage: onnx-vae encode <model> <inputs...> -o <out.npy> [--sample] [--seed N] [--logvar <file.npy>] [options]',
    );
    expect(encodeHelp.stdout).toMatch(/\n {2}-o, --output FILE\.npy +where to write the latents\n/);
    expect(reconstructHelp.stdout).toMatch(/each group is one row of originals/);
  });

  it("aligns the common options' descriptions with the command's own in a command's help", async () => {
    const help = await inProcess(['help', 'worker']);
    const options = help.stdout
      .slice(help.stdout.indexOf('Options:\n') + 'Options:\n'.length)
      .trimEnd()
      .split('\n');
    expect(options.slice(0, 4)).toEqual([
      '      --queue redis://HOST:PORT[/DB]  the Redis of the BullMQ queue',
      '      --name NAME                     queue name, one per dataset (default "dataset")',
      '      --concurrency N                 shard jobs at once in this process (default 1)',
      "      --lock-duration MS              job lock; a killed worker's job is retried after it (default 30000)",
    ]);
    expect(options).toContain('      --device cpu|cuda               execution provider (default cpu; cuda falls back to cpu with a warning)');
    expect(options.at(-1)).toBe('  -h, --help                          show this help');
    expect(new Set(options.map((line) => line.search(/(?<=\S)  +\S/) + line.slice(line.search(/(?<=\S)  +\S/)).search(/\S/))).size).toBe(1);
  });

  it('exits with 2, without a stack trace, on usage errors and bad inputs (real processes)', async () => {
    const runs = await Promise.all([
      cli(['frobnicate', MLP], dir),
      cli(['encode', MLP, 'x.npy', '-o', 'z.npy', '--bogus'], dir),
      cli(['encode', 'no-such-model', 'x.npy', '-o', 'z.npy'], dir),
      cli(['decode', MLP, 'x.npy', '-o', 'd.npy', ...ONE_THREAD], dir),
    ]);
    expect(runs.map((r) => r.status)).toEqual([2, 2, 2, 2]);
    expect(
      runs[0]!.stderr.startsWith(
        'onnx-vae: unknown command "frobnicate"; the commands are info, encode, decode, reconstruct, generate, score, compress, decompress, encode-dataset, worker, dataset-status, serve.\n\nUsage: onnx-vae <command>',
      ),
    ).toBe(true);
    expect(runs[1]!.stderr.startsWith('onnx-vae encode: unknown option --bogus for "encode".\n\nUsage: onnx-vae encode <model>')).toBe(true);
    expect(runs[2]!.stderr).toBe(
      'onnx-vae: error [MODEL_FILE_NOT_FOUND]: The model folder no-such-model does not exist; pass a folder holding vae.json and the two ONNX files it names.\n',
    );
    expect(runs[3]!.stderr).toBe(
      'onnx-vae: error [SHAPE_MISMATCH]: x.npy has shape [3, 6] but model "mlp-probs" takes latent items of shape [2]: pass an array of shape [N, 2] or one item of shape [2].\n',
    );
    for (const run of runs) {
      expect(run.stdout).toBe('');
      expectNoStack(run);
    }
  });

  it.each([
    [
      'an unknown command',
      ['frobnicate', MLP],
      'onnx-vae: unknown command "frobnicate"; the commands are info, encode, decode, reconstruct, generate, score, compress, decompress, encode-dataset, worker, dataset-status, serve.\n\nUsage: onnx-vae <command>',
    ],
    ['an option instead of a command', ['--frobnicate'], 'onnx-vae: unknown option "--frobnicate"; the commands are'],
    ['no command', [], 'onnx-vae: missing the command.\n\nUsage: onnx-vae <command>'],
    [
      'an unknown option',
      ['encode', MLP, 'x.npy', '-o', 'z.npy', '--bogus'],
      'onnx-vae encode: unknown option --bogus for "encode".\n\nUsage: onnx-vae encode <model>',
    ],
    ['an unknown short option', ['score', MLP, 'x.npy', '-q'], 'onnx-vae score: unknown option -q for "score".\n\nUsage: onnx-vae score <model>'],
    ['an option of another command', ['score', MLP, 'x.npy', '--logvar', 'lv.npy'], 'onnx-vae score: unknown option --logvar for "score".'],
    ['a missing -o', ['encode', MLP, 'x.npy'], 'onnx-vae encode: missing -o <out.npy>.\n\nUsage: onnx-vae encode'],
    ['neither -o nor --out-dir', ['generate', MLP], 'onnx-vae generate: missing -o <out.png|out.npy> (or --out-dir <dir>).\n\nUsage: onnx-vae generate'],
    ['a missing option value', ['score', MLP, 'x.npy', '--samples'], 'onnx-vae score: option --samples needs a value (--samples k).\n\nUsage: onnx-vae score'],
    ['a value for a flag', ['score', MLP, 'x.npy', '--json=yes'], 'onnx-vae score: option --json takes no value but was given "yes".'],
    ['--json with --csv', ['score', MLP, 'x.npy', '--json', '--csv'], 'onnx-vae score: --json and --csv cannot be combined.'],
    ['missing inputs', ['encode', MLP, '-o', 'z.npy'], 'onnx-vae encode: missing the input files (images or .npy arrays) after the model folder.\n\nUsage'],
    ['inputs to info', ['info', MLP, 'x.npy'], 'onnx-vae info: "info" takes no inputs after the model folder but received "x.npy".'],
    ['a missing model folder argument', ['info'], 'onnx-vae info: missing the model folder.\n\nUsage: onnx-vae info'],
    ['a worker without --queue', ['worker', MLP], 'onnx-vae worker: missing --queue redis://HOST:PORT[/DB].\n\nUsage: onnx-vae worker'],
    [
      'dataset-status without --queue',
      ['dataset-status'],
      'onnx-vae dataset-status: missing --queue redis://HOST:PORT[/DB].\n\nUsage: onnx-vae dataset-status',
    ],
    ['encode-dataset without -o', ['encode-dataset', MLP, 'photos'], 'onnx-vae encode-dataset: missing -o <out-dir>.\n\nUsage: onnx-vae encode-dataset'],
  ])('prints the usage and returns 2 on %s', async (_case, args, start) => {
    const run = await inProcess(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.startsWith(start)).toBe(true);
    expect(run.stderr).toMatch(/\n\nUsage: onnx-vae /);
  });

  it.each([
    [
      'a missing model folder',
      ['encode', 'no-such-model', 'x.npy', '-o', 'z.npy'],
      'MODEL_FILE_NOT_FOUND',
      'The model folder no-such-model does not exist; pass a folder holding vae.json and the two ONNX files it names.',
    ],
    ['a missing input', ['encode', MLP, 'missing.npy', '-o', 'z.npy'], 'INVALID_INPUT', 'missing.npy: file not found.'],
    [
      'a bad --seed',
      ['encode', MLP, 'x.npy', '-o', 'z.npy', '--sample', '--seed', '-3'],
      'INVALID_OPTION',
      'Expected --seed to be an integer >= 0 but received "-3".',
    ],
    ['a bad --samples', ['score', MLP, 'x.npy', '--samples', '2.5'], 'INVALID_OPTION', 'Expected --samples to be an integer >= 1 but received "2.5".'],
    [
      'a bad --max-batch',
      ['encode', MLP, 'x.npy', '-o', 'z.npy', '--max-batch', '0'],
      'INVALID_OPTION',
      'Expected --max-batch to be an integer >= 1 but received "0".',
    ],
    [
      'a bad --device',
      ['encode', MLP, 'x.npy', '-o', 'z.npy', '--device', 'tpu'],
      'INVALID_OPTION',
      'Expected "device" to be one of "cpu", "cuda" but received "tpu".',
    ],
    [
      'a bad --latent-shape',
      ['generate', MLP, '-o', 'g.npy', '--latent-shape', '2,x'],
      'INVALID_OPTION',
      'Expected --latent-shape to be positive integers separated by commas (e.g. 4,32,32) but received "2,x".',
    ],
    ['a wrong output format', ['encode', MLP, 'x.npy', '-o', 'z.png'], 'INVALID_OPTION', 'Expected -o to name a .npy file but received "z.png".'],
    [
      'a wrong --logvar format',
      ['encode', MLP, 'x.npy', '-o', 'z.npy', '--logvar', 'lv.txt'],
      'INVALID_OPTION',
      'Expected --logvar to name a .npy file but received "lv.txt".',
    ],
    ['a missing output folder', ['encode', MLP, 'x.npy', '-o', 'nowhere/z.npy'], 'INVALID_OPTION', 'Cannot write -o nowhere/z.npy: the folder '],
    [
      'a PNG of a model without image geometry',
      ['reconstruct', MLP, 'x.npy', '-o', 'r.png'],
      'INVALID_OPTION',
      'Model "mlp-probs" has flat items without an image geometry (no data.image in vae.json), so -o cannot be a PNG; write .npy instead.',
    ],
    [
      'an image for a model without image geometry',
      ['encode', MLP, 'x.png', '-o', 'z.npy'],
      'INVALID_INPUT',
      'Model "mlp-probs" takes flat items without an image geometry (no data.image in its manifest), so it cannot read the image x.png; pass tensors (or .npy arrays) instead.',
    ],
    [
      'latents of the wrong shape',
      ['decode', MLP, 'x.npy', '-o', 'd.npy'],
      'SHAPE_MISMATCH',
      'x.npy has shape [3, 6] but model "mlp-probs" takes latent items of shape [2]: pass an array of shape [N, 2] or one item of shape [2].',
    ],
  ])('prints "error [CODE]" and returns 2 on %s', async (_case, args, code, message) => {
    const run = await inProcess([...args, ...ONE_THREAD], dir);
    expect(run.status).toBe(2);
    expect(run.stderr.startsWith(`onnx-vae: error [${code}]: ${message}`)).toBe(true);
    expect(run.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('rejects a corrupt .npy and leaves no output file behind', async () => {
    const corrupt = join(dir, 'corrupt.npy');
    await writeFile(corrupt, Buffer.from('this is not numpy'));
    const truncated = join(dir, 'truncated.npy');
    await writeFile(truncated, (await readFile(x)).subarray(0, 140));
    const before = (await readdir(dir)).sort();
    const [bad, short] = await Promise.all([
      cli(['encode', MLP, x, corrupt, '-o', join(dir, 'z.npy'), ...ONE_THREAD]),
      cli(['reconstruct', MLP, truncated, '-o', join(dir, 'r.npy'), ...ONE_THREAD]),
    ]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      `onnx-vae: error [FILE_CORRUPT]: ${corrupt} is not a readable .npy file: it does not start with the magic string "\\x93NUMPY" (write it with numpy.save).\n`,
    );
    expect(short.status).toBe(2);
    expect(short.stderr).toBe(
      `onnx-vae: error [FILE_CORRUPT]: ${truncated} is not a readable .npy file: its header says shape (3, 6) of <f4, which is 72 bytes of data, but 12 bytes follow the header (the file is truncated).\n`,
    );
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('leaves no output file when the model rejects the data after loading', async () => {
    const outside = join(dir, 'outside.npy');
    await writeFile(outside, encodeNpy({ data: Float32Array.of(0, 0.5, 1, 2, 0, 0), dims: [6] }));
    const before = (await readdir(dir)).sort();
    const [score, decode] = await Promise.all([
      cli(['score', MLP, outside, '--json', ...ONE_THREAD]),
      cli(['decode', CONV, outside, '-o', join(dir, 'd.png'), ...ONE_THREAD]),
    ]);
    expect(score.status).toBe(2);
    expect(score.stdout).toBe('');
    expect(score.stderr).toBe(
      'onnx-vae: error [INVALID_INPUT]: Model "mlp-probs" has a Bernoulli decoder, so score() needs x in [0, 1], but x holds 2 at flat index 3.\n',
    );
    expect(decode.status).toBe(2);
    expect(decode.stderr).toMatch(
      /^onnx-vae: error \[SHAPE_MISMATCH\]: .*outside\.npy has shape \[6\] but model "conv-moments" takes latent items of shape \[4, \*, \*\]/,
    );
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('info refuses a graph linked to /dev/zero without reading it (exit 2, a typed error)', async () => {
    const model = join(dir, 'dev-zero');
    await cp(MLP, model, { recursive: true });
    await rm(join(model, 'encoder.onnx'));
    await symlink('/dev/zero', join(model, 'encoder.onnx'));
    const run = await inProcess(['info', model, ...ONE_THREAD]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      `onnx-vae: error [MODEL_FILE_REFUSED]: The encoder graph ${join(model, 'encoder.onnx')} leads outside the model folder (to /dev/zero); model files must be regular files inside the folder after resolving symlinks. Copy the file in, or pass allowOutsideLinks: true to follow links out of the folder.\n`,
    );
  });

  it('reports a manifest that does not match its graphs after printing the summary', async () => {
    const model = join(dir, 'mismatch');
    await cp(MLP, model, { recursive: true });
    const manifest = JSON.parse(await readFile(join(model, 'vae.json'), 'utf8'));
    manifest.encoder.input = 'image';
    await writeFile(join(model, 'vae.json'), JSON.stringify(manifest));
    const run = await inProcess(['info', model, '--json', ...ONE_THREAD]);
    expect(run.status).toBe(2);
    expect(JSON.parse(run.stdout).check).toEqual({
      ok: false,
      code: 'MODEL_MISMATCH',
      message: 'encoder.onnx: manifest says input "image" (data) but the graph\'s inputs are [x].',
    });
    expect(run.stderr).toBe('onnx-vae: error [MODEL_MISMATCH]: encoder.onnx: manifest says input "image" (data) but the graph\'s inputs are [x].\n');
  });
});

describe('commands on the fixtures, against the API', () => {
  let dir: string;
  let vae: Vae;
  const x = new VaeTensor(
    Float32Array.from({ length: 30 }, (_, i) => ((i * 5) % 11) / 10),
    [5, 6],
  );
  const items = (t: VaeTensor): number[][] => Array.from({ length: t.dims[0]! }, (_, i) => Array.from(t.slice(i, i + 1).data));

  beforeAll(async () => {
    dir = await folder('fixtures');
    await writeFile(join(dir, 'x.npy'), encodeNpy(x.slice(0, 4)));
    await writeFile(join(dir, 'x1.npy'), encodeNpy(new VaeTensor(x.slice(4, 5).data, [6])));
    vae = await loadVae(MLP, { intraOpNumThreads: 1 });
  });
  afterAll(() => vae.dispose());

  it('info --json: manifest, graphs, parameters, sizes and sha256 hashes', async () => {
    const [run, text] = await Promise.all([cli(['info', MLP, '--json', ...ONE_THREAD]), cli(['info', MLP, ...ONE_THREAD])]);
    expect(run.status).toBe(0);
    const info = JSON.parse(run.stdout);
    expect(info.name).toBe('mlp-probs');
    expect(info.folder).toBe(MLP);
    expect(info.manifest).toEqual(JSON.parse(JSON.stringify(vae.manifest)));
    expect(info.check).toEqual({ ok: true });
    expect(info.backend).toBe('onnxruntime-node 1.30.0 (cpu)');
    for (const file of info.files) {
      const bytes = await readFile(join(MLP, file.file));
      expect(file).toEqual({ role: file.role, file: file.file, bytes: bytes.length, sha256: sha256(bytes) });
    }
    expect(info.files.map((f: { role: string; file: string }) => [f.role, f.file])).toEqual([
      ['manifest', 'vae.json'],
      ['encoder', 'encoder.onnx'],
      ['decoder', 'decoder.onnx'],
      ['float16 encoder', 'encoder.float16.onnx'],
      ['float16 decoder', 'decoder.float16.onnx'],
    ]);
    const encoder = readOnnxSummary(await readFile(join(MLP, 'encoder.onnx')));
    const decoder = readOnnxSummary(await readFile(join(MLP, 'decoder.onnx')));
    expect(info.graphs.encoder).toMatchObject({
      file: 'encoder.onnx',
      parameters: encoder.parameterCount,
      nodes: encoder.nodeCount,
      opsets: [{ domain: '', version: 17 }],
    });
    expect(info.parameters).toBe(encoder.parameterCount + decoder.parameterCount);
    expect(info.graphs.encoder.inputs).toEqual([{ name: 'x', type: 'float32', shape: ['batch', 6] }]);
    expect(info.graphs.encoder.outputs.map((o: { name: string }) => o.name)).toEqual(['mean', 'logvar']);
    expect(info.graphs.decoder.outputs).toEqual([{ name: 'probs', type: 'float32', shape: ['batch', 6] }]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`\\nparameters  ${info.parameters} in total\\n`));
    expect(text.stdout).toContain(
      '\nfloat16     encoder.float16.onnx, decoder.float16.onnx (for WebGPU adapters with shader-f16, in @onnx-vae/web; Node runs the float32 graphs)\n',
    );
    expect(text.stdout).toMatch(/\n {2}in {3}x {7}float32 \[batch, 6\]\n/);
    expect(text.stdout).toContain('\nlatent      [2], spatial factor none, scaling factor 1, shift factor 0\n');
  });

  it('encode -> decode through .npy equals the API, over several batches, with the logvar', async () => {
    const z = join(dir, 'z.npy');
    const logvar = join(dir, 'lv.npy');
    const encode = await cli(['encode', MLP, 'x.npy', 'x1.npy', '-o', z, '--logvar', logvar, '--max-batch', '2', '--progress', ...ONE_THREAD], dir);
    expect(encode.status).toBe(0);
    expect(encode.stderr).toMatch(/^encode \[#{24}\] 5\/5 items 100% \d+\.\ds$/m);
    expect(encode.stdout).toBe(`onnx-vae: wrote ${z}: 5 posterior means [5, 2] float32, and their log-variances to ${logvar}\n`);
    const posterior = await vae.encode(x);
    const latents = readNpy(await readFile(z));
    expect(latents.dims).toEqual([5, 2]);
    expect(Array.from(latents.data)).toEqual(Array.from(posterior.mean.data));
    expect(Array.from(readNpy(await readFile(logvar)).data)).toEqual(Array.from(posterior.logvar.data));
    const decode = await cli(['decode', MLP, z, '-o', join(dir, 'd.npy'), '--no-progress', ...ONE_THREAD]);
    expect(decode).toEqual({ status: 0, stderr: '', stdout: `onnx-vae: wrote ${join(dir, 'd.npy')}: 5 items [5, 6] float32\n` });
    const decoded = readNpy(await readFile(join(dir, 'd.npy')));
    expect(decoded.dims).toEqual([5, 6]);
    expect(items(decoded)).toEqual(items(await vae.decode(posterior.mean)));
  });

  it('encode --sample --seed draws what posterior.sample({ seed }) draws over all items, whatever --max-batch', async () => {
    const out = join(dir, 'zs.npy');
    const run = await cli(['encode', MLP, 'x.npy', 'x1.npy', '-o', out, '--sample', '--seed', '7', '--max-batch', '3', ...ONE_THREAD], dir);
    expect(run).toEqual({ status: 0, stderr: 'onnx-vae: sampled with --seed 7\n', stdout: `onnx-vae: wrote ${out}: 5 posterior samples [5, 2] float32\n` });
    const expected = (await vae.encode(x)).sample({ seed: 7 });
    expect(Array.from(readNpy(await readFile(out)).data)).toEqual(Array.from(expected.data));
  });

  it('reconstruct --sample writes what decode(posterior.sample({ seed })) gives', async () => {
    const out = join(dir, 'r.npy');
    const run = await cli(['reconstruct', MLP, 'x.npy', 'x1.npy', '-o', out, '--sample', '--seed', '3', '--max-batch', '2', '--progress', ...ONE_THREAD], dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`onnx-vae: wrote ${out}: 5 reconstructions [5, 6] float32\n`);
    // One bar over the encoder's rows, then the decoder's.
    expect(run.stderr).toMatch(/^reconstruct \[#{24}\] 10\/10 items 100% \d+\.\ds\nonnx-vae: sampled with --seed 3\n$/m);
    const expected = await vae.reconstruct(x, { sample: true, seed: 3 });
    expect(items(readNpy(await readFile(out)))).toEqual(items(expected));
  });

  it('score --json equals vae.score with the same seed and k, and names npy items', async () => {
    const run = await cli(['score', MLP, 'x.npy', 'x1.npy', '--samples', '5', '--seed', '11', '--json', '--max-batch', '2', ...ONE_THREAD], dir);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    const expected = await vae.score(x, { samples: 5, seed: 11 });
    expect(report.inputs).toEqual(['x.npy[0]', 'x.npy[1]', 'x.npy[2]', 'x.npy[3]', 'x1.npy']);
    expect(report.samples).toBe(5);
    expect(report.seed).toBe(11);
    for (const key of ['elbo', 'logLikelihood', 'reconstruction', 'kl', 'bitsPerDim', 'reconstructionError'] as const) {
      expect(report[key]).toEqual(Array.from(expected[key]!));
    }
    expect(report.activeUnits).toBe(expected.activeUnits);
    expect(report.notes).toEqual(expected.notes);
    expect(report.mean.elbo).toBeCloseTo(expected.elbo!.reduce((a, b) => a + b, 0) / 5, 12);
  });

  it('score --csv parses to the same numbers; the table has a mean row and the seed', async () => {
    const [csv, table] = await Promise.all([
      cli(['score', MLP, 'x.npy', 'x1.npy', '--samples', '2', '--seed', '4', '--csv', ...ONE_THREAD], dir),
      cli(['score', MLP, 'x.npy', '--samples', '2', '--seed', '4', ...ONE_THREAD], dir),
    ]);
    expect(csv.status).toBe(0);
    expect(csv.stderr).toBe('onnx-vae: samples (k): 2, seed: 4\n');
    const [head, ...rows] = csv.stdout.trimEnd().split('\n');
    expect(head).toBe('input,elbo,logLikelihood,bitsPerDim,kl,reconstructionError');
    const expected = await vae.score(x, { samples: 2, seed: 4 });
    expect(rows.map((r) => r.split(','))).toEqual(
      ['x.npy[0]', 'x.npy[1]', 'x.npy[2]', 'x.npy[3]', 'x1.npy'].map((name, i) => [
        name,
        ...(['elbo', 'logLikelihood', 'bitsPerDim', 'kl', 'reconstructionError'] as const).map((k) => String(expected[k]![i])),
      ]),
    );
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^input +elbo +logLikelihood +bitsPerDim +kl +reconstructionError$/);
    expect(lines).toHaveLength(8);
    expect(lines[6]).toMatch(/^mean +-?\d+\.\d{4} +-?\d+\.\d{4} +\d+\.\d{5} +\d+\.\d{4} +\d+\.\d{6}$/);
    expect(lines[7]).toBe('samples (k): 2, seed: 4, items: 4, active units: 0');
  });

  it('score prints the notes of a model without a likelihood to stderr', async () => {
    const run = await cli(['score', fixtures.model(MODEL_FIXTURES.none), 'x.npy', '--seed', '0', ...ONE_THREAD], dir);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[1]).toMatch(/^x\.npy\[0\] +n\/a +n\/a +n\/a +\d+\.\d{4} +\d+\.\d{6}$/);
    expect(run.stderr).toBe(
      'onnx-vae: note: Model "mlp-none" declares no likelihood (likelihood.kind "none"): elbo, logLikelihood, reconstruction and bitsPerDim are not defined; only reconstructionError and kl are reported.\n',
    );
  });

  it('generate writes a PNG grid of the right size and .npy equal to vae.generate', async () => {
    const grid = join(dir, 'g.png');
    const npy = join(dir, 'g.npy');
    const [run, npyRun] = await Promise.all([
      cli(['generate', CONV, '-n', '5', '--seed', '2', '--latent-shape', '4,2,3', '--cols', '2', '-o', grid, ...ONE_THREAD]),
      cli(['generate', MLP, '-n', '3', '--seed', '2', '-o', npy, ...ONE_THREAD]),
    ]);
    expect(run).toEqual({ status: 0, stderr: '', stdout: `onnx-vae: wrote ${grid}: 5 items in a grid of 2 columns, 30x32\n` });
    expect(npyRun).toEqual({ status: 0, stderr: '', stdout: `onnx-vae: wrote ${npy}: 3 items [3, 6] float32\n` });
    // items are 3 x 8 x 12 (the latent is 1/4 size); 2 columns, 3 rows, 2 px padding
    const meta = await sharp(grid).metadata();
    expect([meta.width, meta.height, meta.channels, meta.format]).toEqual([2 * 12 + 3 * 2, 3 * 8 + 4 * 2, 3, 'png']);
    expect(items(readNpy(await readFile(npy)))).toEqual(items(await vae.generate({ n: 3, seed: 2 })));
  });

  it('decode --out-dir writes one PNG per item, equal to the API decode converted to pixels', async () => {
    const conv = await loadVae(CONV, { intraOpNumThreads: 1 });
    try {
      const z = conv.sample({ n: 3, seed: 5, latentShape: [4, 2, 2] });
      await writeFile(join(dir, 'cz.npy'), encodeNpy(z));
      const out = join(dir, 'items');
      const run = await cli(['decode', CONV, join(dir, 'cz.npy'), '--out-dir', out, ...ONE_THREAD]);
      expect(run).toEqual({ status: 0, stderr: '', stdout: `onnx-vae: wrote ${out}: 3 PNGs of 8x8, 0000.png to 0002.png\n` });
      expect((await readdir(out)).sort()).toEqual(['0000.png', '0001.png', '0002.png']);
      const decoded = await conv.decode(z);
      const { data, info } = await sharp(join(out, '0001.png')).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([8, 8, 3]);
      expect(Array.from(data)).toEqual(Array.from(tensorToPixels(decoded.slice(1, 2).data, { width: 8, height: 8, channels: 3 }, [-1, 1], 'NCHW')));
    } finally {
      await conv.dispose();
    }
  });
});

describe('image inputs', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await folder('images');
    // mlp-probs with a 3x2 grey image geometry for its 6 values
    model = join(dir, 'model');
    await cp(MLP, model, { recursive: true });
    const manifest = JSON.parse(await readFile(join(model, 'vae.json'), 'utf8'));
    manifest.data.image = { channels: 1, height: 2, width: 3 };
    await writeFile(join(model, 'vae.json'), JSON.stringify(manifest));
    await png(join(dir, 'a.png'), Uint8Array.of(0, 51, 102, 153, 204, 255), 3, 2, 1);
    await png(join(dir, 'rgb.png'), Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 10, 10, 0, 0, 0, 255, 255, 255), 3, 2, 3);
    await png(join(dir, 'big.png'), new Uint8Array(16), 4, 4, 1);
  });

  it('reads PNGs as the manifest says (grey, range, layout) and encodes them like the API', async () => {
    const vae = await loadVae(model, { intraOpNumThreads: 1 });
    try {
      const a = await nodeImageCodec.read([join(dir, 'a.png')], vae.manifest, { multiple: 1 });
      expect(a.dims).toEqual([1, 6]);
      const table = pixelValueTable(255, [0, 1]);
      expect(Array.from(a.data)).toEqual([0, 51, 102, 153, 204, 255].map((p) => table[p]));
      const rgb = await nodeImageCodec.read([join(dir, 'rgb.png')], vae.manifest, { multiple: 1 });
      expect(Array.from(rgb.data)).toEqual([0.299, 0.587, 0.114].map((w) => Math.fround(w)).concat([table[10]!, 0, 1]));
      const out = join(dir, 'z.npy');
      const grid = join(dir, 'r.png');
      const [run, reconstruct] = await Promise.all([
        cli(['encode', model, 'a.png', 'rgb.png', '-o', out, ...ONE_THREAD], dir),
        cli(['reconstruct', model, 'a.png', 'rgb.png', '-o', grid, ...ONE_THREAD], dir),
      ]);
      expect(run).toEqual({ status: 0, stderr: '', stdout: `onnx-vae: wrote ${out}: 2 posterior means [2, 2] float32\n` });
      expect(reconstruct).toEqual({
        status: 0,
        stderr: '',
        stdout: `onnx-vae: wrote ${grid}: 2 originals with their reconstructions below, 2 per row, 12x10\n`,
      });
      const expected = await vae.encode({ data: Float32Array.from([...a.data, ...rgb.data]), dims: [2, 6] });
      expect(Array.from(readNpy(await readFile(out)).data)).toEqual(Array.from(expected.mean.data));
      // reconstruct: 2 items, ceil(sqrt(4)) = 2 columns, originals above reconstructions: 2 rows of 3x2 tiles
      const { data, info } = await sharp(grid).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([2 * 3 + 3 * 2, 2 * 2 + 3 * 2]);
      // sharp returns grey PNGs as RGB; the first original tile starts at (2, 2)
      const tile = (left: number, top: number): number[] =>
        [0, 1].flatMap((y) => [0, 1, 2].map((dx) => data[((top + y) * info.width + left + dx) * info.channels]!));
      expect(tile(2, 2)).toEqual([0, 51, 102, 153, 204, 255]);
      const reconstruction = await vae.reconstruct(a);
      expect(tile(2, 6)).toEqual(Array.from(tensorToPixels(reconstruction.data, { width: 3, height: 2, channels: 1 }, [0, 1], 'flat')));
    } finally {
      await vae.dispose();
    }
  });

  it('rejects an image of another size with SHAPE_MISMATCH, and a file that is no image with INVALID_INPUT', async () => {
    const big = join(dir, 'big.png');
    const text = join(dir, 'notes.png');
    await writeFile(text, 'not an image');
    const [run, bad] = await Promise.all([
      cli(['encode', model, big, '-o', join(dir, 'never.npy'), ...ONE_THREAD]),
      cli(['score', model, text, ...ONE_THREAD]),
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      `onnx-vae: error [SHAPE_MISMATCH]: Image ${big} is 4x4 (width x height) but model "mlp-probs" takes 3x2 images; resize it (fit "resize").\n`,
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      `onnx-vae: error [INVALID_INPUT]: Cannot read ${text} as an image: Input buffer contains unsupported image format. Inputs are images (PNG, JPEG, WebP, AVIF, TIFF, GIF) or tensors.\n`,
    );
    expect(existsSync(join(dir, 'never.npy'))).toBe(false);
  });
});

const mnistPresent = existsSync(join(MNIST, 'vae.json'));

describe('models/mnist-vae (the shipped model; it must be committed)', () => {
  let dir: string;
  let vae: Vae;
  let digits: VaeTensor;

  beforeAll(async () => {
    if (!mnistPresent)
      throw new Error(
        `${MNIST}/vae.json is missing: the trained MNIST VAE is part of the repository (training/onnx_vae_training/train_mnist_vae.py writes it).`,
      );
    dir = await folder('mnist');
    vae = await loadVae(MNIST, { intraOpNumThreads: 1 });
    // three synthetic 28x28 "digits": a bar, a ring and a cross, written as grey PNGs
    const images = [0, 1, 2].map((kind) =>
      Uint8Array.from({ length: 784 }, (_, i) => {
        const y = Math.floor(i / 28) - 14;
        const x = (i % 28) - 14;
        const on = kind === 0 ? Math.abs(x) < 2 && Math.abs(y) < 9 : kind === 1 ? Math.abs(Math.hypot(x, y) - 8) < 2 : Math.abs(x) < 2 || Math.abs(y) < 2;
        return on ? 255 : 0;
      }),
    );
    await Promise.all(images.map((pixels, i) => png(join(dir, `d${i}.png`), pixels, 28, 28, 1)));
    digits = new VaeTensor(Float32Array.from(images.flatMap((p) => Array.from(p, (v) => v / 255))), [3, 784]);
    await png(join(dir, 'big.png'), new Uint8Array(32 * 32), 32, 32, 1);
  });
  afterAll(() => vae?.dispose());

  const inputs = ['d0.png', 'd1.png', 'd2.png'];

  it('info --json: x[784] -> mean/logvar[50], z -> logits[784], parameters and hashes', async () => {
    const run = await cli(['info', MNIST, '--json', ...ONE_THREAD]);
    expect(run.status).toBe(0);
    const info = JSON.parse(run.stdout);
    expect(info.check).toEqual({ ok: true });
    expect(info.graphs.encoder.inputs.map((t: { name: string; shape: unknown[] }) => [t.name, t.shape.at(-1)])).toEqual([['x', 784]]);
    expect(info.graphs.encoder.outputs.map((t: { name: string; shape: unknown[] }) => [t.name, t.shape.at(-1)])).toEqual([
      ['mean', 50],
      ['logvar', 50],
    ]);
    expect(info.graphs.decoder.outputs.map((t: { name: string; shape: unknown[] }) => [t.name, t.shape.at(-1)])).toEqual([['logits', 784]]);
    for (const file of info.files) {
      const bytes = await readFile(join(MNIST, file.file));
      expect([file.bytes, file.sha256]).toEqual([bytes.length, sha256(bytes)]);
      expect((await stat(join(MNIST, file.file))).size).toBe(file.bytes);
    }
    expect(info.graphs.encoder.parameters).toBe(readOnnxSummary(await readFile(join(MNIST, 'encoder.onnx'))).parameterCount);
    expect(info.parameters).toBeGreaterThan(100_000);
  });

  it('encode PNGs -> decode .npy equals the API', async () => {
    const z = join(dir, 'z.npy');
    expect((await cli(['encode', MNIST, ...inputs, '-o', z, ...ONE_THREAD], dir)).status).toBe(0);
    const posterior = await vae.encode(digits);
    const latents = readNpy(await readFile(z));
    expect(latents.dims).toEqual([3, 50]);
    expect(Array.from(latents.data)).toEqual(Array.from(posterior.mean.data));
    const d = join(dir, 'd.npy');
    expect((await cli(['decode', MNIST, z, '-o', d, ...ONE_THREAD])).status).toBe(0);
    expect(Array.from(readNpy(await readFile(d)).data)).toEqual(Array.from((await vae.decode(posterior.mean)).data));
  });

  it('score --json equals vae.score with the same seed', async () => {
    const run = await cli(['score', MNIST, ...inputs, '--samples', '10', '--seed', '5', '--json', ...ONE_THREAD], dir);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    const expected = await vae.score(digits, { samples: 10, seed: 5 });
    expect(report.inputs).toEqual(inputs);
    expect(report.logLikelihood).toEqual(Array.from(expected.logLikelihood!));
    expect(report.elbo).toEqual(Array.from(expected.elbo!));
    expect(report.bitsPerDim).toEqual(Array.from(expected.bitsPerDim!));
    expect(report.activeUnits).toBe(expected.activeUnits);
    expect(report).toMatchObject({ samples: 10, seed: 5, model: 'mnist-vae' });
  });

  it('generate -n 16 --cols 4 writes a 122x122 grey PNG grid', async () => {
    const grid = join(dir, 'grid.png');
    const run = await cli(['generate', MNIST, '-n', '16', '--cols', '4', '-o', grid, ...ONE_THREAD]);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    const meta = await sharp(grid).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([4 * 28 + 5 * 2, 4 * 28 + 5 * 2, 1]);
  });

  it('rejects a 32x32 image with SHAPE_MISMATCH and writes nothing', async () => {
    const big = join(dir, 'big.png');
    const out = join(dir, 'never.png');
    const run = await cli(['reconstruct', MNIST, big, '-o', out, ...ONE_THREAD]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      `onnx-vae: error [SHAPE_MISMATCH]: Image ${big} is 32x32 (width x height) but model "mnist-vae" takes 28x28 images; resize it (fit "resize").\n`,
    );
    expect(existsSync(out)).toBe(false);
  });
});
