/**
 * A pure-JS backend for tests: small linear VAEs computed in plain JavaScript behind the {@link Backend} interface,
 * so the whole {@link Vae} (scoring, batch splitting, the device path) runs without a runtime. Reference numbers
 * come from {@link LinearVae}'s own float64 maths ({@link mockGolden}), not from the code under test.
 *
 * The model: decoder `x = W z + b` (data space: the mean of a Gaussian with std `scale`, or through a sigmoid the
 * probabilities of a Bernoulli), `W` with orthogonal columns; encoder `mean = A x + c` with a fixed `logvar`, chosen
 * as the exact posterior of the Gaussian model, so for it log p(x) is known in closed form and the IWAE estimate
 * equals it for every k.
 */
import type { Backend, BackendSession, DeviceTensor, ModelSource } from '../backend.js';
import { parseManifest } from '../manifest/parse.js';
import type { Manifest, TensorInfo } from '../manifest/types.js';
import { createVae } from '../model/create-vae.js';
import type { Vae } from '../model/vae.js';
import { NormalV1 } from '../rng.js';
import { VaeTensor } from '../tensor/tensor.js';
import type { Golden } from './golden.js';

/** Encoder output forms a mock model can have. */
export type MockEncoder = 'gaussian' | 'moments' | 'deterministic';
/** Observation models a mock model can have. */
export type MockLikelihood = 'gaussian' | 'learned-scale' | 'laplace' | 'bernoulli-probs' | 'bernoulli-logits' | 'none';

/** A mock model's description. */
export interface LinearVaeSpec {
  /** The manifest's name. */
  readonly name: string;
  /** Elements of a data item D. */
  readonly dataSize: number;
  /** Elements of a latent L (at most D). */
  readonly latentSize: number;
  /** Encoder outputs: mean and logvar, a moments tensor, or the latent only. */
  readonly encoder: MockEncoder;
  /** Decoder observation model. */
  readonly likelihood: MockLikelihood;
  /** Std of the Gaussian likelihood (`'gaussian'`; `'learned-scale'` varies around it). Default 0.5. */
  readonly scale?: number;
}

/** The mock models the core tests use, by name (the contract suite's roles: see {@link MOCK_CONTRACT_MODELS}). */
export const MOCK_MODELS = Object.freeze({
  'mock/linear-gaussian': { name: 'linear-gaussian', dataSize: 5, latentSize: 2, encoder: 'gaussian', likelihood: 'gaussian' },
  'mock/linear-moments': { name: 'linear-moments', dataSize: 4, latentSize: 3, encoder: 'moments', likelihood: 'learned-scale' },
  'mock/linear-probs': { name: 'linear-probs', dataSize: 6, latentSize: 2, encoder: 'gaussian', likelihood: 'bernoulli-probs' },
  'mock/linear-logits': { name: 'linear-logits', dataSize: 6, latentSize: 2, encoder: 'gaussian', likelihood: 'bernoulli-logits' },
  'mock/deterministic-probs': { name: 'deterministic-probs', dataSize: 6, latentSize: 2, encoder: 'deterministic', likelihood: 'bernoulli-probs' },
  'mock/none': { name: 'none', dataSize: 6, latentSize: 2, encoder: 'gaussian', likelihood: 'none' },
  'mock/linear-laplace': { name: 'linear-laplace', dataSize: 5, latentSize: 2, encoder: 'gaussian', likelihood: 'laplace' },
} as const satisfies Record<string, LinearVaeSpec>);
/** One of {@link MOCK_MODELS}. */
export type MockModelName = keyof typeof MOCK_MODELS;

/** The mock models in the contract suite's roles (for `describeVaeContract({ models })`). */
export const MOCK_CONTRACT_MODELS = Object.freeze({
  gaussian: Object.freeze(['mock/linear-gaussian', 'mock/linear-moments', 'mock/linear-probs', 'mock/linear-logits', 'mock/linear-laplace']),
  deterministic: 'mock/deterministic-probs',
  none: 'mock/none',
  api: 'mock/linear-probs',
  latentScaling: null,
});

const LOG_2PI = Math.log(2 * Math.PI);

/** A linear VAE's parameters and its float64 reference maths. */
export class LinearVae {
  readonly spec: Required<LinearVaeSpec>;
  /** Decoder weights, D x L row-major; column j is non-zero on rows i with i % L === j (orthogonal columns). */
  readonly weights: Float64Array;
  /** Decoder bias, D. */
  readonly bias: Float64Array;
  /** Encoder weights, L x D row-major. */
  readonly encoderWeights: Float64Array;
  /** Encoder bias, L. */
  readonly encoderBias: Float64Array;
  /** The encoder's log-variance, the same for every item, L. */
  readonly posteriorLogvar: Float64Array;
  /** Per-element std of the Gaussian likelihood, D. */
  readonly scales: Float64Array;

  constructor(spec: LinearVaeSpec) {
    this.spec = { scale: 0.5, ...spec };
    const { dataSize: d, latentSize: l, scale } = this.spec;
    this.weights = new Float64Array(d * l);
    this.bias = Float64Array.from({ length: d }, (_, i) => 0.1 * (i - d / 2));
    this.scales = Float64Array.from({ length: d }, (_, i) => (this.spec.likelihood === 'learned-scale' ? scale * Math.exp(0.1 * (i - d / 2)) : scale));
    for (let i = 0; i < d; i++) this.weights[i * l + (i % l)] = 0.8 + 0.3 * (i % l) + 0.05 * i;
    // Exact posterior of z ~ N(0, I), x | z ~ N(W z + b, diag(s^2)): precision I + W^T diag(s^-2) W, diagonal here.
    const precision = new Float64Array(l).fill(1);
    for (let i = 0; i < d; i++) precision[i % l]! += this.weights[i * l + (i % l)]! ** 2 / this.scales[i]! ** 2;
    this.posteriorLogvar = Float64Array.from(precision, (p) => -Math.log(p));
    this.encoderWeights = new Float64Array(l * d);
    this.encoderBias = new Float64Array(l);
    for (let i = 0; i < d; i++) {
      const j = i % l;
      const a = this.weights[i * l + j]! / this.scales[i]! ** 2 / precision[j]!;
      this.encoderWeights[j * d + i] = a;
      this.encoderBias[j]! -= a * this.bias[i]!;
    }
  }

  /** The manifest of this model (flat data in [0, 1] for Bernoulli models, [-3, 3] otherwise). */
  manifest(): Manifest {
    const { name, dataSize, latentSize, encoder, likelihood } = this.spec;
    const output =
      encoder === 'gaussian' ? { kind: 'gaussian', mean: 'mean', logvar: 'logvar' } : { kind: encoder, name: encoder === 'moments' ? 'moments' : 'latent' };
    const bernoulli = likelihood === 'bernoulli-probs' || likelihood === 'bernoulli-logits';
    const sections: Record<MockLikelihood, Record<string, unknown>> = {
      gaussian: { kind: 'gaussian', scale: this.spec.scale },
      'learned-scale': { kind: 'gaussian', logScaleOutput: 'log_scale' },
      laplace: { kind: 'laplace', scale: this.spec.scale },
      'bernoulli-probs': { kind: 'bernoulli', parameterization: 'probs' },
      'bernoulli-logits': { kind: 'bernoulli', parameterization: 'logits' },
      none: { kind: 'none' },
    };
    return parseManifest({
      format: 'onnx-vae',
      version: 1,
      name,
      encoder: { file: 'encoder.onnx', input: 'x', output },
      decoder: { file: 'decoder.onnx', input: 'z', output: bernoulli && likelihood === 'bernoulli-logits' ? 'logits' : 'x_hat' },
      data: { shape: [dataSize], layout: 'flat', range: bernoulli ? [0, 1] : [-3, 3] },
      latent: { shape: [latentSize] },
      likelihood: sections[likelihood],
    });
  }

  /** Posterior mean and logvar of one item (float64). */
  encodeItem(x: ArrayLike<number>, offset = 0): { mean: Float64Array; logvar: Float64Array } {
    const { dataSize: d, latentSize: l } = this.spec;
    const mean = new Float64Array(l);
    for (let j = 0; j < l; j++) {
      let sum = this.encoderBias[j]!;
      for (let i = 0; i < d; i++) sum += this.encoderWeights[j * d + i]! * x[offset + i]!;
      mean[j] = sum;
    }
    return { mean, logvar: Float64Array.from(this.posteriorLogvar) };
  }

  /** The decoder's raw output for one latent (float64): `W z + b`, through a sigmoid for Bernoulli-probs. */
  decodeItem(z: ArrayLike<number>, offset = 0): Float64Array {
    const { dataSize: d, latentSize: l, likelihood } = this.spec;
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let sum = this.bias[i]!;
      for (let j = 0; j < l; j++) sum += this.weights[i * l + j]! * z[offset + j]!;
      out[i] = likelihood === 'bernoulli-probs' ? 1 / (1 + Math.exp(-sum)) : sum;
    }
    return out;
  }

  /** The decoder output in the data space (probabilities for Bernoulli-logits). */
  dataSpaceItem(z: ArrayLike<number>, offset = 0): Float64Array {
    const raw = this.decodeItem(z, offset);
    return this.spec.likelihood === 'bernoulli-logits' ? raw.map((v) => 1 / (1 + Math.exp(-v))) : raw;
  }

  /** log p(x | z) of one item, float64, or `null` without a likelihood. */
  logLikelihoodItem(x: ArrayLike<number>, xOffset: number, z: ArrayLike<number>, zOffset = 0): number | null {
    const { likelihood, dataSize: d } = this.spec;
    if (likelihood === 'none') return null;
    const p = this.dataSpaceItem(z, zOffset);
    let sum = 0;
    for (let i = 0; i < d; i++) {
      const v = x[xOffset + i]!;
      if (likelihood === 'gaussian' || likelihood === 'learned-scale') {
        const s = this.scales[i]!;
        sum += -0.5 * ((v - p[i]!) / s) ** 2 - Math.log(s) - 0.5 * LOG_2PI;
      } else if (likelihood === 'laplace') {
        sum += -Math.abs(v - p[i]!) / this.scales[i]! - Math.log(2 * this.scales[i]!);
      } else {
        sum += v * Math.max(Math.log(p[i]!), -100) + (1 - v) * Math.max(Math.log(1 - p[i]!), -100);
      }
    }
    return sum;
  }

  /**
   * Closed-form log p(x) of the Gaussian model, `x ~ N(b, W W^T + diag(s^2))`, computed with a Cholesky
   * factorisation (independently of the encoder).
   */
  logMarginal(x: ArrayLike<number>, offset = 0): number {
    const { dataSize: d, latentSize: l } = this.spec;
    const cov = new Float64Array(d * d);
    for (let r = 0; r < d; r++) {
      for (let c = 0; c < d; c++) {
        let sum = r === c ? this.scales[r]! ** 2 : 0;
        for (let j = 0; j < l; j++) sum += this.weights[r * l + j]! * this.weights[c * l + j]!;
        cov[r * d + c] = sum;
      }
    }
    const chol = new Float64Array(d * d);
    for (let r = 0; r < d; r++) {
      for (let c = 0; c <= r; c++) {
        let sum = cov[r * d + c]!;
        for (let k = 0; k < c; k++) sum -= chol[r * d + k]! * chol[c * d + k]!;
        chol[r * d + c] = r === c ? Math.sqrt(sum) : sum / chol[c * d + c]!;
      }
    }
    // Solve L y = x - b; log p = -|y|^2 / 2 - sum log diag(L) - d log(2 pi) / 2.
    const y = new Float64Array(d);
    let logDet = 0;
    for (let r = 0; r < d; r++) {
      let sum = x[offset + r]! - this.bias[r]!;
      for (let k = 0; k < r; k++) sum -= chol[r * d + k]! * y[k]!;
      y[r] = sum / chol[r * d + r]!;
      logDet += Math.log(chol[r * d + r]!);
    }
    return -0.5 * y.reduce((s, v) => s + v * v, 0) - logDet - 0.5 * d * LOG_2PI;
  }
}

/** A device tensor of the mock backend: a VaeTensor held in "device memory", counted while alive. */
class MockDeviceTensor implements DeviceTensor {
  readonly location = 'mock-gpu';
  readonly dims: readonly number[];
  private value: VaeTensor | null;

  constructor(
    value: VaeTensor,
    private readonly live: Set<MockDeviceTensor>,
  ) {
    this.value = value;
    this.dims = value.dims;
    live.add(this);
  }

  /** @internal The data, for the mock sessions. */
  held(): VaeTensor {
    if (this.value === null) throw new Error('mock device tensor used after dispose');
    return this.value;
  }

  async download(): Promise<VaeTensor> {
    const value = this.held();
    return new VaeTensor(Float32Array.from(value.data), value.dims);
  }

  async sliceChannels(start: number, count: number): Promise<DeviceTensor> {
    const value = this.held();
    const [batch, channels] = value.dims as [number, number];
    const inner = value.size / (batch * channels);
    const out = new Float32Array(batch * count * inner);
    for (let b = 0; b < batch; b++) out.set(value.data.subarray((b * channels + start) * inner, (b * channels + start + count) * inner), b * count * inner);
    return new MockDeviceTensor(new VaeTensor(out, [batch, count, ...value.dims.slice(2)]), this.live);
  }

  dispose(): void {
    this.value = null;
    this.live.delete(this);
  }
}

/** Options of {@link MockBackend}. */
export interface MockBackendOptions {
  /** Give the sessions `runDevice`, keeping encoder outputs in mock device memory. Default false. */
  readonly device?: boolean;
}

/** One graph run the mock recorded. */
export interface MockRun {
  readonly graph: 'encoder' | 'decoder';
  readonly batch: number;
  readonly device: boolean;
}

/**
 * A {@link Backend} whose sessions compute a {@link LinearVae} in plain JavaScript. It ignores the model source
 * (bytes or path) and records every run, so tests can check batching.
 *
 * @example
 * const backend = new MockBackend(new LinearVae(MOCK_MODELS['mock/linear-gaussian']));
 * const vae = await createVae({ manifest: backend.model.manifest(), backend, encoder: MOCK_SOURCE, decoder: MOCK_SOURCE });
 */
export class MockBackend implements Backend {
  readonly specificationVersion = 'v1';
  readonly name: string;
  /** Graph runs so far, in order. */
  readonly runs: MockRun[] = [];
  /** Device tensors not yet disposed. */
  readonly liveDeviceTensors = new Set<MockDeviceTensor>();
  /** Sessions not yet released. */
  openSessions = 0;

  constructor(
    readonly model: LinearVae,
    private readonly options: MockBackendOptions = {},
  ) {
    this.name = `mock (plain JS${options.device ? ', device memory' : ''})`;
  }

  async createSession(_source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
    const model = this.model;
    const { dataSize: d, latentSize: l, encoder, likelihood } = model.spec;
    const manifest = model.manifest();
    const batchDim = 'N';
    const tensor = (name: string, size: number): TensorInfo => ({ name, type: 'float32', shape: [batchDim, size] });
    const inputs = role === 'encoder' ? [tensor('x', d)] : [tensor('z', l)];
    const outputs =
      role === 'encoder'
        ? encoder === 'gaussian'
          ? [tensor('mean', l), tensor('logvar', l)]
          : [tensor(encoder === 'moments' ? 'moments' : 'latent', encoder === 'moments' ? 2 * l : l)]
        : [tensor(manifest.decoder!.output, d), ...(likelihood === 'learned-scale' ? [tensor('log_scale', d)] : [])];
    const compute = (feed: VaeTensor): Record<string, VaeTensor> => (role === 'encoder' ? this.encode(feed) : this.decode(feed));
    let released = false;
    this.openSessions++;
    const session: BackendSession = {
      inputs,
      outputs,
      run: async (feeds, names) => {
        if (released) throw new Error('mock session used after release');
        const feed = feeds[inputs[0]!.name]!;
        this.runs.push({ graph: role, batch: feed.dims[0]!, device: false });
        const all = compute(feed);
        return Object.fromEntries(names.map((name) => [name, all[name]!]));
      },
      release: async () => {
        if (!released) this.openSessions--;
        released = true;
      },
    };
    if (this.options.device) {
      session.runDevice = async (feeds, names) => {
        const given = feeds[inputs[0]!.name]!;
        const feed = given instanceof MockDeviceTensor ? given.held() : (given as VaeTensor);
        this.runs.push({ graph: role, batch: feed.dims[0]!, device: true });
        const all = compute(feed);
        // As onnxruntime-web on WebGPU: the encoder's outputs stay on the device, the decoder's come back.
        return Object.fromEntries(names.map((name) => [name, role === 'encoder' ? new MockDeviceTensor(all[name]!, this.liveDeviceTensors) : all[name]!]));
      };
    }
    return session;
  }

  private encode(x: VaeTensor): Record<string, VaeTensor> {
    const { dataSize: d, latentSize: l, encoder } = this.model.spec;
    const batch = x.dims[0]!;
    const mean = new Float32Array(batch * l);
    const logvar = new Float32Array(batch * l);
    for (let n = 0; n < batch; n++) {
      const q = this.model.encodeItem(x.data, n * d);
      mean.set(q.mean, n * l);
      logvar.set(q.logvar, n * l);
    }
    if (encoder === 'deterministic') return { latent: new VaeTensor(mean, [batch, l]) };
    if (encoder === 'gaussian') return { mean: new VaeTensor(mean, [batch, l]), logvar: new VaeTensor(logvar, [batch, l]) };
    const moments = new Float32Array(batch * 2 * l);
    for (let n = 0; n < batch; n++) {
      moments.set(mean.subarray(n * l, (n + 1) * l), n * 2 * l);
      moments.set(logvar.subarray(n * l, (n + 1) * l), n * 2 * l + l);
    }
    return { moments: new VaeTensor(moments, [batch, 2 * l]) };
  }

  private decode(z: VaeTensor): Record<string, VaeTensor> {
    const { dataSize: d, latentSize: l } = this.model.spec;
    const batch = z.dims[0]!;
    const out = new Float32Array(batch * d);
    for (let n = 0; n < batch; n++) out.set(this.model.decodeItem(z.data, n * l), n * d);
    const logScale = new Float32Array(batch * d);
    for (let n = 0; n < batch; n++) for (let i = 0; i < d; i++) logScale[n * d + i] = Math.log(this.model.scales[i]!);
    const name = this.model.manifest().decoder!.output;
    return { [name]: new VaeTensor(out, [batch, d]), log_scale: new VaeTensor(logScale, [batch, d]) };
  }
}

/** The model source mock sessions take (they ignore it). */
export const MOCK_SOURCE = Object.freeze({ bytes: new Uint8Array(0) });

/**
 * A {@link Vae} on the mock backend.
 *
 * @param model - a name of {@link MOCK_MODELS} or a spec
 * @param options - `maxBatch`, `device` (mock device memory), `graphs` (default both; `['decoder']` makes a
 *   decoder-only model, its manifest without `encoder`, `['encoder']` an encoder-only one)
 * @returns the Vae and its backend (for the recorded runs)
 */
export async function createMockVae(
  model: MockModelName | LinearVaeSpec,
  options: { readonly maxBatch?: number; readonly device?: boolean; readonly graphs?: readonly ('encoder' | 'decoder')[] } = {},
): Promise<{ vae: Vae; backend: MockBackend }> {
  const spec = typeof model === 'string' ? MOCK_MODELS[model] : model;
  const backend = new MockBackend(new LinearVae(spec), { device: options.device ?? false });
  const graphs = options.graphs ?? ['encoder', 'decoder'];
  const { encoder, decoder, ...rest } = backend.model.manifest();
  const manifest = { ...rest, ...(graphs.includes('encoder') ? { encoder } : {}), ...(graphs.includes('decoder') ? { decoder } : {}) };
  const sources = { ...(graphs.includes('encoder') ? { encoder: MOCK_SOURCE } : {}), ...(graphs.includes('decoder') ? { decoder: MOCK_SOURCE } : {}) };
  const vae = await createVae({ manifest, backend, ...sources, ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }) });
  return { vae, backend };
}

/**
 * Golden data for a mock model in the fixtures' format (see `ContractModels`), from {@link LinearVae}'s float64
 * maths: log q(z|x) from the density at z (not the reparameterised noise), log p(x|z) from the model's own formulas.
 *
 * @param items - items N in `x` (default 3)
 */
export function mockGolden(model: MockModelName | LinearVaeSpec, items = 3): Golden {
  const vae = new LinearVae(typeof model === 'string' ? MOCK_MODELS[model] : model);
  const { dataSize: d, latentSize: l, likelihood, encoder } = vae.spec;
  const bernoulli = likelihood === 'bernoulli-probs' || likelihood === 'bernoulli-logits';
  const rng = new NormalV1(20240531 + d * 7 + l);
  // Data: Bernoulli models get values in [0, 1] (some exactly 0 and 1), the others normal draws around the bias.
  const x = Float32Array.from({ length: items * d }, (_, i) => {
    const v = rng.normal();
    return bernoulli ? (i % 5 === 0 ? 1 : i % 7 === 0 ? 0 : 1 / (1 + Math.exp(-v))) : vae.bias[i % d]! + v;
  });
  const k = 4;
  const eps = rng.fill(new Float32Array(k * items * l));
  const mean = new Float64Array(items * l);
  const logvar = new Float64Array(items * l);
  for (let n = 0; n < items; n++) {
    const q = vae.encodeItem(x, n * d);
    mean.set(q.mean, n * l);
    logvar.set(encoder === 'deterministic' ? new Float64Array(l).fill(-Infinity) : q.logvar.map((v) => Math.min(20, Math.max(-30, v))), n * l);
  }
  const std = logvar.map((v) => Math.exp(0.5 * v));
  const meanF = Float32Array.from(mean);
  const stdF = Float32Array.from(std);
  const z = Float32Array.from(eps, (e, i) => meanF[i % (items * l)]! + Math.fround(stdF[i % (items * l)]! * e));
  const kl = Array.from({ length: items }, (_, n) => {
    let sum = 0;
    for (let j = n * l; j < (n + 1) * l; j++) sum += mean[j]! ** 2 + Math.exp(logvar[j]!) - 1 - logvar[j]!;
    return 0.5 * sum;
  });
  const decodedMean = new Float64Array(items * d);
  for (let n = 0; n < items; n++) decodedMean.set(vae.dataSpaceItem(meanF, n * l), n * d);
  const reconstructionError = Array.from({ length: items }, (_, n) => {
    let sum = 0;
    for (let i = n * d; i < (n + 1) * d; i++) sum += (x[i]! - decodedMean[i]!) ** 2;
    return sum / d;
  });
  let activeUnits = 0;
  for (let j = 0; j < l; j++) {
    const values = Array.from({ length: items }, (_, n) => meanF[n * l + j]!);
    const average = values.reduce((s, v) => s + v, 0) / items;
    if (values.reduce((s, v) => s + (v - average) ** 2, 0) / items > 0.01) activeUnits++;
  }
  const golden: Record<string, unknown> = {
    x: { dims: [items, d], data: Array.from(x) },
    mean: { dims: [items, l], data: Array.from(mean) },
    logvarClamped: { dims: [items, l], data: Array.from(logvar) },
    std: { dims: [items, l], data: Array.from(std) },
    klClosedForm: { dims: [items], data: kl },
    eps: { dims: [k, items, l], data: Array.from(eps) },
    z: { dims: [k, items, l], data: Array.from(z) },
    decodedMean: { dims: [items, d], data: Array.from(decodedMean) },
    reconstructionError: { dims: [items], data: reconstructionError },
    activeUnits: items < 2 ? null : activeUnits,
  };
  if (encoder === 'deterministic') {
    golden.logPxGivenZAtMean = { dims: [items], data: Array.from({ length: items }, (_, n) => vae.logLikelihoodItem(x, n * d, meanF, n * l)) };
    return golden;
  }
  if (likelihood === 'none') return golden;
  for (const samples of [1, 4]) {
    const elbo: number[] = [];
    const iwae: number[] = [];
    const reconstruction: number[] = [];
    for (let n = 0; n < items; n++) {
      const logPx: number[] = [];
      const logW: number[] = [];
      for (let s = 0; s < samples; s++) {
        const at = (s * items + n) * l;
        const lpx = vae.logLikelihoodItem(x, n * d, z, at)!;
        let lpz = 0;
        let lqz = 0;
        for (let j = 0; j < l; j++) {
          const v = z[at + j]!;
          lpz += -0.5 * v * v - 0.5 * LOG_2PI;
          lqz += (-0.5 * (v - mean[n * l + j]!) ** 2) / Math.exp(logvar[n * l + j]!) - 0.5 * logvar[n * l + j]! - 0.5 * LOG_2PI;
        }
        logPx.push(lpx);
        logW.push(lpx + lpz - lqz);
      }
      const max = Math.max(...logW);
      const rec = logPx.reduce((a, b) => a + b, 0) / samples;
      reconstruction.push(rec);
      elbo.push(rec - kl[n]!);
      iwae.push(max + Math.log(logW.reduce((a, w) => a + Math.exp(w - max), 0)) - Math.log(samples));
    }
    golden[`elbo_k${samples}`] = { dims: [items], data: elbo };
    golden[`iwae_k${samples}`] = { dims: [items], data: iwae };
    golden[`reconstruction_k${samples}`] = { dims: [items], data: reconstruction };
    golden[`bitsPerDim_k${samples}`] = { dims: [items], data: iwae.map((v) => -v / (d * Math.LN2)) };
  }
  return golden;
}
