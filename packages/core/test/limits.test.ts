import {
  DEFAULT_LIMITS,
  LIMITS,
  LimitExceededError,
  VaeError,
  checkJsonDepth,
  checkLimit,
  jsonDepth,
  parseManifest,
  resolveLimits,
  tiledEncode,
  VaeTensor,
} from '../src/index';
import type { TileRect, TileSource } from '../src/index';
import { checkDecodeOutput, checkDraws, checkScoreWork, checkSizeOption, checkTilingOption, checkUntiledInput } from '../src/model/limit-checks';
import { errorOf } from '@onnx-vae/core/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const KL_F8 = parseManifest(readFileSync(join(__dirname, '..', '..', '..', 'models', 'kl-f8', 'vae.json'), 'utf8'));
const MNIST = parseManifest(readFileSync(join(__dirname, '..', '..', '..', 'models', 'mnist-vae', 'vae.json'), 'utf8'));

describe('LIMITS', () => {
  it('is one frozen table whose defaults are positive integers, each with a unit and what it bounds', () => {
    expect(Object.isFrozen(LIMITS)).toBe(true);
    for (const [name, spec] of Object.entries(LIMITS)) {
      expect(Object.isFrozen(spec)).toBe(true);
      expect(Number.isSafeInteger(spec.default) && spec.default >= 1).toBe(true);
      expect(spec.unit.length).toBeGreaterThan(0);
      expect(spec.bounds.length).toBeGreaterThan(20);
      expect(DEFAULT_LIMITS[name as keyof typeof LIMITS]).toBe(spec.default);
    }
  });

  it('keeps the untiled and output defaults under 2 GB of float32 RGB data (12 bytes a pixel)', () => {
    expect(DEFAULT_LIMITS.maxUntiledPixels * 12).toBeLessThan(2 ** 31);
    expect(DEFAULT_LIMITS.maxOutputPixels * 16).toBeLessThan(2 ** 31);
  });
});

describe('resolveLimits', () => {
  it.each([
    ['a number', 5, 'Expected "limits" to be an object of limits'],
    ['null', null, 'Expected "limits" to be an object of limits'],
    ['an array', [1], 'Expected "limits" to be an object of limits'],
    ['an unknown name', { maxPixels: 5 }, 'Unknown limit "maxPixels" in "limits"; the limits are maxInputPixels'],
    ['zero', { maxDraws: 0 }, 'Expected "limits.maxDraws" to be a positive integer or Infinity but received 0.'],
    ['a fraction', { maxDraws: 1.5 }, 'Expected "limits.maxDraws" to be a positive integer or Infinity but received 1.5.'],
    ['a string', { maxDraws: '5' }, 'Expected "limits.maxDraws" to be a positive integer or Infinity but received "5".'],
    ['NaN', { maxDraws: NaN }, 'received NaN'],
  ])('refuses %s with INVALID_OPTION', (_, value, message) => {
    const error = errorOf(() => resolveLimits(value));
    expect(error?.code).toBe('INVALID_OPTION');
    expect(error?.message).toContain(message);
  });

  it('overrides the base it is given, and takes Infinity for no limit', () => {
    const base = resolveLimits({ maxDraws: 10 });
    const call = resolveLimits({ maxSamples: Infinity }, base);
    expect(call.maxDraws).toBe(10);
    expect(call.maxSamples).toBe(Infinity);
    expect(call.maxInputPixels).toBe(DEFAULT_LIMITS.maxInputPixels);
    expect(resolveLimits(undefined, base)).toBe(base);
  });
});

describe('checkLimit', () => {
  it('throws a LimitExceededError naming the limit, the value, the maximum and the option', () => {
    let caught: unknown;
    try {
      checkLimit(DEFAULT_LIMITS, 'maxUntiledPixels', 16383 * 16383, 'The image x.png (16383x16383)');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LimitExceededError);
    const error = caught as LimitExceededError;
    expect(VaeError.isInstance(error)).toBe(true);
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.limit).toBe('maxUntiledPixels');
    expect(error.value).toBe(268402689);
    expect(error.maximum).toBe(4194304);
    expect(error.option).toBe('limits.maxUntiledPixels');
    expect(error.message).toBe(
      'The image x.png (16383x16383) is 268,402,689 pixels, over the limit maxUntiledPixels of 4,194,304; tile it (`tiling: true`, CLI `--tile`), or raise it with the "limits.maxUntiledPixels" option (CLI --max-untiled-pixels).',
    );
  });

  it('passes at the limit, and refuses NaN and values past 2^53', () => {
    expect(() => checkLimit(DEFAULT_LIMITS, 'maxDraws', 65536, 'n')).not.toThrow();
    expect(errorOf(() => checkLimit(DEFAULT_LIMITS, 'maxDraws', NaN, 'n'))?.code).toBe('LIMIT_EXCEEDED');
    expect(errorOf(() => checkLimit(DEFAULT_LIMITS, 'maxDraws', 2 ** 60, 'n'))?.code).toBe('LIMIT_EXCEEDED');
  });
});

describe('jsonDepth', () => {
  it.each([
    ['{}', 1],
    ['[[1, [2]], {"a": {"b": []}}]', 4],
    ['"[[[["', 0],
    ['{"a": "\\"[[["}', 1],
  ])('counts the nesting of %s as %i, ignoring brackets in strings', (text, depth) => {
    expect(jsonDepth(text, 64)).toBe(depth);
  });

  it('stops at the first level past the maximum, so a 200,000-level manifest costs nothing to refuse', () => {
    const deep = `{"name": ${'['.repeat(200000)}${']'.repeat(200000)}}`;
    expect(jsonDepth(deep, 64)).toBe(65);
    const error = errorOf(() => parseManifest(deep));
    expect(error?.code).toBe('LIMIT_EXCEEDED');
    expect(error?.message).toContain('The nesting depth of the manifest (counted up to the limit) is 65 levels, over the limit maxJsonDepth of 64');
    expect(errorOf(() => checkJsonDepth(DEFAULT_LIMITS, '[]', 'x'))).toBeUndefined();
  });

  it('refuses a manifest text over maxManifestBytes before parsing it', () => {
    const error = errorOf(() => parseManifest(' '.repeat(2 * 1024 * 1024)));
    expect(error?.code).toBe('LIMIT_EXCEEDED');
    expect(error?.message).toContain('maxManifestBytes');
  });

  it('gives a typed error, not a RangeError, for a deeply nested manifest object (the messages are bounded)', () => {
    let deep: unknown = [];
    for (let i = 0; i < 200000; i++) deep = [deep];
    const error = errorOf(() => parseManifest({ format: 'onnx-vae', version: 1, name: deep }));
    expect(error?.code).toBe('MANIFEST_INVALID');
    expect(error?.message.length).toBeLessThan(500);
  });
});

describe('the Vae checks of the limits', () => {
  it.each([
    [
      'an untiled decode of a [1, 4, 512, 512] latent (the .vlat bomb)',
      () => checkDecodeOutput(DEFAULT_LIMITS, KL_F8, [1, 4, 512, 512], false),
      'maxUntiledPixels',
      'tile it (`tiling: true`, CLI `--tile`)',
    ],
    [
      'a tiled decode past maxOutputPixels',
      () => checkDecodeOutput(DEFAULT_LIMITS, KL_F8, [1, 4, 2048, 2048], true),
      'maxOutputPixels',
      'The decoded output of latents [1, 4, 2048, 2048] is 268,435,456 pixels',
    ],
    [
      'an untiled encode of 4096x4096',
      () => checkUntiledInput(DEFAULT_LIMITS, KL_F8, [1, 3, 4096, 4096]),
      'maxUntiledPixels',
      'The input of dims [1, 3, 4096, 4096] for an encode without tiling',
    ],
    ['n = 1e9 prior draws', () => checkDraws(DEFAULT_LIMITS, MNIST, 1e9, [50]), 'maxDraws', '"n" is 1,000,000,000 draws'],
    [
      'prior draws whose decoded size is too large',
      () => checkDraws(DEFAULT_LIMITS, KL_F8, 1, [4, 4096, 4096]),
      'maxOutputPixels',
      'The decoded size of 1 draws of latent shape [4, 4096, 4096]',
    ],
    ['samples = 1e9', () => checkScoreWork(DEFAULT_LIMITS, 1e9, 1), 'maxSamples', '"samples" is 1,000,000,000 samples'],
    ['samples = 2^31', () => checkScoreWork(DEFAULT_LIMITS, 2 ** 31, 1), 'maxSamples', '2,147,483,648'],
    ['k x N past maxScoreRows', () => checkScoreWork(DEFAULT_LIMITS, 100000, 1000), 'maxScoreRows', '"samples" x items (100000 x 1000)'],
  ])('refuse %s', (_, check, limit, message) => {
    let caught: unknown;
    try {
      check();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LimitExceededError);
    expect((caught as LimitExceededError).limit).toBe(limit);
    expect((caught as LimitExceededError).message).toContain(message);
  });

  it('let through what fits, and flat models have no pixel limits', () => {
    expect(() => checkDecodeOutput(DEFAULT_LIMITS, KL_F8, [1, 4, 256, 256], false)).not.toThrow();
    expect(() => checkDecodeOutput(DEFAULT_LIMITS, KL_F8, [1, 4, 1024, 1024], true)).not.toThrow();
    expect(() => checkDecodeOutput(DEFAULT_LIMITS, MNIST, [60000, 50], false)).not.toThrow();
    expect(() => checkUntiledInput(DEFAULT_LIMITS, MNIST, [60000, 784])).not.toThrow();
  });

  it.each([
    ['"yes"', 'yes'],
    ['1', 1],
    ['null', null],
    ['an array', [512]],
  ])('refuse tiling: %s', (_, value) => {
    const error = errorOf(() => checkTilingOption(value));
    expect(error?.code).toBe('INVALID_OPTION');
    expect(error?.message).toContain('Expected "tiling" to be true, false or an object of tile settings');
  });

  it.each([
    ['{ height: -1, width: -1 }', { height: -1, width: -1 }, '{ height: -1, width: -1 }'],
    ['{ height: 1.5, width: 2 }', { height: 1.5, width: 2 }, '{ height: 1.5, width: 2 }'],
    ['"big"', 'big', '"big"'],
    ['null', null, 'null'],
    ['{ height: 4 }', { height: 4 }, '{ height: 4, width: undefined }'],
  ])('refuse size: %s', (_, value, shown) => {
    const error = errorOf(() => checkSizeOption(value));
    expect(error?.code).toBe('INVALID_OPTION');
    expect(error?.message).toBe(`Expected "size" to be { height, width } with positive integers (the crop of the decoded images) but received ${shown}.`);
  });
});

describe('tiledEncode from a TileSource', () => {
  it('asks for regions item by item in row-major order and gives what the whole tensor gives', async () => {
    const dims = [2, 3, 48, 40];
    const data = Float32Array.from({ length: 2 * 3 * 48 * 40 }, (_, i) => Math.sin(i * 0.37));
    const whole = new VaeTensor(data, dims);
    const asked: [number, TileRect][] = [];
    const source: TileSource = {
      dims,
      async region(item, rect) {
        asked.push([item, rect]);
        const out = new Float32Array(3 * rect.height * rect.width);
        for (let c = 0; c < 3; c++) {
          for (let i = 0; i < rect.height; i++) {
            for (let j = 0; j < rect.width; j++) out[(c * rect.height + i) * rect.width + j] = data[((item * 3 + c) * 48 + rect.top + i) * 40 + rect.left + j]!;
          }
        }
        return new VaeTensor(out, [1, 3, rect.height, rect.width]);
      },
    };
    // A stand-in encoder: 8x8 average pooling to 2 channels (mean, logvar).
    const encodeTile = async (tile: VaeTensor) => {
      const [, , h, w] = tile.dims as number[];
      const out = new Float32Array(2 * (h! / 8) * (w! / 8));
      for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) out[Math.floor(y / 8) * (w! / 8) + Math.floor(x / 8)]! += tile.data[y * w! + x]! / 64;
      const half = (h! / 8) * (w! / 8);
      return {
        mean: new VaeTensor(out.slice(0, half), [1, 1, h! / 8, w! / 8]),
        logvar: new VaeTensor(
          out.slice(0, half).map((v) => -v),
          [1, 1, h! / 8, w! / 8],
        ),
      };
    };
    const options = { tileSize: 16, overlap: 8, factor: 8 };
    const streamed = await tiledEncode(encodeTile, source, options);
    const reference = await tiledEncode(encodeTile, whole, options);
    expect(Array.from(streamed.mean.data)).toEqual(Array.from(reference.mean.data));
    expect(Array.from(streamed.logvar!.data)).toEqual(Array.from(reference.logvar!.data));
    const order = asked.map(([item, rect]) => [item, rect.top, rect.left]);
    const sorted = [...order].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!);
    expect(order).toEqual(sorted);
  });

  it('refuses a region of the wrong dims with SHAPE_MISMATCH', async () => {
    const source: TileSource = { dims: [1, 3, 16, 16], region: async () => new VaeTensor(new Float32Array(3), [1, 3, 1, 1]) };
    await expect(
      tiledEncode(async () => ({ mean: new VaeTensor(new Float32Array(4), [1, 1, 2, 2]), logvar: null }), source, { factor: 8, tileSize: 16, overlap: 0 }),
    ).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });
});

describe('docs/limits.md', () => {
  it('has one table row per limit, with its default and flag (rewrite it with node scripts/limits-table.mjs)', () => {
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'limits.md'), 'utf8');
    for (const [name, spec] of Object.entries(LIMITS)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row).toContain(spec.default.toLocaleString('en-US'));
      if (spec.flag !== null) expect(row).toContain(spec.flag);
    }
  });
});
