// Graphs with float16 inputs and outputs (models/fixtures/mlp-probs/*.float16.onnx, made by
// training/onnx_vae_training/make_float16_io.py: Casts around the float32 body): the backend rounds feeds to float16 and widens the
// outputs. Reference: the float32 graphs run on the float16-rounded inputs, their outputs rounded to float16 (an
// independent path through the same arithmetic), and PyTorch's numbers within float16 rounding.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OrtNodeBackend, createVae, float16ToFloat32, float32ToFloat16, parseManifest } from '../src/index';
import type { Vae } from '../src/index';
import { expectClose, goldenArray, goldenTensor, testFixtures } from '@onnx-vae/core/testing';
import type { Golden } from '@onnx-vae/core/testing';

const FOLDER = testFixtures(__dirname).model('fixtures/mlp-probs');
const round16 = (values: Float32Array): Float32Array => float16ToFloat32(float32ToFloat16(values));

describe('float16 graph inputs and outputs (fixtures/mlp-probs float16 graphs)', () => {
  let half: Vae;
  let full: Vae;
  let golden: Golden;
  beforeAll(async () => {
    const manifest = parseManifest(await readFile(join(FOLDER, 'vae.json'), 'utf8'));
    expect(manifest.float16).toEqual({ encoder: 'encoder.float16.onnx', decoder: 'decoder.float16.onnx' });
    const backend = new OrtNodeBackend({ intraOpNumThreads: 1 });
    [half, full, golden] = await Promise.all([
      createVae({
        manifest,
        backend,
        encoder: { path: join(FOLDER, manifest.float16!.encoder!) },
        decoder: { path: join(FOLDER, manifest.float16!.decoder!) },
      }),
      createVae({ manifest, backend, encoder: { path: join(FOLDER, manifest.encoder!.file) }, decoder: { path: join(FOLDER, manifest.decoder!.file) } }),
      readFile(join(FOLDER, 'golden.json'), 'utf8').then(JSON.parse),
    ]);
  });
  afterAll(async () => {
    await half?.dispose();
    await full?.dispose();
  });

  it('encode: the float32 graph on float16-rounded x, outputs rounded to float16, exactly; PyTorch within 2e-3', async () => {
    const x = goldenTensor(golden, 'x');
    const q = await half.encode(x);
    const reference = await full.encode({ data: round16(x.data), dims: x.dims });
    expect(Array.from(q.mean.data)).toEqual(Array.from(round16(reference.mean.data)));
    expect(Array.from(q.logvar.data)).toEqual(Array.from(round16(reference.logvar.data)));
    expectClose(q.mean.data, goldenArray(golden, 'mean').data, 2e-3, 2e-3, 'mean vs PyTorch');
  });

  it('decode and score read float16 outputs as float32', async () => {
    const z = { data: Float32Array.from(goldenArray(golden, 'mean').data), dims: goldenArray(golden, 'mean').dims };
    const decoded = await half.decode(z);
    const reference = await full.decode({ data: round16(z.data), dims: z.dims });
    expect(Array.from(decoded.data)).toEqual(Array.from(round16(reference.data)));
    expectClose(decoded.data, goldenArray(golden, 'decodedMean').data, 2e-3, 2e-3, 'decode vs PyTorch');
    const score = await half.score(goldenTensor(golden, 'x'), { samples: 4, seed: 1 });
    expect(score.logLikelihood!.every(Number.isFinite)).toBe(true);
  });
});
