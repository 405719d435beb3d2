// Exports without vae.json, laid out on disk as the tools that make them do: Hugging Face optimum's folders (with a
// diffusers config.json), and a folder that matches nothing. The graphs are the conv-moments fixture's, whose tensor
// names are optimum's (sample -> latent_parameters, latent_sample -> sample).
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLayout, loadVae, VaeError } from '../src/index';
import { MODEL_FIXTURES, testFixtures } from '@onnx-vae/core/testing';

const CONV = testFixtures(__dirname).model(MODEL_FIXTURES.convMoments);
const KL_F8 = testFixtures(__dirname).model('kl-f8');

describe('loading exports without vae.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-layout-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function optimumFolder(config?: Record<string, unknown>, graphs = CONV): Promise<void> {
    await mkdir(join(dir, 'vae_encoder'));
    await mkdir(join(dir, 'vae_decoder'));
    await copyFile(join(graphs, 'encoder.onnx'), join(dir, 'vae_encoder', 'model.onnx'));
    await copyFile(join(graphs, 'decoder.onnx'), join(dir, 'vae_decoder', 'model.onnx'));
    if (config) await writeFile(join(dir, 'vae_decoder', 'config.json'), JSON.stringify(config));
  }

  it('detects an optimum export and takes the factors from its config.json', async () => {
    await optimumFolder({ _class_name: 'AutoencoderKL', latent_channels: 4, scaling_factor: 0.18215, shift_factor: 0.5, block_out_channels: [8, 16, 32] });
    expect(await findLayout(dir)).toEqual({
      layout: 'optimum',
      encoder: 'vae_encoder/model.onnx',
      decoder: 'vae_decoder/model.onnx',
      config: 'vae_decoder/config.json',
    });
    const vae = await loadVae(dir, { intraOpNumThreads: 1 });
    try {
      expect(vae.detection?.layout).toBe('optimum');
      expect(vae.manifest.encoder!.output).toEqual({ kind: 'moments', name: 'latent_parameters' });
      expect(vae.manifest.latent).toEqual({ shape: [4, null, null], scalingFactor: 0.18215, shiftFactor: 0.5, spatialFactor: 4 });
      expect(vae.detection?.reasons).toContain('spatial factor 4: config block_out_channels has 3 levels');
      // The detected model runs: an odd-size input is padded to 4 and cropped back.
      const x = { data: new Float32Array(3 * 6 * 10).fill(0.25), dims: [1, 3, 6, 10] };
      expect((await vae.reconstruct(x)).dims).toEqual([1, 3, 6, 10]);
    } finally {
      await vae.dispose();
    }
  });

  it('needs nothing but a preset when there is no config', async () => {
    // kl-f8's graphs (optimum's names too): the preset's spatial factor 8 is checked against the graphs at load.
    await optimumFolder(undefined, KL_F8);
    const vae = await loadVae(dir, { preset: 'sd-1', intraOpNumThreads: 1 });
    try {
      expect(vae.manifest.latent.scalingFactor).toBe(0.18215);
      expect(vae.detection?.preset).toBe('sd-1');
    } finally {
      await vae.dispose();
    }
  });

  it('names the folder when it holds neither vae.json nor a known layout', async () => {
    await writeFile(join(dir, 'model.onnx'), 'x');
    const error = await loadVae(dir).catch((e: unknown) => e);
    expect(VaeError.isInstance(error) && error.code).toBe('MODEL_FILE_NOT_FOUND');
    expect((error as Error).message).toContain(`Cannot read the manifest ${join(dir, 'vae.json')}`);
  });

  it('refuses a preset for a folder that has vae.json', async () => {
    const error = await loadVae(CONV, { preset: 'sd-1' }).catch((e: unknown) => e);
    expect(VaeError.isInstance(error) && error.code).toBe('INVALID_OPTION');
  });
});
