/**
 * The contract suite for the VAE API: one set of tests, run against every backend that can run here. Each backend's
 * test file calls {@link describeVaeContract} with a loader; the numbers come from PyTorch (training/onnx_vae_training/make_fixtures.py,
 * training/onnx_vae_training/train_mnist_vae.py).
 *
 * Tolerances, |actual - expected| <= rtol |expected| + atol: network outputs (mean, logvar, std, decoded values, z)
 * rtol 1e-5, atol 1e-5 (float32 graphs, onnxruntime vs PyTorch kernels; observed worst ~3e-6 absolute); per-item
 * log-likelihood numbers (ELBO, IWAE, KL, reconstruction) rtol 1e-4, atol 1e-4 nats (observed worst: ~2e-7 relative
 * on the MLP models, 1.3e-5 on kl-f8, whose Gaussian scale 0.099 turns 1e-6 output differences summed over 4608
 * pixels into 1e-5 relative).
 */
import { VaeError } from '../errors.js';
import type { Vae } from '../model/vae.js';
import { expectClose } from './closeness.js';
import { goldenArray, goldenTensor } from './golden.js';
import type { Golden } from './golden.js';
import { globalTestApi } from './test-api.js';
import type { TestApi } from './test-api.js';

/** Relative tolerance of network outputs (mean, logvar, std, decoded values, z). */
export const NETWORK_RTOL = 1e-5;
/** Absolute tolerance of network outputs. */
export const NETWORK_ATOL = 1e-5;
/** Relative tolerance of per-item log-likelihood numbers (ELBO, IWAE, KL, reconstruction). */
export const SCORE_RTOL = 1e-4;
/** Absolute tolerance of per-item log-likelihood numbers, in nats. */
export const SCORE_ATOL = 1e-4;

/** Tolerances of a model's score numbers where the defaults do not fit; `split`/`splitMean` for maxBatch 1 vs one batch. */
export interface ScoreTolerance {
  readonly rtol: number;
  readonly atol: number;
  readonly split: number;
  readonly splitMean: number;
}

/**
 * The models the suite runs, by role. Each needs golden data with the keys the shipped fixtures have
 * (scripts/make-fixtures.py): `x`, `mean`, `logvarClamped`, `std`, `klClosedForm`, `eps` (`[4, N, ...latent]`), `z`,
 * `decodedMean`, `elbo_k1/k4`, `iwae_k1/k4`, `reconstruction_k1/k4`, `bitsPerDim_k1/k4`, `reconstructionError`,
 * `activeUnits` (and `logPxGivenZAtMean` for the deterministic model).
 */
export interface ContractModels {
  /** Stochastic encoders with a likelihood: posterior, sampling, device latents, score, batch splitting. */
  readonly gaussian: readonly string[];
  /** A deterministic encoder with a likelihood, or `null` to skip. */
  readonly deterministic: string | null;
  /** A model with likelihood kind `none`, or `null` to skip. */
  readonly none: string | null;
  /** A flat-data Bernoulli model for the API behaviour and error messages (3 items in its golden `x`). */
  readonly api: string;
  /** An image model with open latent sizes, shift 0.1 and scale 0.18215 (fixtures/conv-moments), or `null` to skip. */
  readonly latentScaling: string | null;
}

/** The shipped fixtures in their roles. */
export const FIXTURE_CONTRACT_MODELS: ContractModels = Object.freeze({
  gaussian: Object.freeze(['fixtures/conv-moments', 'fixtures/mlp-learned-scale', 'fixtures/mlp-probs', 'kl-f8']),
  deterministic: 'fixtures/mlp-deterministic-probs',
  none: 'fixtures/mlp-none',
  api: 'fixtures/mlp-probs',
  latentScaling: 'fixtures/conv-moments',
});

/**
 * What the suite calls on a loaded model: the `Vae` API but its image, batching and backend helpers, so that a
 * wrapper with the same methods (a VAE served from a Web Worker) runs the suite too.
 */
export type ContractVae = Pick<
  Vae,
  | 'manifest'
  | 'encode'
  | 'encodeToDevice'
  | 'decode'
  | 'sample'
  | 'score'
  | 'reconstruct'
  | 'generate'
  | 'interpolate'
  | 'toDiffusionLatent'
  | 'fromDiffusionLatent'
  | 'dispose'
>;

/** A backend the contract suite runs on. */
export interface ContractTarget {
  /** Label of the backend, e.g. "onnxruntime-node cpu". */
  readonly backend: string;
  /** Loads a model folder by path relative to the repository's `models/`. */
  load(model: string, options?: { maxBatch?: number }): Promise<ContractVae>;
  /** Reads `models/<model>/golden.json`. */
  golden(model: string): Promise<Golden>;
  /** Where `encodeToDevice` leaves latents on this backend: `'gpu-buffer'` on WebGPU; default `'cpu'`. */
  readonly deviceLocation?: string;
  /** The models by role; default {@link FIXTURE_CONTRACT_MODELS}. */
  readonly models?: ContractModels;
  /** Score tolerances per model, beside the defaults. */
  readonly scoreTolerance?: Readonly<Record<string, ScoreTolerance>>;
  /** The test runner; default its globals. */
  readonly api?: TestApi;
}

/**
 * encodeToDevice keeps the posterior mean where the backend has device memory, decode reads it there: PyTorch's
 * mean and decoded mean within the network tolerances, and reconstruct (the same path) within 1e-6 relative; a
 * disposed latent is refused with DISPOSED.
 */
async function checkDeviceLatents({ expect }: TestApi, target: ContractTarget, vae: ContractVae, golden: Golden): Promise<void> {
  // Against PyTorch's mean and decoded mean, so that slow backends (WebGPU on a software adapter) run few graphs.
  const x = goldenTensor(golden, 'x');
  const latent = await vae.encodeToDevice(x);
  try {
    expect(latent.location).toBe(target.deviceLocation ?? 'cpu');
    expect([...latent.dims]).toEqual(goldenArray(golden, 'mean').dims);
    expectClose((await latent.download()).data, goldenArray(golden, 'mean').data, NETWORK_RTOL, NETWORK_ATOL, 'downloaded mean');
    const fromDevice = await vae.decode(latent);
    expectClose(fromDevice.data, goldenArray(golden, 'decodedMean').data, NETWORK_RTOL, NETWORK_ATOL, 'decode(device latent)');
    expectClose((await vae.reconstruct(x)).data, fromDevice.data, 1e-6, 1e-7, 'reconstruct');
  } finally {
    latent.dispose();
  }
  latent.dispose();
  expect(latent.disposed).toBe(true);
  const error = await vae.decode(latent).catch((e: unknown) => e);
  expect(codeOf(error)).toBe('DISPOSED');
  expect((error as Error).message).toContain('"z" is a DeviceLatent that was disposed');
}

/**
 * Per-model tolerances for the log-likelihood numbers where the defaults do not fit. kl-f8's Gaussian likelihood has
 * scale 0.099 over 3 x 32 x 48 pixels, so a 1e-6 difference in decoder outputs (kernels differ between runtimes, and
 * between batch sizes) moves log p(x|z) by ~1e-4 relative and the k-sample IWAE by up to ~2e-4; measured worst: 1.3e-4
 * on onnxruntime-web wasm.
 */
const SCORE_TOLERANCE: Record<string, ScoreTolerance> = {
  // Convolutions on multi-threaded wasm sum in another order for another batch size: means move by ~1e-6.
  'kl-f8': { rtol: 1e-3, atol: 1e-3, split: 1e-4, splitMean: 1e-5 },
};

function codeOf(error: unknown): string {
  return VaeError.isInstance(error) ? error.code : `not a VaeError: ${String(error)}`;
}

/**
 * Declares the contract suite for one backend: every model role against its golden data, the API's behaviour and its
 * error messages.
 *
 * @example
 * describeVaeContract({ backend: 'onnxruntime-node (cpu)', load: (m, o) => loadVae(fixtures.model(m), o), golden: (m) => fixtures.golden(m, read) });
 */
export function describeVaeContract(target: ContractTarget): void {
  const api = target.api ?? globalTestApi();
  const { describe, it, beforeAll, afterAll, expect } = api;
  const models = target.models ?? FIXTURE_CONTRACT_MODELS;
  const tolerances = { ...SCORE_TOLERANCE, ...target.scoreTolerance };
  describe(`VAE contract on ${target.backend}`, () => {
    describe.each(models.gaussian)('%s against its golden data', (model: string) => {
      let vae: ContractVae;
      let golden: Golden;
      beforeAll(async () => {
        [vae, golden] = await Promise.all([target.load(model), target.golden(model)]);
      });
      afterAll(() => vae?.dispose());

      it('encode: mean, clamped logvar, std', async () => {
        const q = await vae.encode(goldenTensor(golden, 'x'));
        expect([...q.mean.dims]).toEqual(goldenArray(golden, 'mean').dims);
        expectClose(q.mean.data, goldenArray(golden, 'mean').data, NETWORK_RTOL, NETWORK_ATOL, 'mean');
        expectClose(q.logvar.data, goldenArray(golden, 'logvarClamped').data, NETWORK_RTOL, NETWORK_ATOL, 'logvar');
        expectClose(q.std.data, goldenArray(golden, 'std').data, NETWORK_RTOL, NETWORK_ATOL, 'std');
        expectClose(q.kl(), goldenArray(golden, 'klClosedForm').data, SCORE_RTOL, SCORE_ATOL, 'kl');
      });

      it('sample with caller eps gives PyTorch z; decode(mean) gives PyTorch outputs', async () => {
        const q = await vae.encode(goldenTensor(golden, 'x'));
        const z = vae.sample(q, { n: 4, eps: goldenTensor(golden, 'eps') });
        expect([...z.dims]).toEqual(goldenArray(golden, 'z').dims);
        expectClose(z.data, goldenArray(golden, 'z').data, NETWORK_RTOL, NETWORK_ATOL, 'z');
        const decoded = await vae.decode(q.mean);
        const manifest = vae.manifest;
        if (manifest.likelihood.kind === 'bernoulli' && manifest.likelihood.parameterization === 'logits') return;
        expectClose(decoded.data, goldenArray(golden, 'decodedMean').data, NETWORK_RTOL, NETWORK_ATOL, 'decode(mean)');
      });

      it('encodeToDevice: the mean stays on the device, decode and reconstruct read it there', async () => {
        await checkDeviceLatents(api, target, vae, golden);
      });

      const tolerance = tolerances[model] ?? { rtol: SCORE_RTOL, atol: SCORE_ATOL, split: 1e-6, splitMean: 1e-7 };

      it.each([1, 4])('score with k = %i and caller eps: ELBO, IWAE, reconstruction, KL, bits/dim', async (k: number) => {
        const eps = goldenArray(golden, 'eps');
        const per = eps.data.length / eps.dims[0]!;
        const epsK = { data: Float32Array.from(eps.data.subarray(0, k * per)), dims: [k, ...eps.dims.slice(1)] };
        const result = await vae.score(goldenTensor(golden, 'x'), { samples: k, eps: epsK });
        expect(result.samples).toBe(k);
        expect(result.seed).toBeNull();
        expectClose(result.elbo!, goldenArray(golden, `elbo_k${k}`).data, tolerance.rtol, tolerance.atol, 'elbo');
        expectClose(result.logLikelihood!, goldenArray(golden, `iwae_k${k}`).data, tolerance.rtol, tolerance.atol, 'iwae');
        expectClose(result.reconstruction!, goldenArray(golden, `reconstruction_k${k}`).data, tolerance.rtol, tolerance.atol, 'reconstruction');
        expectClose(result.kl!, goldenArray(golden, 'klClosedForm').data, SCORE_RTOL, SCORE_ATOL, 'kl');
        expectClose(result.bitsPerDim!, goldenArray(golden, `bitsPerDim_k${k}`).data, tolerance.rtol, 1e-6, 'bitsPerDim');
        expectClose(result.reconstructionError, goldenArray(golden, 'reconstructionError').data, NETWORK_RTOL, NETWORK_ATOL, 'reconstructionError');
        expect(result.activeUnits).toBe(golden.activeUnits);
      });

      it('splits batches transparently: maxBatch 1 gives the same numbers as one batch', async () => {
        const small = await target.load(model, { maxBatch: 1 });
        try {
          const x = goldenTensor(golden, 'x');
          const [a, b] = await Promise.all([vae.score(x, { samples: 3, seed: 9 }), small.score(x, { samples: 3, seed: 9 })]);
          expectClose(b.logLikelihood!, a.logLikelihood!, tolerance.split, tolerance.split, 'iwae');
          expectClose(b.elbo!, a.elbo!, tolerance.split, tolerance.split, 'elbo');
          const [qa, qb] = await Promise.all([vae.encode(x), small.encode(x)]);
          expectClose(qb.mean.data, qa.mean.data, 1e-6, tolerance.splitMean, 'mean');
        } finally {
          await small.dispose();
        }
      });
    });

    if (models.deterministic !== null)
      describe(`deterministic encoder (${models.deterministic})`, () => {
        const model = models.deterministic!;
        let vae: ContractVae;
        let golden: Golden;
        beforeAll(async () => {
          [vae, golden] = await Promise.all([target.load(model), target.golden(model)]);
        });
        afterAll(() => vae?.dispose());

        it('gives std 0 and samples equal to the latent; score reports log p(x|z) and says why KL is null', async () => {
          const x = goldenTensor(golden, 'x');
          const q = await vae.encode(x);
          expect(q.deterministic).toBe(true);
          expect(Array.from(q.std.data).every((v) => v === 0)).toBe(true);
          expectClose(q.mean.data, goldenArray(golden, 'mean').data, NETWORK_RTOL, NETWORK_ATOL, 'z');
          expect(Array.from(vae.sample(q, { seed: 3 }).data)).toEqual(Array.from(q.mean.data));
          const result = await vae.score(x, { samples: 4, seed: 1 });
          expect(result.kl).toBeNull();
          expect(result.elbo).toBeNull();
          expect(result.logLikelihood).toBeNull();
          expectClose(result.reconstruction!, goldenArray(golden, 'logPxGivenZAtMean').data, SCORE_RTOL, SCORE_ATOL, 'log p(x|z)');
          expectClose(result.reconstructionError, goldenArray(golden, 'reconstructionError').data, NETWORK_RTOL, NETWORK_ATOL, 'reconstructionError');
          expect(result.notes.join(' ')).toContain('The encoder is deterministic (std 0)');
        });

        it('encodeToDevice keeps the latent itself on the device', async () => {
          await checkDeviceLatents(api, target, vae, golden);
        });
      });

    if (models.none !== null)
      describe(`no likelihood (${models.none})`, () => {
        it('score reports reconstruction error and KL only, and says so', async () => {
          const [vae, golden] = await Promise.all([target.load(models.none!), target.golden(models.none!)]);
          try {
            const result = await vae.score(goldenTensor(golden, 'x'), { samples: 2, seed: 0 });
            expect(result.elbo).toBeNull();
            expect(result.logLikelihood).toBeNull();
            expect(result.bitsPerDim).toBeNull();
            expectClose(result.kl!, goldenArray(golden, 'klClosedForm').data, SCORE_RTOL, SCORE_ATOL, 'kl');
            expectClose(result.reconstructionError, goldenArray(golden, 'reconstructionError').data, NETWORK_RTOL, NETWORK_ATOL, 'reconstructionError');
            expect(result.notes[0]).toBe(
              `Model "${vae.manifest.name}" declares no likelihood (likelihood.kind "none"): elbo, logLikelihood, reconstruction and bitsPerDim are not defined; only reconstructionError and kl are reported.`,
            );
          } finally {
            await vae.dispose();
          }
        });
      });

    describe(`API behaviour (${models.api})`, () => {
      let vae: ContractVae;
      let golden: Golden;
      beforeAll(async () => {
        [vae, golden] = await Promise.all([target.load(models.api), target.golden(models.api)]);
      });
      // The API model is a flat Bernoulli model; the expected messages follow its sizes (fixtures/mlp-probs: D 6, L 2).
      const sizes = () => ({
        name: vae.manifest.name,
        d: vae.manifest.data.shape[0] as number,
        l: vae.manifest.latent.shape[0] as number,
        n: goldenArray(golden, 'x').dims[0]!,
      });
      afterAll(() => vae?.dispose());

      it('seeded calls reproduce; the result reports the seed it used', async () => {
        const x = goldenTensor(golden, 'x');
        const a = await vae.score(x, { samples: 5, seed: 123 });
        const b = await vae.score(x, { samples: 5, seed: 123 });
        expect(Array.from(b.logLikelihood!)).toEqual(Array.from(a.logLikelihood!));
        expect(a.seed).toBe(123);
        const c = await vae.score(x, { samples: 5 });
        expect(typeof c.seed).toBe('number');
        const again = await vae.score(x, { samples: 5, seed: c.seed! });
        expect(Array.from(again.logLikelihood!)).toEqual(Array.from(c.logLikelihood!));
      });

      it('the IWAE estimate at k = 500 exceeds the ELBO on average (the bound tightens with k)', async () => {
        const x = goldenTensor(golden, 'x');
        const k1 = await vae.score(x, { samples: 1, seed: 4 });
        const k500 = await vae.score(x, { samples: 500, seed: 4 });
        const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
        expect(mean(k500.logLikelihood!)).toBeGreaterThan(mean(k500.elbo!));
        expect(Number.isFinite(mean(k1.logLikelihood!))).toBe(true);
      });

      it('reconstruct decodes the mean by default and a sample on request; generate and interpolate decode', async () => {
        const x = goldenTensor(golden, 'x');
        const recon = await vae.reconstruct(x);
        expectClose(recon.data, goldenArray(golden, 'decodedMean').data, NETWORK_RTOL, NETWORK_ATOL, 'reconstruct');
        const q = await vae.encode(x);
        const eps = { data: Float32Array.from(goldenArray(golden, 'eps').data.subarray(0, q.mean.size)), dims: [...q.mean.dims] };
        const sampled = await vae.reconstruct(x, { sample: true, eps });
        const expected = await vae.decode(q.sample({ eps }));
        expect(Array.from(sampled.data)).toEqual(Array.from(expected.data));
        const { d } = sizes();
        const generated = await vae.generate({ n: 5, seed: 2 });
        expect(generated.dims).toEqual([5, d]);
        expect(Array.from(generated.data)).toEqual(Array.from((await vae.decode(vae.sample({ n: 5, seed: 2 }))).data));
        const path = await vae.interpolate(q.mean.slice(0, 1), q.mean.slice(1, 2), { steps: 4 });
        expect(path.dims).toEqual([4, d]);
        expectClose(path.data.subarray(0, d), recon.data.subarray(0, d), 1e-6, 1e-7, 'path start');
        expectClose(path.data.subarray(3 * d, 4 * d), recon.data.subarray(d, 2 * d), 1e-6, 1e-7, 'path end');
      });

      type Sizes = ReturnType<typeof sizes>;
      const withNaN = (d: number) => Float32Array.from({ length: d }, (_, i) => (i === 2 ? NaN : 0));
      it.each([
        [
          'a wrong shape',
          (s: Sizes) => ({ data: new Float32Array(s.d - 1), dims: [1, s.d - 1] }),
          'SHAPE_MISMATCH',
          (s: Sizes) => `Expected data "x" of shape [N, ${s.d}] for model "${s.name}" but received [1, ${s.d - 1}].`,
        ],
        [
          'no batch axis',
          (s: Sizes) => ({ data: new Float32Array(s.d), dims: [s.d] }),
          'SHAPE_MISMATCH',
          (s: Sizes) => `Expected data "x" of shape [N, ${s.d}] for model "${s.name}" but received [${s.d}].`,
        ],
        [
          'float64 data',
          (s: Sizes) => ({ data: new Float64Array(s.d), dims: [1, s.d] }),
          'DTYPE_MISMATCH',
          (s: Sizes) => `Expected "x.data" to be a Float32Array but received Float64Array(${s.d})`,
        ],
        [
          'NaN',
          (s: Sizes) => ({ data: withNaN(s.d), dims: [1, s.d] }),
          'NON_FINITE_INPUT',
          (s: Sizes) => `"x" holds NaN at flat index 2 (dims [1, ${s.d}]); inputs must be finite.`,
        ],
        [
          'a number',
          () => 42,
          'INVALID_INPUT',
          () => 'Expected "x" to be a tensor ({ data: Float32Array, dims }, an ndarray or an onnxruntime Tensor) but received 42.',
        ],
      ])('encode rejects %s with a typed error', async (_name: string, input: (s: Sizes) => unknown, code: string, message: (s: Sizes) => string) => {
        const error = await vae.encode(input(sizes()) as never).catch((e: unknown) => e);
        expect(codeOf(error)).toBe(code);
        expect((error as Error).message).toContain(message(sizes()));
      });

      it.each([
        ['samples 0', () => ({ samples: 0 }), 'INVALID_OPTION', () => 'Expected "samples" to be a positive integer but received 0.'],
        ['a fractional seed', () => ({ seed: 0.5 }), 'INVALID_OPTION', () => 'Expected "seed" to be an integer in [0, 2^53) but received 0.5.'],
        [
          'eps of wrong dims',
          (s: Sizes) => ({ samples: 2, eps: { data: new Float32Array(s.n * s.l), dims: [1, s.n, s.l] } }),
          'SHAPE_MISMATCH',
          (s: Sizes) => `Expected "eps" of dims [2, ${s.n}, ${s.l}] but received [1, ${s.n}, ${s.l}].`,
        ],
      ])('score rejects %s', async (_name: string, options: (s: Sizes) => unknown, code: string, message: (s: Sizes) => string) => {
        const error = await vae.score(goldenTensor(golden, 'x'), options(sizes()) as never).catch((e: unknown) => e);
        expect(codeOf(error)).toBe(code);
        expect((error as Error).message).toBe(message(sizes()));
      });

      it('score rejects data outside [0, 1] for a Bernoulli decoder; decode rejects wrong latents', async () => {
        const { d, l, name } = sizes();
        const error = await vae
          .score({ data: Float32Array.from({ length: d }, (_, i) => (i === 2 ? 2 : i === 1 ? 1 : 0)), dims: [1, d] })
          .catch((e: unknown) => e);
        expect(codeOf(error)).toBe('INVALID_INPUT');
        expect((error as Error).message).toBe(`Model "${name}" has a Bernoulli decoder, so score() needs x in [0, 1], but x holds 2 at flat index 2.`);
        const bad = await vae.decode({ data: new Float32Array(l + 1), dims: [1, l + 1] }).catch((e: unknown) => e);
        expect((bad as Error).message).toBe(`Expected latent "z" of shape [N, ${l}] for model "${name}" but received [1, ${l + 1}].`);
      });

      it('after dispose every call throws DISPOSED', async () => {
        const other = await target.load(models.api);
        await other.dispose();
        await other.dispose();
        const error = await other.encode(goldenTensor(golden, 'x')).catch((e: unknown) => e);
        expect(codeOf(error)).toBe('DISPOSED');
      });
    });

    if (models.latentScaling !== null)
      describe(`latent scaling (${models.latentScaling})`, () => {
        it('toDiffusionLatent is (z - shift) * scale and fromDiffusionLatent inverts it', async () => {
          const vae = await target.load(models.latentScaling!);
          try {
            const z = { data: Float32Array.from({ length: 4 * 2 * 3 }, (_, i) => i / 10 - 1), dims: [1, 4, 2, 3] };
            const scaled = vae.toDiffusionLatent(z);
            const { scalingFactor, shiftFactor } = vae.manifest.latent;
            expect([shiftFactor, scalingFactor]).toEqual([0.1, 0.18215]);
            z.data.forEach((v, i) => expect(scaled.data[i]).toBe(Math.fround((v - shiftFactor) * scalingFactor)));
            expectClose(vae.fromDiffusionLatent(scaled).data, z.data, 1e-6, 1e-7, 'round trip');
            expect(() => vae.sample({ n: 1 })).toThrow(
              `Model "${vae.manifest.name}" leaves latent sizes open ([4, null, null]); pass "latentShape" with the sizes to draw.`,
            );
            expect(vae.sample({ n: 2, seed: 0, latentShape: [4, 3, 5] }).dims).toEqual([2, 4, 3, 5]);
          } finally {
            await vae.dispose();
          }
        });
      });
  });
}
