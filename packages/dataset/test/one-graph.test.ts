// Dataset encoding with an encoder-only model (kl-f8's encoder.onnx and a manifest without "decoder"): the same
// latents as the full model; a decoder-only model is refused with GRAPH_MISSING.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorOf } from '@onnx-vae/core/testing';
import { encodeDataset } from '../src/index';
import { KL_F8, makeImageFolder } from './helpers';

const LOAD = { loadOptions: { intraOpNumThreads: 1 } };

describe('encodeDataset with one graph', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-dataset-one-graph-'));
    await makeImageFolder(join(dir, 'images'), 3);
    for (const graph of ['encoder', 'decoder'] as const) {
      const model = join(dir, `without-${graph}`);
      await mkdir(model);
      const manifest = JSON.parse(await readFile(join(KL_F8, 'vae.json'), 'utf8')) as Record<string, unknown>;
      delete manifest[graph];
      await writeFile(join(model, 'vae.json'), JSON.stringify(manifest));
      const kept = graph === 'encoder' ? 'decoder.onnx' : 'encoder.onnx';
      await copyFile(join(KL_F8, kept), join(model, kept));
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("encodes with an encoder-only model, writing the full model's latents", async () => {
    const options = { size: 32, shardSize: 100, minSize: 8, ...LOAD };
    const full = await encodeDataset(KL_F8, join(dir, 'images'), { ...options, output: join(dir, 'full') });
    const encoderOnly = await encodeDataset(join(dir, 'without-decoder'), join(dir, 'images'), { ...options, output: join(dir, 'encoder-only') });
    expect(encoderOnly.items).toBe(full.items);
    expect(encoderOnly.items).toBeGreaterThan(0);
    const shard = (out: string) => readFile(join(dir, out, 'shard-00000.safetensors'));
    expect((await shard('encoder-only')).equals(await shard('full'))).toBe(true);
  });

  it('refuses a decoder-only model with GRAPH_MISSING', async () => {
    const caught = await errorOf(encodeDataset(join(dir, 'without-encoder'), join(dir, 'images'), { output: join(dir, 'decoder-only'), size: 32, ...LOAD }));
    expect(caught?.code).toBe('GRAPH_MISSING');
    expect(caught?.message).toMatch(/needs the encoder, but the model "kl-f8" has no encoder/);
  });
});
