import { InvalidInputError, describe } from '../errors.js';
import { NormalV1, assertSeed, randomSeed } from '../rng.js';
import { VaeTensor, assertFinite, sizeOf, toTensor } from '../tensor/tensor.js';
import type { TensorInput } from '../tensor/tensor.js';
import { invalidOption } from '../validate.js';

/**
 * One seeded stream of standard normal noise (`normal-v1`) shared by several calls: each call takes the next draws,
 * so sampling a batch in parts gives the same numbers as one call over the whole batch with the same seed (e.g. a CLI
 * that encodes and samples its inputs batch by batch).
 *
 * @example
 * const noise = createNoise(7);
 * const a = vae.sample(await vae.encode(x.slice(0, 2)), { noise });
 * const b = vae.sample(await vae.encode(x.slice(2, 5)), { noise });
 * // a then b == vae.sample(await vae.encode(x), { seed: 7 })
 */
export class NoiseStream {
  /** The seed the stream started from. */
  readonly seed: number;
  private readonly rng: NormalV1;
  private count = 0;

  /**
   * @param seed - integer in [0, 2^53); default a fresh random seed (read it back from {@link NoiseStream.seed})
   * @throws {@link InvalidOptionError} for another seed
   */
  constructor(seed: number = randomSeed()) {
    assertSeed(seed);
    this.seed = seed;
    this.rng = new NormalV1(seed);
  }

  /** Draws taken so far. */
  get drawn(): number {
    return this.count;
  }

  /** The next `sizeOf(dims)` draws, as a float32 tensor of `dims`. */
  next(dims: readonly number[]): VaeTensor {
    const data = this.rng.fill(new Float32Array(sizeOf(dims)));
    this.count += data.length;
    return new VaeTensor(data, dims);
  }
}

/**
 * A {@link NoiseStream} for `noise` options: one seeded stream across several calls.
 *
 * @param seed - default a fresh random seed
 */
export function createNoise(seed?: number): NoiseStream {
  return new NoiseStream(seed);
}

/** Where sampling calls take their noise from: `eps` (caller noise) over `noise` (a shared stream) over `seed`. */
export interface NoiseOptions {
  /** Seed of the `normal-v1` generator; default: a fresh random seed. */
  readonly seed?: number;
  /** Caller-supplied standard normal noise of the result's dims; overrides `noise` and `seed`. */
  readonly eps?: TensorInput;
  /** A shared stream ({@link createNoise}) to take the next draws from; overrides `seed`. */
  readonly noise?: NoiseStream;
}

/**
 * Standard normal noise of the given dims: the caller's `eps` (checked), the next draws of `noise`, or draws from
 * `normal-v1` with `seed`.
 *
 * @internal
 */
export function noise(dims: readonly number[], options: NoiseOptions): VaeTensor {
  if (options.eps !== undefined) {
    const eps = toTensor(options.eps, 'eps');
    if (eps.dims.length !== dims.length || eps.dims.some((d, i) => d !== dims[i])) {
      throw new InvalidInputError('SHAPE_MISMATCH', 'eps', `Expected "eps" of dims ${describe([...dims])} but received ${describe([...eps.dims])}.`);
    }
    assertFinite(eps, 'eps');
    return eps;
  }
  if (options.noise !== undefined) {
    if (!(options.noise instanceof NoiseStream)) throw invalidOption('noise', 'a NoiseStream (from createNoise(seed))', options.noise);
    return options.noise.next(dims);
  }
  const seed = options.seed ?? randomSeed();
  assertSeed(seed);
  return new VaeTensor(new NormalV1(seed).fill(new Float32Array(sizeOf(dims))), dims);
}
