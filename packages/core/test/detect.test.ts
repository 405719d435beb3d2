import {
  detectManifest,
  getPreset,
  PRESETS,
  toDiffusionLatent,
  fromDiffusionLatent,
  VaeTensor,
  ModelMismatchError,
  InvalidOptionError,
  KNOWN_LAYOUTS,
  TILING_PRESETS,
  layoutOfFiles,
  matchLayout,
  tilingDefaults,
} from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';
import type { GraphInfo } from '../src/index';

const graph = (input: [string, (number | string)[]], outputs: [string, (number | string)[]][]): GraphInfo => ({
  inputs: [{ name: input[0], type: 'float32', shape: input[1] }],
  outputs: outputs.map(([name, shape]) => ({ name, type: 'float32', shape })),
});

const optimumEncoder = graph(['sample', ['batch', 3, 'h', 'w']], [['latent_parameters', ['batch', 8, 'h8', 'w8']]]);
const optimumDecoder = graph(['latent_sample', ['batch', 4, 'h', 'w']], [['sample', ['batch', 3, 'H', 'W']]]);

describe('detectManifest', () => {
  it('reads an optimum export with a diffusers config: moments, factors from the config', () => {
    const d = detectManifest({
      name: 'sd15',
      layout: 'optimum',
      encoder: { file: 'vae_encoder/model.onnx', info: optimumEncoder },
      decoder: { file: 'vae_decoder/model.onnx', info: optimumDecoder },
      config: { _class_name: 'AutoencoderKL', latent_channels: 4, scaling_factor: 0.18215, block_out_channels: [128, 256, 512, 512] },
    });
    expect(d.layout).toBe('optimum');
    expect(d.manifest.encoder).toEqual({ file: 'vae_encoder/model.onnx', input: 'sample', output: { kind: 'moments', name: 'latent_parameters' } });
    expect(d.manifest.decoder).toEqual({ file: 'vae_decoder/model.onnx', input: 'latent_sample', output: 'sample' });
    expect(d.manifest.latent).toEqual({ shape: [4, null, null], scalingFactor: 0.18215, shiftFactor: 0, spatialFactor: 8 });
    expect(d.manifest.data).toEqual({ shape: [3, null, null], layout: 'NCHW', range: [-1, 1] });
    expect(d.reasons).toContain('scaling factor 0.18215: config scaling_factor');
    expect(d.reasons).toContain('encoder output "latent_parameters" has 2 x 4 channels: moments (mean, then logvar)');
  });

  it('treats an older export that samples inside the graph as a deterministic latent, and says so', () => {
    const d = detectManifest({
      name: 'old',
      layout: 'optimum',
      encoder: { file: 'vae_encoder/model.onnx', info: graph(['sample', ['b', 3, 'h', 'w']], [['latent_sample', ['b', 4, 'h8', 'w8']]]) },
      decoder: { file: 'vae_decoder/model.onnx', info: optimumDecoder },
      preset: 'sd-2',
    });
    expect(d.manifest.encoder?.output).toEqual({ kind: 'deterministic', name: 'latent_sample' });
    expect(d.reasons.join('\n')).toContain('older exports sample inside the graph; onnx-vae treats it as a deterministic latent, std 0, and cannot report KL');
    expect(d.manifest.latent.scalingFactor).toBe(0.18215);
  });

  it('recognises onnxruntime demo names and takes factors from a preset', () => {
    const d = detectManifest({
      name: 'sd3',
      layout: 'optimum',
      encoder: { file: 'vae_encoder/model.onnx', info: graph(['images', ['B', 3, 'H', 'W']], [['latent', ['B', 32, 'h', 'w']]]) },
      decoder: { file: 'vae_decoder/model.onnx', info: graph(['latent', ['B', 16, 'h', 'w']], [['images', ['B', 3, 'H', 'W']]]) },
      preset: 'sd3',
    });
    expect(d.layout).toBe('ort-sd-demo');
    expect(d.manifest.encoder?.output).toEqual({ kind: 'moments', name: 'latent' });
    expect(d.manifest.latent).toEqual({ shape: [16, null, null], scalingFactor: 1.5305, shiftFactor: 0.0609, spatialFactor: 8 });
  });

  it('needs a preset or config when the latent channels are dynamic', () => {
    const dynamic = graph(['latent_sample', ['b', 'c', 'h', 'w']], [['sample', ['b', 3, 'H', 'W']]]);
    const input = { name: 'x', layout: 'optimum' as const, encoder: { file: 'e.onnx', info: optimumEncoder }, decoder: { file: 'd.onnx', info: dynamic } };
    expect(() => detectManifest(input)).toThrow(
      new ModelMismatchError(
        'decoder',
        'd.onnx: the latent channels are dynamic in the graph and no config or preset says them; pass a preset (e.g. --preset sd-1).',
      ),
    );
    expect(detectManifest({ ...input, preset: 'sd-1' }).manifest.latent.shape).toEqual([4, null, null]);
  });

  it('refuses a preset that contradicts the graphs, and unknown presets', () => {
    const input = {
      name: 'x',
      layout: 'optimum' as const,
      encoder: { file: 'e.onnx', info: optimumEncoder },
      decoder: { file: 'd.onnx', info: optimumDecoder },
    };
    expect(() => detectManifest({ ...input, preset: 'flux-1' })).toThrow(
      'd.onnx: the graph has 4 latent channels but preset "flux-1" (FLUX.1) has 16; pick a matching preset.',
    );
    expect(() => detectManifest({ ...input, preset: 'sd9' })).toThrow(InvalidOptionError);
    expect(() => getPreset('sd9')).toThrow(
      'Unknown preset "sd9"; the presets are "sd-1", "sd-2", "sdxl", "sd3", "flux-1", "flux-2-tiny", "taesd", "taesdxl", "taesd3", "taef1".',
    );
  });

  it('refuses graphs that are not image VAEs', () => {
    const flat = graph(['x', ['b', 784]], [['mean', ['b', 50]]]);
    expect(() =>
      detectManifest({ name: 'x', layout: 'optimum', encoder: { file: 'e.onnx', info: flat }, decoder: { file: 'd.onnx', info: optimumDecoder } }),
    ).toThrow("e.onnx: expected one image input [batch, channels, height, width] but the graph's inputs are [x [b, 784]].");
  });
});

describe('diffusion latent scaling', () => {
  it('applies (z - shift) * scale and inverts it, for every preset', () => {
    const z = new VaeTensor(Float32Array.from([-2, -0.5, 0, 0.1159, 3]), [1, 5]);
    for (const preset of Object.values(PRESETS)) {
      const scaled = toDiffusionLatent(z, preset);
      z.data.forEach((v, i) => expect(scaled.data[i]).toBe(Math.fround((v - preset.shiftFactor) * preset.scalingFactor)));
      const back = fromDiffusionLatent(scaled, preset);
      back.data.forEach((v, i) => expect(v).toBeCloseTo(z.data[i]!, 6));
    }
    expect(PRESETS['sd-1'].scalingFactor).toBe(0.18215);
    expect(PRESETS.sdxl.scalingFactor).toBe(0.13025);
    expect([PRESETS['flux-1'].scalingFactor, PRESETS['flux-1'].shiftFactor]).toEqual([0.3611, 0.1159]);
  });
});

describe('KNOWN_LAYOUTS: each layout carries its files, matcher and defaults', () => {
  it.each([
    [
      ['vae_encoder/model.onnx', 'vae_decoder/model.onnx', 'vae_encoder/config.json'],
      { layout: 'optimum', encoder: 'vae_encoder/model.onnx', decoder: 'vae_decoder/model.onnx', name: 'vae', config: 'vae_encoder/config.json' },
    ],
    [
      ['vae_encoder.onnx', 'vae_decoder.onnx', 'taef2_encoder.onnx', 'taef2_decoder.onnx'],
      { layout: 'ort-sd-demo', encoder: 'vae_encoder.onnx', decoder: 'vae_decoder.onnx', name: 'vae' },
    ],
    [
      ['taef2_encoder.onnx', 'taef2_decoder.onnx', 'README.md'],
      { layout: 'encoder-decoder-pair', encoder: 'taef2_encoder.onnx', decoder: 'taef2_decoder.onnx', name: 'taef2' },
    ],
    [['a_encoder.onnx', 'a_decoder.onnx', 'b_encoder.onnx', 'b_decoder.onnx'], null],
    [['model.onnx'], null],
  ])('matchLayout(%j)', (names, expected) => {
    expect(matchLayout(names)).toEqual(expected);
    expect(layoutOfFiles(names)).toEqual(expected);
  });

  it('the data range a layout implies is in its entry, and detection says why', () => {
    expect(KNOWN_LAYOUTS['encoder-decoder-pair'].range).toEqual([0, 1]);
    expect(KNOWN_LAYOUTS.optimum.range).toEqual([-1, 1]);
  });
});

describe('presets carry their tiling defaults under the family names', () => {
  it('AutoencoderKL families tile like kl-f8, tiny autoencoders like taef2; the old names stay accepted', () => {
    for (const name of ['sd-1', 'sd-2', 'sdxl', 'sd3', 'flux-1'] as const) expect(PRESETS[name].tiling).toBe(TILING_PRESETS['kl-f8']);
    for (const name of ['flux-2-tiny', 'taesd', 'taesdxl', 'taesd3', 'taef1'] as const) expect(PRESETS[name].tiling).toBe(TILING_PRESETS.taef2);
    expect(tilingDefaults('flux-2-tiny')).toBe(tilingDefaults('taef2'));
    expect(errorOf(() => tilingDefaults('sd'))?.message).toBe(
      'Expected "preset" to be one of "sd-1", "sd-2", "sdxl", "sd3", "flux-1", "flux-2-tiny", "taesd", "taesdxl", "taesd3", "taef1", "kl-f8", "taef2" but received "sd".',
    );
  });
});
