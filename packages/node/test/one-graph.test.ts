// Decoder-only and encoder-only models on onnxruntime-node: a kl-f8 decoder.onnx alone with a manifest without
// "encoder", an optimum folder without vae_encoder/, a lone decoder.onnx beside a config.json, and kl-f8's encoder alone.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODEL_FIXTURES, errorOf, testFixtures } from '@onnx-vae/core/testing';
import { GraphMissingError, findLayout, loadVae } from '../src/index';

const fixtures = testFixtures(__dirname);
const KL_F8 = fixtures.model('kl-f8');
const CONV = fixtures.model(MODEL_FIXTURES.convMoments);
const ONE_THREAD = { intraOpNumThreads: 1 };

describe('models with one graph', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-one-graph-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** kl-f8's manifest without one graph, and only the other graph's file. */
  async function klF8Without(graph: 'encoder' | 'decoder'): Promise<void> {
    const manifest = JSON.parse(await readFile(join(KL_F8, 'vae.json'), 'utf8')) as Record<string, unknown>;
    delete manifest[graph];
    await writeFile(join(dir, 'vae.json'), JSON.stringify(manifest));
    const kept = graph === 'encoder' ? 'decoder.onnx' : 'encoder.onnx';
    await copyFile(join(KL_F8, kept), join(dir, kept));
  }

  it('loads a decoder-only kl-f8 (a manifest without "encoder"): decode, generate, interpolate and decodeImages run', async () => {
    await klF8Without('encoder');
    const full = await loadVae(KL_F8, ONE_THREAD);
    const vae = await loadVae(dir, ONE_THREAD);
    try {
      expect([vae.has('encoder'), vae.has('decoder')]).toEqual([false, true]);
      const z = { data: Float32Array.from({ length: 4 * 4 * 4 }, (_, i) => Math.sin(i)), dims: [1, 4, 4, 4] };
      const y = await vae.decode(z);
      expect(y.dims).toEqual([1, 3, 32, 32]);
      // The same numbers as the full model's decoder.
      expect(y.data).toEqual((await full.decode(z)).data);
      expect((await vae.generate({ n: 1, seed: 0, latentShape: [4, 2, 2] })).dims).toEqual([1, 3, 16, 16]);
      expect((await vae.interpolate(z, z, { steps: 2 })).dims).toEqual([2, 3, 32, 32]);
      const [png] = await vae.decodeImages(z);
      expect(png!.subarray(1, 4).toString()).toBe('PNG');
      const caught = await errorOf(vae.encode(y));
      expect(caught?.code).toBe('GRAPH_MISSING');
      expect(caught?.error).toBeInstanceOf(GraphMissingError);
      expect(caught?.message).toMatch(/^encode\(\) needs the encoder, but the model "kl-f8" has no encoder \(a decoder-only model/);
    } finally {
      await Promise.all([vae.dispose(), full.dispose()]);
    }
  });

  it('loads an encoder-only kl-f8: encode and toDiffusionLatent run, decode throws GRAPH_MISSING', async () => {
    await klF8Without('decoder');
    const vae = await loadVae(dir, ONE_THREAD);
    try {
      const x = { data: new Float32Array(3 * 16 * 16).fill(0.1), dims: [1, 3, 16, 16] };
      const q = await vae.encode(x);
      expect(q.mean.dims).toEqual([1, 4, 2, 2]);
      expect(vae.toDiffusionLatent(q.mean).dims).toEqual([1, 4, 2, 2]);
      const caught = await errorOf(vae.reconstruct(x));
      expect(caught?.code).toBe('GRAPH_MISSING');
      expect((caught?.error as GraphMissingError).graph).toBe('decoder');
    } finally {
      await vae.dispose();
    }
  });

  it('still refuses a manifest that does not match the one graph there is', async () => {
    await klF8Without('encoder');
    const manifest = JSON.parse(await readFile(join(dir, 'vae.json'), 'utf8')) as { decoder: { input: string } };
    manifest.decoder.input = 'z';
    await writeFile(join(dir, 'vae.json'), JSON.stringify(manifest));
    expect((await errorOf(loadVae(dir, ONE_THREAD)))?.code).toBe('MODEL_MISMATCH');
  });

  it('detects an optimum folder with vae_decoder/ alone', async () => {
    await mkdir(join(dir, 'vae_decoder'));
    await copyFile(join(CONV, 'decoder.onnx'), join(dir, 'vae_decoder', 'model.onnx'));
    await writeFile(
      join(dir, 'vae_decoder', 'config.json'),
      JSON.stringify({ _class_name: 'AutoencoderKL', latent_channels: 4, scaling_factor: 0.18215, block_out_channels: [8, 16, 32] }),
    );
    expect(await findLayout(dir)).toEqual({ layout: 'optimum', decoder: 'vae_decoder/model.onnx', config: 'vae_decoder/config.json' });
    const vae = await loadVae(dir, ONE_THREAD);
    try {
      expect(vae.detection?.reasons[0]).toBe('layout "optimum": no encoder (decoder-only), decoder vae_decoder/model.onnx');
      expect(vae.manifest.encoder).toBeUndefined();
      expect(vae.manifest.latent).toEqual({ shape: [4, null, null], scalingFactor: 0.18215, shiftFactor: 0, spatialFactor: 4 });
      expect((await vae.decode({ data: new Float32Array(4 * 3 * 3), dims: [1, 4, 3, 3] })).dims).toEqual([1, 3, 12, 12]);
      expect((await errorOf(vae.score({ data: new Float32Array(3 * 12 * 12), dims: [1, 3, 12, 12] })))?.code).toBe('GRAPH_MISSING');
    } finally {
      await vae.dispose();
    }
  });

  it('detects a lone decoder.onnx beside a config.json, and an optimum folder with vae_encoder/ alone', async () => {
    await copyFile(join(CONV, 'decoder.onnx'), join(dir, 'decoder.onnx'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ latent_channels: 4, block_out_channels: [8, 16, 32] }));
    const decoderOnly = await loadVae(dir, ONE_THREAD);
    try {
      expect(decoderOnly.detection?.layout).toBe('plain');
      expect((await decoderOnly.generate({ seed: 1, latentShape: [4, 2, 2] })).dims).toEqual([1, 3, 8, 8]);
    } finally {
      await decoderOnly.dispose();
    }
    const other = join(dir, 'encoder-only');
    await mkdir(join(other, 'vae_encoder'), { recursive: true });
    await copyFile(join(CONV, 'encoder.onnx'), join(other, 'vae_encoder', 'model.onnx'));
    // Its factor (4, from three block widths) must be said: without a config the SD family's 8 is assumed, and the
    // encoder's behaviour (a 16x16 input gives 4x4) refuses it.
    await writeFile(join(other, 'vae_encoder', 'config.json'), JSON.stringify({ latent_channels: 4, block_out_channels: [8, 16, 32] }));
    const encoderOnly = await loadVae(other, ONE_THREAD);
    try {
      expect(encoderOnly.manifest.decoder).toBeUndefined();
      expect((await encoderOnly.encode({ data: new Float32Array(3 * 8 * 8), dims: [1, 3, 8, 8] })).mean.dims).toEqual([1, 4, 2, 2]);
    } finally {
      await encoderOnly.dispose();
    }
  });
});
