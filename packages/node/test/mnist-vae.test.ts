// The shipped MNIST VAE against the golden data PyTorch wrote when it trained and exported the model
// (training/onnx_vae_training/train_mnist_vae.py): posterior, decoder, ELBO and IWAE for 16 binarised test digits and fixed noise; and
// the normal-v1 generator against the Python reference implementation (training/onnx_vae_training/rng.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadVae, NormalV1 } from '../src/index';
import type { Vae } from '../src/index';
import { expectClose, goldenArray, goldenTensor, testFixtures } from '@onnx-vae/core/testing';
import { NETWORK_ATOL, NETWORK_RTOL, SCORE_ATOL, SCORE_RTOL } from '@onnx-vae/core/testing';

const MODEL = testFixtures(__dirname).model('mnist-vae');
const golden = JSON.parse(readFileSync(join(MODEL, 'golden.json'), 'utf8'));

describe('models/mnist-vae against PyTorch', () => {
  let vae: Vae;
  beforeAll(async () => {
    vae = await loadVae(MODEL, { intraOpNumThreads: 1 });
  });
  afterAll(() => vae?.dispose());

  it('encodes: mean, clamped logvar, closed-form KL', async () => {
    const q = await vae.encode(goldenTensor(golden, 'x'));
    expect([...q.mean.dims]).toEqual([16, 50]);
    expectClose(q.mean.data, goldenArray(golden, 'mean').data, NETWORK_RTOL, NETWORK_ATOL, 'mean');
    expectClose(q.logvar.data, goldenArray(golden, 'logvarClamped').data, NETWORK_RTOL, NETWORK_ATOL, 'logvar');
    expectClose(q.kl(), goldenArray(golden, 'klClosedForm').data, SCORE_RTOL, SCORE_ATOL, 'kl');
  });

  it('decodes the mean to PyTorch probabilities, and prior draws to PyTorch logits', async () => {
    const q = await vae.encode(goldenTensor(golden, 'x'));
    expectClose((await vae.decode(q.mean)).data, goldenArray(golden, 'decodedMeanProbs').data, NETWORK_RTOL, NETWORK_ATOL, 'decode(mean)');
    const logits = goldenArray(golden, 'priorDecodedLogits').data;
    const probs = Float64Array.from(logits, (l) => 1 / (1 + Math.exp(-l)));
    expectClose((await vae.generate({ n: 4, eps: goldenTensor(golden, 'priorEps') })).data, probs, NETWORK_RTOL, NETWORK_ATOL, 'generate');
  });

  it('samples z = mean + std * eps as PyTorch does', async () => {
    const q = await vae.encode(goldenTensor(golden, 'x'));
    const z = vae.sample(q, { n: 8, eps: goldenTensor(golden, 'eps') });
    expectClose(z.data, goldenArray(golden, 'z').data, NETWORK_RTOL, NETWORK_ATOL, 'z');
  });

  it.each([1, 8])('scores with k = %i: ELBO, IWAE, reconstruction, bits/dim, active units', async (k) => {
    const eps = goldenArray(golden, 'eps');
    const epsK = { data: Float32Array.from(eps.data.subarray(0, k * 16 * 50)), dims: [k, 16, 50] };
    const result = await vae.score(goldenTensor(golden, 'x'), { samples: k, eps: epsK });
    expectClose(result.elbo!, goldenArray(golden, `elbo_k${k}`).data, SCORE_RTOL, SCORE_ATOL, 'elbo');
    expectClose(result.logLikelihood!, goldenArray(golden, `iwae_k${k}`).data, SCORE_RTOL, SCORE_ATOL, 'iwae');
    expectClose(result.reconstruction!, goldenArray(golden, `reconstruction_k${k}`).data, SCORE_RTOL, SCORE_ATOL, 'reconstruction');
    expectClose(result.bitsPerDim!, goldenArray(golden, `bitsPerDim_k${k}`).data, SCORE_RTOL, 1e-7, 'bitsPerDim');
    expect(result.activeUnits).toBe(golden.activeUnits);
  });
});

describe('normal-v1 against the Python reference (training/onnx_vae_training/rng.py)', () => {
  it.each([
    ['seed0', golden.rng.seed0Seed],
    ['seedBig', golden.rng.seedBigSeed],
  ])('%s: the first 1000 draws are bit-identical in float32', (key, seed) => {
    const expected = Float32Array.from(golden.rng[key] as number[]);
    const actual = new NormalV1(seed as number).fill(new Float32Array(expected.length));
    expect(Array.from(actual)).toEqual(Array.from(expected));
  });

  it('stream semantics: normals(3) then normals(4) equals the Python reference', () => {
    const rng = new NormalV1(golden.rngStreamCheckSeed);
    const values = [...rng.fill(new Float32Array(3)), ...rng.fill(new Float32Array(4))];
    expect(values).toEqual(Array.from(Float32Array.from(golden.rngStreamCheck as number[])));
  });
});
