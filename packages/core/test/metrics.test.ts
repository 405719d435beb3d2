import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { SSIM_CONSTANTS, mse, psnr, ssim } from '../src/index';
import { REC601_LUMA } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';

/** Deterministic uint32 stream (mulberry32), so the images are the same on every run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A random 8-bit image and a noisy, blurred-ish copy of it, so that SSIM is neither ~0 nor ~1. */
function imagePair(width: number, height: number, channels: number, seed: number): [Uint8Array, Uint8Array] {
  const next = generator(seed);
  const a = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        // Smooth structure plus texture.
        const smooth = 128 + 80 * Math.sin(x / 5 + c) * Math.cos(y / 7 - c);
        a[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round(smooth + ((next() % 61) - 30))));
      }
    }
  }
  const b = a.map((v) => Math.max(0, Math.min(255, v + ((next() % 41) - 20))));
  return [a, b];
}

function lumaOf(pixels: Uint8Array, channels: number): Float64Array {
  const out = new Float64Array(pixels.length / channels);
  for (let i = 0; i < out.length; i++) {
    const p = i * channels;
    out[i] = REC601_LUMA[0] * pixels[p]! + REC601_LUMA[1] * pixels[p + 1]! + REC601_LUMA[2] * pixels[p + 2]!;
  }
  return out;
}

describe('psnr and mse', () => {
  it('is Infinity for identical images', () => {
    const [a] = imagePair(16, 12, 3, 1);
    expect(psnr(a, a.slice())).toBe(Infinity);
    expect(mse(a, a.slice())).toBe(0);
  });

  it('gives 10 log10(255^2 / d^2) for a constant offset d', () => {
    const a = new Uint8Array(300).map((_, i) => i % 200);
    for (const d of [1, 3, 10, 55]) {
      const b = a.map((v) => v + d);
      expect(mse(a, b)).toBe(d * d);
      expect(psnr(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / (d * d)), 12);
    }
    expect(
      psnr(
        a,
        a.map((v) => v + 1),
      ),
    ).toBeCloseTo(48.130803608679, 10);
  });

  it('takes floats with another peak', () => {
    const a = Float32Array.of(-1, 0, 0.5, 1);
    const b = Float32Array.of(-0.9, 0.1, 0.4, 0.9); // every error 0.1 in float32
    const expected = 10 * Math.log10(4 / mse(a, b));
    expect(psnr(a, b, 2)).toBeCloseTo(expected, 12);
    expect(psnr(a, b, 2)).toBeCloseTo(10 * Math.log10(4 / 0.01), 5);
  });

  it.each([
    [
      'different lengths',
      () => psnr(new Uint8Array(4), new Uint8Array(3)),
      'SHAPE_MISMATCH',
      'Expected two images of the same size but "a" has 4 values and "b" has 3',
    ],
    ['empty arrays', () => psnr(new Uint8Array(0), new Uint8Array(0)), 'INVALID_INPUT', 'Expected images with at least one value but received empty arrays.'],
    [
      'a non-array',
      () => psnr(null as never, new Uint8Array(1)),
      'INVALID_INPUT',
      'Expected "a" to be an array of pixel values (e.g. a Uint8Array) but received null.',
    ],
    ['NaN', () => psnr(Float32Array.of(0, NaN), Float32Array.of(0, 0), 1), 'NON_FINITE_INPUT', '"a" holds NaN at index 1; pixel values must be finite.'],
    [
      'a zero peak',
      () => psnr(new Uint8Array(2), new Uint8Array(2), 0),
      'INVALID_OPTION',
      'Expected "peak" to be a positive finite number (255 for 8-bit pixels, the range\'s width for floats) but received 0.',
    ],
  ])('refuses %s', (_name, fn, code, message) => {
    const error = errorOf(fn);
    expect(error?.code).toBe(code);
    expect(error?.message).toContain(message);
  });
});

describe('ssim', () => {
  it('uses the constants of Wang et al. 2004', () => {
    expect(SSIM_CONSTANTS).toEqual({ windowSize: 11, sigma: 1.5, k1: 0.01, k2: 0.03, dataRange: 255 });
  });

  it('is exactly 1 for identical images', () => {
    for (const channels of [1, 3]) {
      const [a] = imagePair(23, 17, channels, 2);
      expect(ssim(a, a.slice(), 23, 17, channels)).toBe(1);
    }
  });

  it('gives (2 c d + C1) / (c^2 + d^2 + C1) for two constant images', () => {
    const c1 = (0.01 * 255) ** 2;
    for (const [c, d] of [
      [100, 110],
      [0, 255],
      [30, 200],
    ] as const) {
      const expected = (2 * c * d + c1) / (c * c + d * d + c1);
      expect(ssim(new Uint8Array(15 * 13).fill(c), new Uint8Array(15 * 13).fill(d), 15, 13, 1)).toBeCloseTo(expected, 10);
    }
  });

  it('compares RGB images on their Rec. 601 luma and ignores alpha', () => {
    const [a, b] = imagePair(31, 29, 3, 3);
    const rgb = ssim(a, b, 31, 29, 3);
    expect(rgb).toBe(ssim(lumaOf(a, 3), lumaOf(b, 3), 31, 29, 1));
    const withAlpha = (pixels: Uint8Array, alpha: number): Uint8Array => {
      const out = new Uint8Array((pixels.length / 3) * 4);
      for (let i = 0; i < pixels.length / 3; i++) out.set([...pixels.subarray(i * 3, i * 3 + 3), alpha], i * 4);
      return out;
    };
    expect(ssim(withAlpha(a, 255), withAlpha(b, 0), 31, 29, 4)).toBe(rgb);
  });

  it('drops when noise grows', () => {
    const [a] = imagePair(40, 40, 1, 4);
    const next = generator(5);
    const noise = Array.from(a, () => (next() % 201) - 100);
    const scores = [0.1, 0.3, 1].map((scale) =>
      ssim(
        a,
        a.map((v, i) => Math.max(0, Math.min(255, v + Math.round(scale * noise[i]!)))),
        40,
        40,
        1,
      ),
    );
    expect(scores[0]).toBeGreaterThan(scores[1]!);
    expect(scores[1]).toBeGreaterThan(scores[2]!);
  });

  it('is symmetric and at most 1 (fast-check)', () => {
    const image = fc
      .record({ width: fc.integer({ min: 11, max: 19 }), height: fc.integer({ min: 11, max: 19 }), channels: fc.constantFrom(1, 3) })
      .chain(({ width, height, channels }) =>
        fc.record({
          width: fc.constant(width),
          height: fc.constant(height),
          channels: fc.constant(channels),
          a: fc.uint8Array({ minLength: width * height * channels, maxLength: width * height * channels }),
          b: fc.uint8Array({ minLength: width * height * channels, maxLength: width * height * channels }),
        }),
      );
    fc.assert(
      fc.property(image, ({ width, height, channels, a, b }) => {
        const ab = ssim(a, b, width, height, channels);
        expect(ssim(b, a, width, height, channels)).toBe(ab);
        // Mathematically <= 1 (AM-GM on each factor); allow float64 rounding of the per-window ratio.
        expect(ab).toBeLessThanOrEqual(1 + 1e-12);
        expect(ab).toBeGreaterThanOrEqual(-1 - 1e-12);
        expect(ssim(a, a, width, height, channels)).toBe(1);
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    [
      'a width below the window',
      () => ssim(new Uint8Array(100), new Uint8Array(100), 10, 10, 1),
      'INVALID_OPTION',
      'Expected "width" to be an integer of at least 11 (the SSIM window) but received 10.',
    ],
    [
      'a fractional height',
      () => ssim(new Uint8Array(0), new Uint8Array(0), 12, 11.5, 1),
      'INVALID_OPTION',
      'Expected "height" to be an integer of at least 11 (the SSIM window) but received 11.5.',
    ],
    [
      '5 channels',
      () => ssim(new Uint8Array(5 * 144), new Uint8Array(5 * 144), 12, 12, 5),
      'INVALID_OPTION',
      'Expected "channels" to be one of 1, 2, 3, 4 (grey, grey + alpha, RGB, RGBA) but received 5.',
    ],
    [
      'arrays of the wrong size',
      () => ssim(new Uint8Array(144), new Uint8Array(144), 12, 12, 3),
      'SHAPE_MISMATCH',
      'Expected 432 values for a 12x12 image of 3 channel(s) but received 144.',
    ],
    [
      'different lengths',
      () => ssim(new Uint8Array(432), new Uint8Array(144), 12, 12, 3),
      'SHAPE_MISMATCH',
      'Expected two images of the same size but "a" has 432 values and "b" has 144',
    ],
  ])('refuses %s', (_name, fn, code, message) => {
    const error = errorOf(fn);
    expect(error?.code).toBe(code);
    expect(error?.message).toContain(message);
  });
});

describe('cross-check with scikit-image (/usr/bin/python3)', () => {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import numpy, skimage.metrics'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log(
      `Skipping the scikit-image cross-check of psnr/ssim: "${python} -c 'import skimage.metrics'" failed (${(probe.error?.message ?? probe.stderr).trim()}). Install python3-skimage (Debian) to run it.`,
    );
  }
  const maybe = probe.status === 0 ? it : it.skip;

  // Reads: width height channels, then the two images' bytes as hex; prints PSNR and SSIM on Rec. 601 luma.
  const script = `
import sys, numpy as np
from skimage.metrics import structural_similarity, peak_signal_noise_ratio
w, h, c, ha, hb = sys.stdin.read().split()
w, h, c = int(w), int(h), int(c)
a = np.frombuffer(bytes.fromhex(ha), np.uint8).reshape(h, w, c)
b = np.frombuffer(bytes.fromhex(hb), np.uint8).reshape(h, w, c)
def luma(x):
    x = x.astype(np.float64)
    return x[..., 0] if c == 1 else 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
p = peak_signal_noise_ratio(a, b, data_range=255)
s = structural_similarity(luma(a), luma(b), gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
print(repr(float(p)), repr(float(s)))
`;

  maybe.each([
    [37, 29, 3, 11],
    [24, 40, 1, 12],
    [11, 11, 3, 13],
  ])('matches skimage on a %ix%i image of %i channel(s) (seed %i) within 1e-6', (width, height, channels, seed) => {
    const [a, b] = imagePair(width, height, channels, seed);
    const input = `${width} ${height} ${channels} ${Buffer.from(a).toString('hex')} ${Buffer.from(b).toString('hex')}`;
    const result = spawnSync(python, ['-c', script], { input, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const [referencePsnr, referenceSsim] = result.stdout.trim().split(' ').map(Number);
    expect(Math.abs(psnr(a, b) - referencePsnr!)).toBeLessThan(1e-6);
    const ours = ssim(a, b, width, height, channels);
    expect(Math.abs(ours - referenceSsim!)).toBeLessThan(1e-6);
    expect(ours).toBeGreaterThan(0.2); // a pair with structure in common, not a degenerate case
    expect(ours).toBeLessThan(0.95);
  });
});
