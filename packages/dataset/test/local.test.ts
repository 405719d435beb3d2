/**
 * encodeDataset on one machine with models/kl-f8 on a small generated dataset: stored latents equal vae.encode of the
 * same preprocessed image (within float16 rounding), flips, seeded samples and moments, bad items, resuming after an
 * interrupted run, WebDataset input and output read back by tar-stream and by numpy.
 */
import { mkdtemp, readFile, readdir, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { NormalV1, decodeSafetensors, float16ToFloat32, float32ToFloat16 } from '@onnx-vae/core';
import { loadVae, parseNpy } from '@onnx-vae/node';
import type { NodeVae } from '@onnx-vae/node';
import { encodeDataset, itemSeed, listTarSamples, packTar, readTarMembers, sha256 } from '../src/index';
import type { DatasetManifest, ItemError } from '../src/index';
import { KL_F8, hasNumpy, makeImageFolder, pixels, python, startCli, waitFor } from './helpers';

const SIZE = 32;
const LOAD = { loadOptions: { intraOpNumThreads: 1 } };
let dir: string;
let images: string;
/** Image paths by key. */
let paths: Map<string, string>;
let vae: NodeVae;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-vae-dataset-'));
  images = join(dir, 'images');
  const names = await makeImageFolder(images, 7, true);
  paths = new Map(names.map((name) => [name.replace(/\.[a-z]+$/, ''), join(images, name)]));
  vae = await loadVae(KL_F8, { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await vae?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** The preprocessed image as the test makes it: sharp cover-resize to SIZE, centre, as PNG. */
async function preprocessed(path: string, flop = false): Promise<Buffer> {
  let image = sharp(await readFile(path)).resize(SIZE, SIZE, { fit: 'cover', position: 'centre' });
  if (flop) image = image.flop();
  return image.png().toBuffer();
}

/** Latents of every key of a safetensors output folder, by tensor name. */
async function readShards(
  out: string,
): Promise<{ manifest: DatasetManifest; rows: Map<string, Record<string, Float32Array>>; sizes: Map<string, [number, number]> }> {
  const manifest = JSON.parse(await readFile(join(out, 'dataset.json'), 'utf8')) as DatasetManifest;
  const rows = new Map<string, Record<string, Float32Array>>();
  const sizes = new Map<string, [number, number]>();
  for (const shard of manifest.shards) {
    const bytes = await readFile(join(out, shard.file));
    expect(sha256(bytes)).toBe(shard.sha256);
    const { tensors, metadata } = decodeSafetensors(bytes);
    const keys = JSON.parse(metadata.keys!) as string[];
    const originalSizes = JSON.parse(metadata.original_sizes!) as [number, number][];
    expect(keys).toHaveLength(shard.items);
    keys.forEach((key, i) => {
      const row: Record<string, Float32Array> = {};
      for (const [name, tensor] of Object.entries(tensors)) {
        const per = tensor.size / tensor.dims[0]!;
        expect(tensor.dims).toEqual([keys.length, ...manifest.latents.shape]);
        row[name] = tensor.data.slice(i * per, (i + 1) * per);
      }
      rows.set(key, row);
      sizes.set(key, originalSizes[i]!);
    });
  }
  return { manifest, rows, sizes };
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance: (e: number) => number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) - tolerance(expected[i]!));
  expect(worst).toBeLessThanOrEqual(0);
}

/** float16 rounding (half an ulp, 2^-11 relative) plus what batching may change in float32. */
const HALF = (e: number): number => Math.abs(e) * 2 ** -11 + 1e-5;
const SINGLE = (e: number): number => Math.abs(e) * 1e-5 + 1e-5;

async function errorsOf(out: string): Promise<ItemError[]> {
  return (await readFile(join(out, 'errors.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ItemError);
}

describe('encodeDataset on one machine', () => {
  let firstOut: string;

  it('stores vae.encode of each preprocessed image (float16), with keys, original sizes, dataset.json and errors.jsonl', async () => {
    firstOut = join(dir, 'out-mean');
    const summary = await encodeDataset(KL_F8, images, { output: firstOut, size: SIZE, shardSize: 4, minSize: 8, ...LOAD });
    expect(summary).toMatchObject({ items: 7, errors: 2, shards: 3, skippedShards: 0, failedShards: [] });
    const { manifest, rows, sizes } = await readShards(firstOut);
    expect(manifest).toMatchObject({
      format: 'onnx-vae-dataset',
      model: { name: 'kl-f8', scalingFactor: 0.23626, shiftFactor: 0, spatialFactor: 8, preset: null },
      latents: { kind: 'mean', space: 'raw', dtype: 'float16', tensors: ['latents'], shape: [4, 4, 4], seed: null },
      preprocess: { size: SIZE, fit: 'crop', minSize: 8, flip: false },
      output: { format: 'safetensors', shardSize: 4 },
      items: 7,
      errors: 2,
      incomplete: [],
    });
    expect(manifest.shards.map((s) => [s.file, s.items, s.errors])).toEqual([
      ['shard-00000.safetensors', 3, 1],
      ['shard-00001.safetensors', 4, 0],
      ['shard-00002.safetensors', 0, 1],
    ]);
    expect((await errorsOf(firstOut)).map((e) => [e.key, e.code])).toEqual([
      ['broken', 'CORRUPT'],
      ['tiny', 'TOO_SMALL'],
    ]);
    expect([...rows.keys()]).toEqual(['img-000', 'img-002', 'img-004', 'img-006', 'sub/img-001', 'sub/img-003', 'sub/img-005']);
    for (const [key, row] of rows) {
      const path = paths.get(key)!;
      const meta = await sharp(path).metadata();
      expect(sizes.get(key)).toEqual([meta.width, meta.height]);
      const q = await vae.encode(await preprocessed(path));
      expectClose(row.latents!, q.mean.data, HALF);
      // Exactly the float16 rounding of a float32 value within batching noise: re-rounding changes nothing.
      expect(Array.from(float16ToFloat32(float32ToFloat16(row.latents!)))).toEqual(Array.from(row.latents!));
    }
  });

  it('2 local worker processes write the same shards as one process', async () => {
    const out = join(dir, 'out-two-processes');
    const summary = await encodeDataset(KL_F8, images, { output: out, size: SIZE, shardSize: 4, minSize: 8, workers: 2, ...LOAD });
    expect(summary).toMatchObject({ items: 7, errors: 2, shards: 3, failedShards: [] });
    expect(summary.manifest.shards).toEqual((JSON.parse(await readFile(join(firstOut, 'dataset.json'), 'utf8')) as DatasetManifest).shards);
    expect(await readFile(join(out, 'errors.jsonl'), 'utf8')).toBe(await readFile(join(firstOut, 'errors.jsonl'), 'utf8'));
  });

  it("--flip stores the mirrored image's moments; --sample draws noise seeded by key, the same in any shard layout", async () => {
    const out = join(dir, 'out-moments');
    await encodeDataset(KL_F8, images, { output: out, size: SIZE, shardSize: 4, minSize: 8, kind: 'moments', flip: true, dtype: 'float32', ...LOAD });
    const { manifest, rows } = await readShards(out);
    expect(manifest.latents.tensors).toEqual(['mean', 'logvar', 'mean_flip', 'logvar_flip']);
    const path = join(images, 'img-002.webp');
    const q = await vae.encode(await preprocessed(path));
    const flipped = await vae.encode(await preprocessed(path, true));
    expectClose(rows.get('img-002')!.mean!, q.mean.data, SINGLE);
    expectClose(rows.get('img-002')!.logvar!, q.logvar.data, SINGLE);
    expectClose(rows.get('img-002')!.mean_flip!, flipped.mean.data, SINGLE);
    expectClose(rows.get('img-002')!.logvar_flip!, flipped.logvar.data, SINGLE);

    const a = join(dir, 'out-sample-a');
    const b = join(dir, 'out-sample-b');
    await encodeDataset(KL_F8, images, { output: a, size: SIZE, shardSize: 4, minSize: 8, kind: 'sample', seed: 5, dtype: 'float32', ...LOAD });
    await encodeDataset(KL_F8, images, { output: b, size: SIZE, shardSize: 3, batch: 2, minSize: 8, kind: 'sample', seed: 5, dtype: 'float32', ...LOAD });
    const sa = await readShards(a);
    const sb = await readShards(b);
    expect(sa.manifest.latents.seed).toBe(5);
    for (const [key, row] of sa.rows) expectClose(sb.rows.get(key)!.latents!, row.latents!, SINGLE);
    const eps = new NormalV1(itemSeed(5, 'img-002', false)).fill(new Float32Array(q.mean.size));
    expectClose(sa.rows.get('img-002')!.latents!, q.sample({ eps: { data: eps, dims: q.mean.dims } }).data, SINGLE);
  });

  it('reads a text file of paths; a missing file is UNREADABLE and does not cost its shard', async () => {
    const list = join(dir, 'list.txt');
    await writeFile(list, ['# two images and one that is gone', 'images/img-000.png', '', 'images/gone.png', join(images, 'sub/img-001.jpg')].join('\n'));
    const out = join(dir, 'out-list');
    const summary = await encodeDataset(KL_F8, list, { output: out, size: SIZE, ...LOAD });
    expect(summary).toMatchObject({ items: 2, errors: 1, shards: 1 });
    expect((await errorsOf(out)).map((e) => [e.key, e.code])).toEqual([['images/gone', 'UNREADABLE']]);
  });

  it('resumes: complete shards are kept, missing, damaged and half-written ones are redone, to the same bytes', async () => {
    const out = join(dir, 'out-resume');
    await encodeDataset(KL_F8, images, { output: out, size: SIZE, shardSize: 4, minSize: 8, ...LOAD });
    const before = JSON.parse(await readFile(join(out, 'dataset.json'), 'utf8')) as DatasetManifest;
    // As a crash would leave it: shard 1 written but its record not yet, shard 2 truncated, a temporary file half
    // written, no dataset.json.
    await unlink(join(out, 'records/shard-00001.safetensors.json'));
    await truncate(join(out, 'shard-00002.safetensors'), 100);
    await writeFile(join(out, '.shard-00002.safetensors.123.abcdef.tmp'), 'half');
    await unlink(join(out, 'dataset.json'));
    const summary = await encodeDataset(KL_F8, images, { output: out, size: SIZE, shardSize: 4, minSize: 8, ...LOAD });
    expect(summary.skippedShards).toBe(1);
    const after = JSON.parse(await readFile(join(out, 'dataset.json'), 'utf8')) as DatasetManifest;
    expect(after.shards).toEqual(before.shards);
    expect((await readdir(out)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('resumes after the CLI is killed with SIGKILL mid-run, ending with what an uninterrupted run writes', async () => {
    const clean = join(dir, 'out-clean');
    const out = join(dir, 'out-killed');
    const options = { size: SIZE, shardSize: 1, batch: 1, minSize: 8 };
    const reference = await encodeDataset(KL_F8, images, { output: clean, ...options, ...LOAD });
    const run = startCli(['encode-dataset', KL_F8, images, '-o', out, '--size', String(SIZE), '--shard-size', '1', '--batch', '1', '--min-size', '8']);
    await waitFor(
      'the first shard record',
      async () => (await readdir(join(out, 'records')).catch(() => [])).length > 0 || run.child.exitCode !== null,
      30_000,
    );
    run.child.kill('SIGKILL');
    await run.exited;
    const summary = await encodeDataset(KL_F8, images, { output: out, ...options, ...LOAD });
    // Killed after its first shard and before its last: some shards were kept, the others were encoded now.
    expect(summary.skippedShards).toBeGreaterThanOrEqual(1);
    expect(summary.skippedShards).toBeLessThan(reference.shards);
    const after = JSON.parse(await readFile(join(out, 'dataset.json'), 'utf8')) as DatasetManifest;
    expect(after.shards).toEqual(reference.manifest.shards);
  });

  it('reads WebDataset tars and writes WebDataset shards that tar-stream and numpy read back', async () => {
    const png = async (seed: number, format: 'png' | 'jpeg' | 'webp'): Promise<Uint8Array> =>
      sharp(pixels(48, 40, seed), { raw: { width: 48, height: 40, channels: 3 } })
        .toFormat(format)
        .toBuffer();
    const input = join(dir, 'input-000.tar');
    await writeFile(
      input,
      await packTar([
        { name: 'a/000001.jpg', data: await png(1, 'jpeg') },
        { name: 'a/000001.json', data: new TextEncoder().encode(JSON.stringify({ caption: 'one', width: 48 })) },
        { name: 'a/000002.png', data: await png(2, 'png') },
        { name: 'a/000002.txt', data: new TextEncoder().encode('two') },
        { name: 'a/000003.txt', data: new TextEncoder().encode('no image') },
        { name: 'a/000004.webp', data: new TextEncoder().encode('not a webp') },
      ]),
    );
    const out = join(dir, 'out-wds');
    const summary = await encodeDataset(KL_F8, input, { output: out, size: SIZE, format: 'wds', shardSize: 10, ...LOAD });
    expect(summary).toMatchObject({ items: 2, errors: 2, shards: 1 });
    expect((await errorsOf(out)).map((e) => [e.key, e.code])).toEqual([
      ['a/000003', 'NO_IMAGE'],
      ['a/000004', 'CORRUPT'],
    ]);
    const shard = join(out, 'shard-00000.tar');
    const samples = await listTarSamples(shard);
    expect(samples.map((s) => [s.key, Object.keys(s.members).sort()])).toEqual([
      ['a/000001', ['json', 'latent.npy']],
      ['a/000002', ['json', 'latent.npy']],
    ]);
    const members = await readTarMembers(shard, new Set(['a/000001.latent.npy', 'a/000001.json']));
    expect(JSON.parse(members.get('a/000001.json')!.toString())).toEqual({ caption: 'one', width: 48, key: 'a/000001', original_size: [48, 40] });
    const npy = parseNpy(members.get('a/000001.latent.npy')!);
    expect(npy.dtype).toBe('<f2');
    expect(npy.tensor.dims).toEqual([4, 4, 4]);
    const q = await vae.encode(
      await sharp(await png(1, 'jpeg'))
        .resize(SIZE, SIZE, { fit: 'cover' })
        .png()
        .toBuffer(),
    );
    expectClose(npy.tensor.data, q.mean.data, HALF);

    if (!hasNumpy()) {
      console.warn('skipped the numpy read-back: /usr/bin/python3 with numpy is not installed (apt-get install python3-numpy)');
      return;
    }
    const safetensorsOut = join(dir, 'out-mean', 'shard-00001.safetensors');
    const read = python(
      [
        'import io, json, struct, sys, tarfile',
        'import numpy as np',
        'out = {}',
        'with tarfile.open(sys.argv[1]) as tar:',
        '    for m in tar.getmembers():',
        '        if m.name.endswith(".npy"):',
        '            a = np.load(io.BytesIO(tar.extractfile(m).read()))',
        '            out[m.name] = {"dtype": str(a.dtype), "shape": list(a.shape), "values": a.astype(np.float64).ravel().tolist()}',
        'raw = open(sys.argv[2], "rb").read()',
        'n = struct.unpack("<Q", raw[:8])[0]',
        'header = json.loads(raw[8:8 + n])',
        'entry = header["latents"]',
        'begin, end = entry["data_offsets"]',
        'a = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype={"F16": "<f2", "F32": "<f4"}[entry["dtype"]]).reshape(entry["shape"])',
        'out["safetensors"] = {"dtype": str(a.dtype), "shape": list(a.shape), "keys": json.loads(header["__metadata__"]["keys"]), "values": a.astype(np.float64).ravel().tolist()}',
        'print(json.dumps(out))',
      ].join('\n'),
      [shard, safetensorsOut],
    ) as Record<string, { dtype: string; shape: number[]; values: number[]; keys?: string[] }>;
    expect(read['a/000001.latent.npy']).toMatchObject({ dtype: 'float16', shape: [4, 4, 4] });
    expect(read['a/000001.latent.npy']!.values).toEqual(Array.from(npy.tensor.data));
    const js = decodeSafetensors(await readFile(safetensorsOut));
    expect(read.safetensors).toMatchObject({ dtype: 'float16', shape: [4, 4, 4, 4], keys: ['img-006', 'sub/img-001', 'sub/img-003', 'sub/img-005'] });
    expect(read.safetensors!.values).toEqual(Array.from(js.tensors.latents!.data));
  });
});
