import fc from 'fast-check';
import {
  REC601_LUMA,
  dataImageShape,
  gridLayout,
  imageGrid,
  imageItemDims,
  itemImageGeometry,
  pixelValueTable,
  planImageFit,
  pixelsToTensor,
  tensorToPixels,
  tileImages,
} from '../src/index';
import type { PixelImage } from '../src/index';
import { InvalidInputError, InvalidOptionError } from '../src/index';
import type { Layout, Manifest } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';

const RANGES: readonly (readonly [number, number])[] = [
  [0, 1],
  [-1, 1],
];
const LAYOUTS: readonly Layout[] = ['flat', 'NCHW', 'NHWC'];

function thrown(fn: () => unknown): unknown {
  const caught = errorOf(fn);
  if (caught === undefined) throw new Error('expected a throw');
  return caught.error;
}

describe('pixelValueTable', () => {
  it.each(RANGES)('is exact at both ends of [%d, %d], for 8 and 16 bit', (low, high) => {
    for (const max of [255, 65535] as const) {
      const table = pixelValueTable(max, [low, high]);
      expect(table.length).toBe(max + 1);
      expect(table[0]).toBe(low);
      expect(table[max]).toBe(high);
    }
  });

  it('maps the middle linearly (float32 of low + p (high - low) / 255)', () => {
    expect(pixelValueTable(255, [0, 1])[51]).toBe(Math.fround(0.2));
    expect(pixelValueTable(255, [-1, 1])[51]).toBe(Math.fround(-1 + 102 / 255));
    expect(pixelValueTable(255, [-1, 1])[128]).toBe(Math.fround(1 / 255));
  });

  it('rejects a bad range with INVALID_OPTION', () => {
    const error = thrown(() => pixelValueTable(255, [1, 0]));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect((error as Error).message).toBe('Expected "range" to be [low, high] with finite low < high but received [1, 0].');
  });
});

describe('pixelsToTensor', () => {
  // A 2x3 (height x width) RGB image; pixel (y, x) = [r, g, b].
  const rgb = Uint8Array.from([0, 10, 20, /**/ 255, 255, 255, /**/ 30, 40, 50, 60, 60, 60, /**/ 70, 80, 90, /**/ 100, 110, 120]);
  const geometry = { width: 3, height: 2, channels: 3 };

  it('puts RGB values in NCHW, NHWC and flat (CHW) order', () => {
    const range = [0, 255] as const;
    const nchw = pixelsToTensor(rgb, geometry, { range, layout: 'NCHW', channels: 3 });
    expect(Array.from(nchw)).toEqual([0, 255, 30, 60, 70, 100, 10, 255, 40, 60, 80, 110, 20, 255, 50, 60, 90, 120]);
    expect(Array.from(pixelsToTensor(rgb, geometry, { range, layout: 'flat', channels: 3 }))).toEqual(Array.from(nchw));
    expect(Array.from(pixelsToTensor(rgb, geometry, { range, layout: 'NHWC', channels: 3 }))).toEqual(Array.from(rgb));
  });

  it('scales to [-1, 1] exactly at the ends', () => {
    const out = pixelsToTensor(Uint8Array.from([0, 255, 128]), { width: 3, height: 1, channels: 1 }, { range: [-1, 1], layout: 'flat', channels: 1 });
    expect(Array.from(out)).toEqual([-1, 1, Math.fround(-1 + 256 / 255)]);
  });

  it('converts RGB to grey with Rec. 601 luma, and R = G = B exactly to its value', () => {
    const out = pixelsToTensor(rgb, geometry, { range: [0, 255], layout: 'flat', channels: 1 });
    const luma = (r: number, g: number, b: number): number => Math.fround(REC601_LUMA[0] * r + REC601_LUMA[1] * g + REC601_LUMA[2] * b);
    expect(Array.from(out)).toEqual([luma(0, 10, 20), 255, luma(30, 40, 50), 60, luma(70, 80, 90), luma(100, 110, 120)]);
    expect(out[0]).toBe(Math.fround(0.587 * 10 + 0.114 * 20));
    // white stays exactly white in [0, 1] too
    expect(pixelsToTensor(Uint8Array.from([255, 255, 255]), { width: 1, height: 1, channels: 3 }, { range: [0, 1], layout: 'flat', channels: 1 })[0]).toBe(1);
  });

  it('converts grey to RGB by repeating the value, and drops alpha', () => {
    const greyAlpha = Uint8Array.from([0, 9, 255, 9]); // 2 pixels of grey + alpha
    const out = pixelsToTensor(greyAlpha, { width: 2, height: 1, channels: 2 }, { range: [0, 1], layout: 'NHWC', channels: 3 });
    expect(Array.from(out)).toEqual([0, 0, 0, 1, 1, 1]);
    const rgba = Uint8Array.from([255, 0, 0, 7, 0, 0, 255, 7]);
    expect(Array.from(pixelsToTensor(rgba, { width: 2, height: 1, channels: 4 }, { range: [0, 1], layout: 'NCHW', channels: 3 }))).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it('reads 16-bit pixels with 65535 as full scale', () => {
    const out = pixelsToTensor(Uint16Array.from([0, 65535, 257]), { width: 3, height: 1, channels: 1 }, { range: [0, 1], layout: 'flat', channels: 1 });
    expect(Array.from(out)).toEqual([0, 1, Math.fround(257 / 65535)]);
  });

  it('rejects a wrong pixel count with SHAPE_MISMATCH and unsupported channels with INVALID_OPTION', () => {
    const short = thrown(() => pixelsToTensor(new Uint8Array(5), geometry, { range: [0, 1], layout: 'flat', channels: 3 }));
    expect(short).toBeInstanceOf(InvalidInputError);
    expect((short as InvalidInputError).code).toBe('SHAPE_MISMATCH');
    expect((short as Error).message).toBe('Expected 18 pixel values for a 3x2 image of 3 channel(s) but received 5.');
    const channels = thrown(() => pixelsToTensor(rgb, geometry, { range: [0, 1], layout: 'flat', channels: 4 }));
    expect((channels as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect((channels as Error).message).toBe('Expected "channels" to be 1 (grey) or 3 (rgb) but received 4; images convert only to grey or RGB items.');
  });
});

describe('tensorToPixels', () => {
  const one = { width: 1, height: 1, channels: 1 };
  const level = (v: number, range: readonly [number, number]): number => tensorToPixels(Float32Array.of(v), one, range, 'flat')[0]!;

  it('maps the range ends exactly and clamps outside them', () => {
    for (const range of RANGES) {
      expect(level(range[0], range)).toBe(0);
      expect(level(range[1], range)).toBe(255);
      expect(level(range[0] - 5, range)).toBe(0);
      expect(level(range[1] + 5, range)).toBe(255);
    }
    expect(level(Number.NaN, [0, 1])).toBe(0);
    expect(level(Infinity, [0, 1])).toBe(255);
    expect(level(-Infinity, [0, 1])).toBe(0);
  });

  it('rounds halves up (Math.round), exactly', () => {
    // (v - low) * 255 / (high - low) is exactly x.5 for these values
    expect(level(2.5, [0, 255])).toBe(3);
    expect(level(3.5, [0, 255])).toBe(4);
    expect(level(254.5, [0, 255])).toBe(255);
    expect(level(-0.5, [0, 255])).toBe(0);
    expect(level(0.5, [0, 1])).toBe(128); // 127.5
    expect(level(0, [-1, 1])).toBe(128); // 127.5
    expect(level(2.4999998, [0, 255])).toBe(2);
  });

  it('reads NCHW, NHWC and flat items back to HWC pixels', () => {
    const nchw = Float32Array.from([0, 255, 30, 60, 70, 100, 10, 255, 40, 60, 80, 110, 20, 255, 50, 60, 90, 120]);
    const geometry = { width: 3, height: 2, channels: 3 };
    const hwc = [0, 10, 20, 255, 255, 255, 30, 40, 50, 60, 60, 60, 70, 80, 90, 100, 110, 120];
    expect(Array.from(tensorToPixels(nchw, geometry, [0, 255], 'NCHW'))).toEqual(hwc);
    expect(Array.from(tensorToPixels(nchw, geometry, [0, 255], 'flat'))).toEqual(hwc);
    expect(Array.from(tensorToPixels(Float32Array.from(hwc), geometry, [0, 255], 'NHWC'))).toEqual(hwc);
  });

  it.each(RANGES)('is the identity on all 256 levels after pixelsToTensor, range [%d, %d]', (low, high) => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const geometry = { width: 16, height: 16, channels: 1 };
    const item = pixelsToTensor(all, geometry, { range: [low, high], layout: 'flat', channels: 1 });
    expect(Array.from(tensorToPixels(item, geometry, [low, high], 'flat'))).toEqual(Array.from(all));
  });

  it('round-trips any 8-bit grey or RGB image in any layout and range (property)', () => {
    const image = fc.record({ width: fc.integer({ min: 1, max: 6 }), height: fc.integer({ min: 1, max: 6 }), channels: fc.constantFrom(1, 3) }).chain((g) =>
      fc.record({
        geometry: fc.constant(g),
        pixels: fc.uint8Array({ minLength: g.width * g.height * g.channels, maxLength: g.width * g.height * g.channels }),
      }),
    );
    fc.assert(
      fc.property(image, fc.constantFrom(...LAYOUTS), fc.constantFrom(...RANGES), ({ geometry, pixels }, layout, range) => {
        const item = pixelsToTensor(pixels, geometry, { range, layout, channels: geometry.channels });
        expect(Array.from(tensorToPixels(item, geometry, range, layout))).toEqual(Array.from(pixels));
      }),
    );
  });

  it('rejects a wrong value count with SHAPE_MISMATCH', () => {
    const error = thrown(() => tensorToPixels(new Float32Array(3), { width: 2, height: 2, channels: 1 }, [0, 1], 'flat'));
    expect((error as InvalidInputError).code).toBe('SHAPE_MISMATCH');
    expect((error as Error).message).toBe('Expected 4 values for a 2x2 image of 1 channel(s) but received 3.');
  });
});

describe('image geometry of manifests', () => {
  const data = (d: Partial<Manifest['data']>): Manifest['data'] => ({ shape: [784], layout: 'flat', range: [0, 1], ...d });

  it('reads data.image for flat items and data.shape for NCHW/NHWC', () => {
    expect(dataImageShape(data({ image: { channels: 1, height: 28, width: 28 } }))).toEqual({ channels: 1, height: 28, width: 28 });
    expect(dataImageShape(data({}))).toBeNull();
    expect(dataImageShape(data({ shape: [3, null, 64], layout: 'NCHW' }))).toEqual({ channels: 3, height: null, width: 64 });
    expect(dataImageShape(data({ shape: [32, 64, 3], layout: 'NHWC' }))).toEqual({ channels: 3, height: 32, width: 64 });
  });

  it('gives item dims per layout and the geometry of concrete items', () => {
    const g = { channels: 3, height: 4, width: 5 };
    expect(imageItemDims('flat', g)).toEqual([60]);
    expect(imageItemDims('NCHW', g)).toEqual([3, 4, 5]);
    expect(imageItemDims('NHWC', g)).toEqual([4, 5, 3]);
    expect(itemImageGeometry(data({ shape: [3, null, null], layout: 'NCHW' }), [3, 8, 12])).toEqual({ channels: 3, height: 8, width: 12 });
    expect(itemImageGeometry(data({ shape: [null, null, 3], layout: 'NHWC' }), [8, 12, 3])).toEqual({ channels: 3, height: 8, width: 12 });
    expect(itemImageGeometry(data({ shape: [3, null, null], layout: 'NCHW' }), [4, 8, 12])).toBeNull();
    expect(itemImageGeometry(data({ image: { channels: 1, height: 28, width: 28 } }), [784])).toEqual({ channels: 1, height: 28, width: 28 });
    expect(itemImageGeometry(data({}), [784])).toBeNull();
  });
});

describe('grids', () => {
  it('lays out ceil(sqrt(n)) columns by default, and at most n', () => {
    expect(gridLayout(1)).toEqual({ cols: 1, rows: 1 });
    expect(gridLayout(10)).toEqual({ cols: 4, rows: 3 });
    expect(gridLayout(64)).toEqual({ cols: 8, rows: 8 });
    expect(gridLayout(3, 8)).toEqual({ cols: 3, rows: 1 });
    expect(gridLayout(10, 3)).toEqual({ cols: 3, rows: 4 });
    expect((thrown(() => gridLayout(0)) as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect((thrown(() => gridLayout(4, 0)) as Error).message).toBe('Expected "cols" to be a positive integer but received 0.');
  });

  it('tiles images with padding around every tile and empty cells', () => {
    const tile = (value: number): PixelImage => ({ width: 2, height: 1, channels: 1, pixels: Uint8Array.of(value, value + 1) });
    const grid = tileImages([tile(10), tile(20), null, tile(40)], 2, 1, 9);
    expect([grid.width, grid.height, grid.channels]).toEqual([7, 5, 1]);
    // prettier-ignore
    expect(Array.from(grid.pixels)).toEqual([
      9, 9, 9, 9, 9, 9, 9,
      9, 10, 11, 9, 20, 21, 9,
      9, 9, 9, 9, 9, 9, 9,
      9, 9, 9, 9, 40, 41, 9,
      9, 9, 9, 9, 9, 9, 9,
    ]);
  });

  it('keeps RGB channels interleaved and has the size of torchvision make_grid', () => {
    const red: PixelImage = { width: 1, height: 1, channels: 3, pixels: Uint8Array.of(255, 0, 0) };
    const grid = tileImages([red, red, red], 2);
    expect([grid.width, grid.height]).toEqual([2 * 1 + 3 * 2, 2 * 1 + 3 * 2]);
    const at = (x: number, y: number): number[] => Array.from(grid.pixels.subarray((y * grid.width + x) * 3, (y * grid.width + x) * 3 + 3));
    expect(at(2, 2)).toEqual([255, 0, 0]);
    expect(at(5, 2)).toEqual([255, 0, 0]);
    expect(at(5, 5)).toEqual([0, 0, 0]);
  });

  it('rejects tiles of different sizes with SHAPE_MISMATCH and an empty list with INVALID_INPUT', () => {
    const a: PixelImage = { width: 2, height: 2, channels: 1, pixels: new Uint8Array(4) };
    const b: PixelImage = { width: 3, height: 2, channels: 1, pixels: new Uint8Array(6) };
    const mismatch = thrown(() => tileImages([a, b], 2));
    expect((mismatch as InvalidInputError).code).toBe('SHAPE_MISMATCH');
    expect((mismatch as Error).message).toBe('Expected every tile to be 2x2 with 1 channel(s), like the first, but tile 1 is 3x2 with 1 (6 values).');
    const empty = thrown(() => tileImages([null], 2));
    expect((empty as InvalidInputError).code).toBe('INVALID_INPUT');
  });
});

describe('pixelsToTensor into a caller array', () => {
  it('writes the same values into the given slot and returns it; refuses a slot of the wrong size', () => {
    const pixels = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const geometry = { width: 4, height: 3, channels: 3 };
    const format = { range: [-1, 1] as const, layout: 'NCHW' as const, channels: 3 };
    const fresh = pixelsToTensor(pixels, geometry, format);
    const batch = new Float32Array(2 * 36).fill(7);
    const slot = batch.subarray(36, 72);
    expect(pixelsToTensor(pixels, geometry, format, slot)).toBe(slot);
    expect(Array.from(slot)).toEqual(Array.from(fresh));
    expect(Array.from(batch.subarray(0, 36)).every((v) => v === 7)).toBe(true);
    expect(() => pixelsToTensor(pixels, geometry, format, new Float32Array(35))).toThrow(
      'Expected "into" to be a Float32Array of 36 values but received Float32Array(35).',
    );
  });
});

describe('planImageFit: the fit geometry both image codecs share', () => {
  const open = { width: null, height: null };
  it.each([
    ['pad leaves the size', 30, 20, open, 'pad', { crop: { x: 0, y: 0, width: 30, height: 20 }, width: 30, height: 20 }],
    ['resize rounds to the nearest multiple', 30, 20, open, 'resize', { crop: { x: 0, y: 0, width: 30, height: 20 }, width: 32, height: 24 }],
    ['resize keeps at least one block', 3, 20, open, 'resize', { crop: { x: 0, y: 0, width: 3, height: 20 }, width: 8, height: 24 }],
    ['crop takes the centre at the largest multiple', 30, 20, open, 'crop', { crop: { x: 3, y: 2, width: 24, height: 16 }, width: 24, height: 16 }],
    ['a fixed size is resized to', 30, 20, { width: 28, height: 28 }, 'resize', { crop: { x: 0, y: 0, width: 30, height: 20 }, width: 28, height: 28 }],
    [
      'a fixed size is left for the caller to check otherwise',
      30,
      20,
      { width: 28, height: 28 },
      'crop',
      { crop: { x: 0, y: 0, width: 30, height: 20 }, width: 30, height: 20 },
    ],
  ] as const)('%s', (_name, width, height, fixed, fit, expected) => {
    expect(planImageFit('a.png', width, height, fixed, fit, 8)).toEqual(expected);
  });

  it('crop refuses an image smaller than one block', () => {
    expect(errorOf(() => planImageFit('a.png', 5, 20, { width: null, height: null }, 'crop', 8))).toEqual({
      code: 'SHAPE_MISMATCH',
      message: 'a.png is 5x20, smaller than one 8x8 block, so "fit: \'crop\'" leaves nothing; use fit "pad" or "resize".',
    });
  });
});

describe('imageGrid', () => {
  it('is what tileImages was (the old name stays, deprecated)', () => {
    const image = { pixels: Uint8Array.from([1, 2, 3, 4]), width: 2, height: 2, channels: 1 };
    expect(tileImages).toBe(imageGrid);
    expect(imageGrid([image, image], 2, 0).pixels).toEqual(Uint8Array.from([1, 2, 1, 2, 3, 4, 3, 4]));
  });
});
