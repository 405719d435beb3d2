import { invalidOption } from './validate.js';

const MASK64 = (1n << 64n) - 1n;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/**
 * The documented seeded standard-normal generator `normal-v1` (docs/rng.md): SplitMix64 seeding, xoshiro128**,
 * 53-bit uniforms and Box-Muller pairs. The same seed gives the same numbers in Node, in browsers and in the Python
 * reference `training/onnx_vae_training/rng.py`.
 *
 * @example
 * const rng = new NormalV1(42);
 * const eps = rng.fill(new Float32Array(50));
 */
export class NormalV1 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  /**
   * @param seed - integer in [0, 2^53)
   * @throws {@link InvalidOptionError} for any other seed
   */
  constructor(seed: number) {
    assertSeed(seed);
    let sm = BigInt(seed);
    const next64 = (): bigint => {
      sm = (sm + 0x9e3779b97f4a7c15n) & MASK64;
      let z = sm;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
      return z ^ (z >> 31n);
    };
    const a = next64();
    const b = next64();
    this.s0 = Number(a & 0xffffffffn);
    this.s1 = Number(a >> 32n);
    this.s2 = Number(b & 0xffffffffn);
    this.s3 = Number(b >> 32n);
  }

  /** Next 32-bit output of xoshiro128**, as an unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /** Next standard normal draw (float64). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /** Fills `out` with the next `out.length` draws, in order, and returns it. */
  fill<T extends Float32Array | Float64Array>(out: T): T {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }
}

/** @throws {@link InvalidOptionError} unless `seed` is an integer in [0, 2^53). */
export function assertSeed(seed: unknown, option = 'seed'): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw invalidOption(option, 'an integer in [0, 2^53)', seed);
  }
}

/** A fresh random seed (from `crypto.getRandomValues`), for calls that were given none. */
export function randomSeed(): number {
  const words = new Uint32Array(2);
  (globalThis as unknown as { crypto: { getRandomValues(array: Uint32Array): Uint32Array } }).crypto.getRandomValues(words);
  return (words[0]! & 0x1fffff) * 4294967296 + words[1]!;
}
