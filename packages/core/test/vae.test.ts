// The whole Vae on the pure-JS mock backend (linear VAEs computed in plain JavaScript): the contract suite, the IWAE
// estimate against the closed-form log-likelihood, batch splitting, the device path, progress and shared noise.
import { NormalV1, Posterior, VaeTensor, createNoise, createVae, describeLikelihood, LIKELIHOODS, parseManifest } from '../src/index';
import type { Backend, BackendSession, Vae } from '../src/index';
import {
  LinearVae,
  MOCK_CONTRACT_MODELS,
  MOCK_MODELS,
  MOCK_SOURCE,
  createMockVae,
  describeVaeContract,
  errorOf,
  expectClose,
  goldenTensor,
  mockGolden,
} from '@onnx-vae/core/testing';
import type { MockModelName } from '@onnx-vae/core/testing';
import { base } from './manifest-cases';

describeVaeContract({
  backend: 'the mock backend (plain JS)',
  load: async (model, options) => (await createMockVae(model as MockModelName, options)).vae,
  golden: async (model) => mockGolden(model as MockModelName),
  models: MOCK_CONTRACT_MODELS,
});

describeVaeContract({
  backend: 'the mock backend with device memory',
  load: async (model, options) => (await createMockVae(model as MockModelName, { ...options, device: true })).vae,
  golden: async (model) => mockGolden(model as MockModelName),
  models: MOCK_CONTRACT_MODELS,
  deviceLocation: 'mock-gpu',
});

const x5 = (model: MockModelName) => goldenTensor(mockGolden(model, 5), 'x');

describe('score on the linear-Gaussian mock, whose encoder is the exact posterior', () => {
  // Every importance weight p(x, z) / q(z|x) is then p(x) itself, so the estimate is exact for any k and seed (the
  // ELBO is not: its E_q log p(x|z) term is a k-sample Monte Carlo estimate).
  it.each([1, 10])('the IWAE estimate equals the closed-form log p(x) (k = %i)', async (samples) => {
    const { vae } = await createMockVae('mock/linear-gaussian');
    const model = new LinearVae(MOCK_MODELS['mock/linear-gaussian']);
    const x = x5('mock/linear-gaussian');
    const exact = Array.from({ length: 5 }, (_, n) => model.logMarginal(x.data, n * 5));
    const result = await vae.score(x, { samples, seed: 3 });
    // float32 z and outputs against float64 maths: agreement to ~1e-5 nats.
    expectClose(result.logLikelihood!, exact, 1e-5, 1e-4, 'IWAE vs closed form');
    expectClose(
      result.bitsPerDim!,
      exact.map((v) => -v / (5 * Math.LN2)),
      1e-5,
      1e-5,
      'bits/dim',
    );
    expect(result.notes).toContain('bitsPerDim is of the Gaussian density in the data space, without a dequantisation correction.');
  });
});

describe('batch splitting on the mock', () => {
  it('runs batches of at most maxBatch, and gives the numbers of one batch', async () => {
    const x = x5('mock/linear-probs');
    const { vae: whole } = await createMockVae('mock/linear-probs');
    const { vae: split, backend } = await createMockVae('mock/linear-probs', { maxBatch: 2 });
    const [a, b] = [await whole.encode(x), await split.encode(x)];
    expect(backend.runs.map((r) => r.batch)).toEqual([2, 2, 1]);
    expect(Array.from(b.mean.data)).toEqual(Array.from(a.mean.data));
    const [sa, sb] = [await whole.score(x, { samples: 3, seed: 5 }), await split.score(x, { samples: 3, seed: 5 })];
    expect(Array.from(sb.logLikelihood!)).toEqual(Array.from(sa.logLikelihood!));
    expect(backend.runs.filter((r) => r.graph === 'decoder').every((r) => r.batch <= 2)).toBe(true);
  });

  it.each([
    ['0', 0],
    ['a fraction', 1.5],
    ['a string', '2'],
  ])('refuses maxBatch %s with the one option message', async (_name, maxBatch) => {
    const caught = await errorOf(createMockVae('mock/linear-probs', { maxBatch: maxBatch as number }));
    expect(caught).toEqual({
      code: 'INVALID_OPTION',
      message: `Expected "maxBatch" to be a positive integer (or Infinity) but received ${typeof maxBatch === 'string' ? `"${maxBatch}"` : maxBatch}.`,
    });
  });
});

describe('the device path on the mock', () => {
  it('reconstruct keeps the latent in device memory, splits a moments output there, and frees it', async () => {
    const { vae, backend } = await createMockVae('mock/linear-moments', { device: true });
    const { vae: plain } = await createMockVae('mock/linear-moments');
    const x = x5('mock/linear-moments');
    const y = await vae.reconstruct(x);
    expect(backend.runs).toEqual([
      { graph: 'encoder', batch: 5, device: true },
      { graph: 'decoder', batch: 5, device: true },
    ]);
    expect(backend.liveDeviceTensors.size).toBe(0);
    expect(Array.from(y.data)).toEqual(Array.from((await plain.reconstruct(x)).data));
  });

  it('a device latent larger than maxBatch is downloaded and decoded in CPU batches', async () => {
    const { vae, backend } = await createMockVae('mock/linear-gaussian', { device: true, maxBatch: 5 });
    const x = x5('mock/linear-gaussian');
    const latent = await vae.encodeToDevice(x);
    expect(latent.location).toBe('mock-gpu');
    const { vae: small } = await createMockVae('mock/linear-gaussian', { device: true, maxBatch: 2 });
    const y = await small.decode(latent);
    expect(Array.from(y.data)).toEqual(Array.from((await vae.decode(latent)).data));
    latent.dispose();
    expect(backend.liveDeviceTensors.size).toBe(0);
  });

  it('dispose releases both sessions once', async () => {
    const { vae, backend } = await createMockVae('mock/linear-gaussian', { device: true });
    expect(backend.openSessions).toBe(2);
    await vae.dispose();
    await vae.dispose();
    expect(backend.openSessions).toBe(0);
  });
});

describe('onProgress', () => {
  const calls = () => {
    const seen: [number, number][] = [];
    return { seen, onProgress: (done: number, total: number) => void seen.push([done, total]) };
  };

  it('encode, decode and generate report rows after each graph run', async () => {
    const { vae } = await createMockVae('mock/linear-probs', { maxBatch: 2 });
    const x = x5('mock/linear-probs');
    const encoded = calls();
    const q = await vae.encode(x, { onProgress: encoded.onProgress });
    expect(encoded.seen).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);
    const decoded = calls();
    await vae.decode(q.mean, { onProgress: decoded.onProgress });
    expect(decoded.seen).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);
    const generated = calls();
    await vae.generate({ n: 3, seed: 1, onProgress: generated.onProgress });
    expect(generated.seen).toEqual([
      [2, 3],
      [3, 3],
    ]);
  });

  it('reconstruct reports 2N rows: the encoder rows, then the decoder rows (also on the device path)', async () => {
    const x = x5('mock/linear-probs');
    for (const device of [false, true]) {
      const { vae } = await createMockVae('mock/linear-probs', { maxBatch: device ? 8 : 3, device });
      const progress = calls();
      await vae.reconstruct(x, { onProgress: progress.onProgress });
      expect(progress.seen).toEqual(
        device
          ? [
              [5, 10],
              [10, 10],
            ]
          : [
              [3, 10],
              [5, 10],
              [8, 10],
              [10, 10],
            ],
      );
    }
  });

  it('refuses an onProgress that is not a function', async () => {
    const { vae } = await createMockVae('mock/linear-probs');
    expect(await errorOf(vae.encode(x5('mock/linear-probs'), { onProgress: 'yes' as never }))).toEqual({
      code: 'INVALID_OPTION',
      message: 'Expected "onProgress" to be a function but received "yes".',
    });
  });
});

describe('one seeded noise stream across calls (createNoise)', () => {
  let vae: Vae;
  beforeAll(async () => {
    vae = (await createMockVae('mock/linear-probs')).vae;
  });

  it('posterior samples of a batch in parts equal one call over the whole batch with the seed', async () => {
    const x = x5('mock/linear-probs');
    const whole = vae.sample(await vae.encode(x), { seed: 7 });
    const noise = createNoise(7);
    const parts = [await vae.encode({ data: x.data.slice(0, 12), dims: [2, 6] }), await vae.encode({ data: x.data.slice(12), dims: [3, 6] })];
    const drawn = parts.map((q) => vae.sample(q, { noise }));
    expect([...drawn[0]!.data, ...drawn[1]!.data]).toEqual(Array.from(whole.data));
    expect(noise.drawn).toBe(10);
    expect(noise.seed).toBe(7);
  });

  it('prior draws, generate and reconstruct({ sample }) in parts equal one call', async () => {
    const noise = createNoise(11);
    const parts = [vae.sample({ n: 3, noise }), vae.sample({ n: 1, noise })];
    expect([...parts[0]!.data, ...parts[1]!.data]).toEqual(Array.from(vae.sample({ n: 4, seed: 11 }).data));
    const generated = [await vae.generate({ n: 1, noise: createNoise(2) })];
    expect(Array.from(generated[0]!.data)).toEqual(Array.from((await vae.generate({ n: 1, seed: 2 })).data));
    const x = x5('mock/linear-probs');
    const stream = createNoise(4);
    const a = await vae.reconstruct({ data: x.data.slice(0, 18), dims: [3, 6] }, { sample: true, noise: stream });
    const b = await vae.reconstruct({ data: x.data.slice(18), dims: [2, 6] }, { sample: true, noise: stream });
    const whole = await vae.reconstruct(x, { sample: true, seed: 4 });
    expect([...a.data, ...b.data]).toEqual(Array.from(whole.data));
  });

  it('the stream continues the normal-v1 sequence exactly, odd lengths included (Box-Muller pairs)', () => {
    const noise = createNoise(99);
    const got = [...noise.next([3]).data, ...noise.next([2, 2]).data];
    expect(got).toEqual(Array.from(new NormalV1(99).fill(new Float32Array(7))));
  });

  it('eps overrides noise, noise overrides seed; a non-stream is refused', () => {
    const q = new Posterior(new VaeTensor(new Float32Array(2), [1, 2]), new VaeTensor(new Float32Array(2), [1, 2]));
    const eps = { data: Float32Array.from([1, 2]), dims: [1, 2] };
    expect(Array.from(q.sample({ eps, noise: createNoise(1) }).data)).toEqual([1, 2]);
    expect(Array.from(q.sample({ seed: 5, noise: createNoise(1) }).data)).toEqual(Array.from(q.sample({ seed: 1 }).data));
    expect(errorOf(() => q.sample({ noise: { seed: 1 } as never }))).toEqual({
      code: 'INVALID_OPTION',
      message: 'Expected "noise" to be a NoiseStream (from createNoise(seed)) but received an object.',
    });
  });
});

describe('the likelihood registry', () => {
  it('lists each likelihood under its kind, and parseManifest names every field of every likelihood', () => {
    for (const [kind, model] of Object.entries(LIKELIHOODS)) expect(model.kind).toBe(kind);
    const caught = errorOf(() => parseManifest({ ...base, likelihood: { kind: 'bernoulli', parameterization: 'probs', rate: 1 } }));
    expect(caught?.message).toBe(
      'Invalid manifest: "likelihood.rate" is not a known field; the fields of likelihood are kind, parameterization, scale, logScaleOutput.',
    );
  });

  it.each([
    [{ kind: 'bernoulli', parameterization: 'logits' }, 'bernoulli (logits)'],
    [{ kind: 'gaussian', scale: 0.1 }, 'gaussian (scale 0.1)'],
    [{ kind: 'gaussian', logScaleOutput: 'log_scale' }, 'gaussian (log scale output "log_scale")'],
    [{ kind: 'laplace', scale: 0.5 }, 'laplace (scale 0.5)'],
    [{ kind: 'none' }, 'none'],
  ])('describeLikelihood(%j) is %s', (likelihood, text) => {
    expect(describeLikelihood(parseManifest({ ...base, decoder: { ...base.decoder, output: 'x_hat' }, likelihood }).likelihood)).toBe(text);
  });
});

describe('tiled calls on a small image model (nearest up/down-sampling in plain JS)', () => {
  // Encoder: the mean of each 8x8 block of channel c % 3 into latent channel c (4 channels); decoder: nearest
  // upsampling of latent channels 0..2. Deterministic, no likelihood: enough to count tiles and check settings.
  const decoderRuns: number[][] = [];
  const session = (role: 'encoder' | 'decoder'): BackendSession => ({
    inputs: [{ name: role === 'encoder' ? 'image' : 'latent', type: 'float32', shape: ['n', role === 'encoder' ? 3 : 4, 'h', 'w'] }],
    outputs: [{ name: role === 'encoder' ? 'latent' : 'image', type: 'float32', shape: ['n', role === 'encoder' ? 4 : 3, 'h', 'w'] }],
    run: async (feeds) => {
      const input = Object.values(feeds)[0]!;
      const [n, , h, w] = input.dims as [number, number, number, number];
      if (role === 'decoder') decoderRuns.push([h, w]);
      const [c, oh, ow] = role === 'encoder' ? [4, h / 8, w / 8] : [3, h * 8, w * 8];
      const out = new Float32Array(n * c * oh * ow);
      for (let b = 0; b < n; b++)
        for (let k = 0; k < c; k++)
          for (let y = 0; y < oh; y++)
            for (let x = 0; x < ow; x++) {
              let v = 0;
              if (role === 'decoder') v = input.data[((b * 4 + k) * h + Math.floor(y / 8)) * w + Math.floor(x / 8)]!;
              else for (let i = 0; i < 64; i++) v += input.data[((b * 3 + (k % 3)) * h + y * 8 + (i >> 3)) * w + x * 8 + (i & 7)]! / 64;
              out[((b * c + k) * oh + y) * ow + x] = v;
            }
      return { [role === 'encoder' ? 'latent' : 'image']: new VaeTensor(out, [n, c, oh, ow]) };
    },
    release: async () => {},
  });
  const backend: Backend = { specificationVersion: 'v1', name: 'image mock', createSession: async (_source, role) => session(role) };
  const manifest = parseManifest({
    format: 'onnx-vae',
    version: 1,
    name: 'image-mock',
    encoder: { file: 'e.onnx', input: 'image', output: { kind: 'deterministic', name: 'latent' } },
    decoder: { file: 'd.onnx', input: 'latent', output: 'image' },
    data: { shape: [3, null, null], layout: 'NCHW', range: [0, 1] },
    latent: { shape: [4, null, null], spatialFactor: 8 },
    likelihood: { kind: 'none' },
  });
  const load = (preset: string | null) =>
    createVae({
      manifest: preset === null ? manifest : () => ({ layout: 'encoder-decoder-pair', preset, manifest, reasons: [] }),
      backend,
      encoder: MOCK_SOURCE,
      decoder: MOCK_SOURCE,
    });
  const image = (h: number, w: number) => ({ data: Float32Array.from({ length: 3 * h * w }, (_, i) => (i % 17) / 17), dims: [1, 3, h, w] });

  it('encode with tiling reports a fraction of a row per tile; reconstruct covers 2 rows', async () => {
    const vae = await load(null);
    const seen: [number, number][] = [];
    await vae.encode(image(64, 96), { tiling: { tileSize: 32, overlap: 8 }, onProgress: (done, total) => void seen.push([done, total]) });
    // 64 rows: starts 0, 24, 32; 96 columns: 0, 24, 48, 64 -> 12 tiles.
    expect(seen.length).toBe(12);
    expect(seen[0]![0]).toBeCloseTo(1 / 12, 12);
    expect(seen.at(-1)).toEqual([1, 1]);
    const both: [number, number][] = [];
    await vae.reconstruct(image(64, 96), {
      tiling: { encode: { tileSize: 32, overlap: 8 }, decode: { tileSize: 4, overlap: 1 } },
      onProgress: (done, total) => void both.push([done, total]),
    });
    expect(both.every(([, total]) => total === 2)).toBe(true);
    expect(both.map(([done]) => done)).toEqual([...both.map(([done]) => done)].sort((a, b) => a - b));
    expect(both.at(-1)).toEqual([2, 2]);
  });

  it('tiling defaults come from the preset a model was detected with (flux-2-tiny: 64/8), else kl-f8 (64/16)', async () => {
    const z = { data: new Float32Array(4 * 120 * 8), dims: [1, 4, 120, 8] };
    // Loading probes the decoder once (a 2x2 latent): the runs are counted after it.
    const flux = await load('flux-2-tiny');
    decoderRuns.length = 0;
    await flux.decode(z, { tiling: true });
    expect(decoderRuns).toEqual([
      [64, 8],
      [64, 8],
    ]);
    const klF8 = await load(null);
    decoderRuns.length = 0;
    await klF8.decode(z, { tiling: true });
    expect(decoderRuns).toEqual([
      [64, 8],
      [64, 8],
      [64, 8],
    ]);
  });
});
