import { ModelMismatchError, describe } from '../errors.js';
import { klStandardNormal } from '../math.js';
import { VaeTensor, sizeOf } from '../tensor/tensor.js';
import { checkLimit, resolveLimits } from '../limits.js';
import type { ResourceLimits } from '../limits.js';
import { optionsObject, positiveIntegerOption } from '../validate.js';
import { noise } from './noise.js';
import type { NoiseOptions } from './noise.js';

/** Bounds of the log-variance, as in diffusers' `DiagonalGaussianDistribution`. */
export const LOGVAR_RANGE = Object.freeze([-30, 20] as const);

/** Options of {@link Posterior.sample}. */
export interface PosteriorSampleOptions extends NoiseOptions {
  /** Number of draws per item; when given, the result has dims `[n, N, ...latent]`, else `[N, ...latent]`. */
  readonly n?: number;
  /** `maxDraws` bounds `n` x items (default: the default of `LIMITS`). */
  readonly limits?: ResourceLimits;
}

/**
 * The approximate posterior q(z|x) = N(mean, diag(exp(logvar))) of a batch, as returned by `vae.encode()`.
 * A deterministic encoder gives std 0 (logvar -Infinity).
 */
export class Posterior {
  /** Posterior mean, dims `[N, ...latent]`. */
  readonly mean: VaeTensor;
  /** Log-variance clamped to {@link LOGVAR_RANGE}; `-Infinity` everywhere for a deterministic encoder. */
  readonly logvar: VaeTensor;
  /** Standard deviation `exp(logvar / 2)`, in float32. */
  readonly std: VaeTensor;
  /** True when the encoder outputs a latent, not a distribution. */
  readonly deterministic: boolean;

  /**
   * @param mean - posterior mean
   * @param logvar - raw log-variance (clamped here), or `null` for a deterministic encoder
   */
  constructor(mean: VaeTensor, logvar: VaeTensor | null) {
    this.mean = mean;
    const n = mean.size;
    const std = new Float32Array(n);
    if (logvar === null) {
      this.deterministic = true;
      this.logvar = new VaeTensor(new Float32Array(n).fill(-Infinity), mean.dims);
    } else {
      this.deterministic = false;
      const clamped = new Float32Array(n);
      const raw = logvar.data;
      for (let i = 0; i < n; i++) {
        const lv = Math.min(Math.max(raw[i]!, LOGVAR_RANGE[0]), LOGVAR_RANGE[1]);
        clamped[i] = lv;
        std[i] = Math.exp(0.5 * lv);
      }
      this.logvar = new VaeTensor(clamped, mean.dims);
    }
    this.std = new VaeTensor(std, mean.dims);
  }

  /**
   * The posterior of a moments output: 2C channels on axis 1, the mean's C then the logvar's C (optimum's
   * `latent_parameters`, diffusers' `DiagonalGaussianDistribution(parameters)`).
   *
   * @throws {@link ModelMismatchError} when axis 1 is not of even size
   */
  static fromMoments(moments: VaeTensor): Posterior {
    const dims = moments.dims;
    const half = momentsHalf(dims);
    const inner = sizeOf(dims.slice(2));
    const batch = dims[0]!;
    const block = half * inner;
    const mean = new Float32Array(batch * block);
    const logvar = new Float32Array(batch * block);
    for (let b = 0; b < batch; b++) {
      mean.set(moments.data.subarray(b * 2 * block, b * 2 * block + block), b * block);
      logvar.set(moments.data.subarray(b * 2 * block + block, (b + 1) * 2 * block), b * block);
    }
    const latentDims = [batch, half, ...dims.slice(2)];
    return new Posterior(new VaeTensor(mean, latentDims), new VaeTensor(logvar, latentDims));
  }

  /** Number of items. */
  get batch(): number {
    return this.mean.dims[0]!;
  }

  /** Elements of one latent. */
  get latentSize(): number {
    return sizeOf(this.mean.dims.slice(1));
  }

  /** The mode of the posterior: its mean. */
  mode(): VaeTensor {
    return this.mean;
  }

  /**
   * Draws z = mean + std * eps (reparameterisation), in float32.
   *
   * @param options - `seed` (default: random), `n` (default: one draw, dims `[N, ...latent]`), `eps`, or `noise`
   *   (a shared {@link NoiseStream}: draws continue across calls)
   * @throws {@link InvalidOptionError} for a bad `n` or `seed`; {@link InvalidInputError} for `eps` of wrong dims
   * @example
   * const z = vae.encode(x).then((q) => q.sample({ seed: 7 }));
   */
  sample(options: PosteriorSampleOptions = {}): VaeTensor {
    optionsObject(options, 'posterior.sample()');
    const draws = positiveIntegerOption(options.n, 'n', 1);
    if (options.n !== undefined) checkLimit(resolveLimits(options.limits), 'maxDraws', draws * this.batch, `"n" x items (${draws} x ${this.batch})`);
    const dims = options.n === undefined ? [...this.mean.dims] : [draws, ...this.mean.dims];
    const eps = noise(dims, options);
    const out = new Float32Array(eps.size);
    const mean = this.mean.data;
    const std = this.std.data;
    const n = mean.length;
    const e = eps.data;
    for (let i = 0; i < out.length; i++) {
      const j = i % n;
      out[i] = mean[j]! + Math.fround(std[j]! * e[i]!);
    }
    return new VaeTensor(out, dims);
  }

  /** KL(q(z|x) || N(0, I)) per item, in closed form (float64); `Infinity` for a deterministic encoder. */
  kl(): Float64Array {
    const batch = this.batch;
    const size = this.latentSize;
    const out = new Float64Array(batch);
    if (this.deterministic) return out.fill(Infinity);
    for (let i = 0; i < batch; i++) out[i] = klStandardNormal(this.mean.data, this.logvar.data, i * size, size);
    return out;
  }
}

/**
 * C, for a moments output of 2C channels on axis 1 (mean then logvar).
 *
 * @throws {@link ModelMismatchError} when axis 1 is missing or odd
 * @internal
 */
export function momentsHalf(dims: readonly number[]): number {
  if (dims.length < 2 || dims[1]! % 2 !== 0) {
    throw new ModelMismatchError('encoder', `The encoder's moments output has dims ${describe([...dims])}; expected 2C channels on axis 1 (mean then logvar).`);
  }
  return dims[1]! / 2;
}
