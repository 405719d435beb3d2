import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'fflate';
import fc from 'fast-check';
import { LATENT_COMPRESSIONS, LATENT_DTYPES, decodeLatentFile, encodeLatentFile, latentFileInfo } from '../src/index';
import type { EncodeLatentFileOptions, LatentCompression, LatentDtype } from '../src/index';
import { crc32, sha256Hex } from '../src/index';
import { float16ToFloat32, float32ToFloat16 } from '../src/index';
import { dequantizeUint8, quantizeUint8 } from '../src/index';
import { VaeTensor } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';

const MODEL_A = 'ab'.repeat(32);
const MODEL_B = '0123456789abcdef'.repeat(4);

function bits32(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

/** A smooth latent [1, 4, 32, 32], like a VAE's output on a natural image. */
function smoothLatent(): VaeTensor {
  const data = new Float32Array(4 * 32 * 32);
  for (let c = 0; c < 4; c++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) data[(c * 32 + y) * 32 + x] = Math.sin(x / 6 + c) * Math.cos(y / 9 - c) * (c + 1);
    }
  }
  return new VaeTensor(data, [1, 4, 32, 32]);
}

/** A file assembled by hand: prefix, header text, payload and a correct CRC-32, to test header checks. */
function craft(header: string | object, payload: Uint8Array, version = 1): Uint8Array {
  const json = typeof header === 'string' ? header : JSON.stringify(header);
  const out = new Uint8Array(20 + json.length + payload.length);
  const view = new DataView(out.buffer);
  out.set([0x56, 0x4c, 0x41, 0x54, version], 0);
  view.setUint32(8, json.length, true);
  view.setUint32(12, payload.length, true);
  for (let i = 0; i < json.length; i++) out[16 + i] = json.charCodeAt(i);
  out.set(payload, 16 + json.length);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

const header = (fields: object = {}) => ({ modelFingerprint: MODEL_A, dims: [1, 2], dtype: 'float32', compression: 'none', rawLength: 8, ...fields });

describe('checksums', () => {
  it('crc32 gives the standard check value and can run in pieces', () => {
    const digits = new TextEncoder().encode('123456789');
    expect(crc32(digits)).toBe(0xcbf43926);
    expect(crc32(digits.subarray(4), crc32(digits.subarray(0, 4)))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('sha256Hex gives the FIPS 180-2 digest of "abc"', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('sha256Hex says how to get WebCrypto where it is missing', async () => {
    const original = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      await expect(sha256Hex(new Uint8Array(1))).rejects.toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        message: 'SHA-256 needs WebCrypto (crypto.subtle), which this environment lacks; use Node 20 or later, or serve the page over HTTPS or from localhost.',
      });
    } finally {
      if (original) Object.defineProperty(globalThis, 'crypto', original);
      else delete (globalThis as { crypto?: unknown }).crypto;
    }
    expect(typeof globalThis.crypto?.subtle?.digest).toBe('function');
  });
});

describe('encodeLatentFile', () => {
  it('writes the documented bytes for a tiny uncompressed float32 latent', () => {
    const file = encodeLatentFile(new VaeTensor(Float32Array.of(1, -2), [1, 1, 1, 2]), { modelFingerprint: MODEL_A, dtype: 'float32', compression: 'none' });
    const json = `{"modelFingerprint":"${MODEL_A}","dims":[1,1,1,2],"dtype":"float32","compression":"none","rawLength":8}`;
    expect(json.length).toBe(157);
    expect(Array.from(file)).toEqual([
      ...[0x56, 0x4c, 0x41, 0x54, 1, 0, 0, 0], // VLAT, version 1, reserved
      ...[157, 0, 0, 0, 8, 0, 0, 0], // H = 157, P = 8
      ...Array.from(json, (ch) => ch.charCodeAt(0)),
      ...[0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0], // 1, -2
      ...[0x8c, 0xc1, 0xd2, 0xb9], // CRC-32 0xb9d2c18c, as Python's zlib.crc32 gives
    ]);
  });

  it('records the options in the header, which latentFileInfo reads from the first 16 + H bytes alone', () => {
    const file = encodeLatentFile(smoothLatent(), {
      modelFingerprint: MODEL_A.toUpperCase(),
      dtype: 'uint8-affine',
      level: 1,
      imageSize: { height: 250, width: 256 },
    });
    const info = latentFileInfo(file);
    expect(info).toEqual({
      version: 1,
      modelFingerprint: MODEL_A,
      dims: [1, 4, 32, 32],
      dtype: 'uint8-affine',
      compression: 'deflate',
      rawLength: 4 * 8 + 4096,
      payloadLength: file.length - 20 - new DataView(file.buffer).getUint32(8, true),
      imageSize: { height: 250, width: 256 },
      fileLength: file.length,
    });
    const headerEnd = 16 + new DataView(file.buffer).getUint32(8, true);
    expect(latentFileInfo(file.subarray(0, headerEnd))).toEqual(info);
    expect(decodeLatentFile(file).header).toEqual(info);
    expect(latentFileInfo(encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A })).imageSize).toBeNull();
  });

  it('defaults to float16 with deflate', () => {
    const info = latentFileInfo(encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A }));
    expect([info.dtype, info.compression, info.rawLength]).toEqual(['float16', 'deflate', 2 * 4096]);
  });

  it.each(Object.keys(LATENT_DTYPES) as LatentDtype[])(
    'compresses a smooth %s latent below 80%% of its raw size, no larger at level 9 than at level 1',
    (dtype) => {
      const latent = smoothLatent();
      const best = encodeLatentFile(latent, { modelFingerprint: MODEL_A, dtype });
      const fast = encodeLatentFile(latent, { modelFingerprint: MODEL_A, dtype, level: 1 });
      const stored = encodeLatentFile(latent, { modelFingerprint: MODEL_A, dtype, compression: 'none' });
      const { rawLength } = latentFileInfo(best);
      expect(latentFileInfo(stored).payloadLength).toBe(rawLength);
      expect(latentFileInfo(best).payloadLength).toBeLessThan(rawLength * 0.8);
      expect(best.length).toBeLessThanOrEqual(fast.length);
    },
  );

  it.each<[string, () => unknown, string, string]>([
    [
      'no options',
      () => encodeLatentFile(smoothLatent(), undefined as unknown as EncodeLatentFileOptions),
      'INVALID_OPTION',
      'encodeLatentFile needs options with at least "modelFingerprint" (the decoder\'s SHA-256) but received undefined.',
    ],
    [
      'a short fingerprint',
      () => encodeLatentFile(smoothLatent(), { modelFingerprint: 'abc' }),
      'INVALID_OPTION',
      'Expected "modelFingerprint" to be the SHA-256 of the decoder ONNX file as 64 hex digits (see sha256Hex) but received "abc".',
    ],
    [
      'an unknown dtype',
      () => encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A, dtype: 'int8' as LatentDtype }),
      'INVALID_OPTION',
      'Expected "dtype" to be one of "float32", "float16", "uint8-affine" but received "int8".',
    ],
    [
      'an unknown compression',
      () => encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A, compression: 'zstd' as LatentCompression }),
      'INVALID_OPTION',
      'Expected "compression" to be one of "deflate", "none" but received "zstd".',
    ],
    [
      'level 10',
      () => encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A, level: 10 as 9 }),
      'INVALID_OPTION',
      'Expected "level" to be an integer from 0 (store) to 9 (smallest) but received 10.',
    ],
    [
      'a fractional image size',
      () => encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A, imageSize: { height: 2.5, width: 4 } }),
      'INVALID_OPTION',
      'Expected "imageSize" to be { height, width } with positive integer sizes but received {"height":2.5,"width":4}.',
    ],
    [
      'a NaN in the latent',
      () => encodeLatentFile(new VaeTensor(Float32Array.of(0, NaN), [1, 2]), { modelFingerprint: MODEL_A }),
      'NON_FINITE_INPUT',
      '"latent" holds NaN at flat index 1 (dims [1, 2]); inputs must be finite.',
    ],
    [
      'a value beyond float16',
      () => encodeLatentFile(new VaeTensor(Float32Array.of(1, 70000), [1, 2]), { modelFingerprint: MODEL_A }),
      'INVALID_INPUT',
      '"latent" holds 70000 at flat index 1, beyond the float16 range (|x| < 65520); use dtype "float32".',
    ],
    [
      'a rank-1 latent with uint8-affine',
      () => encodeLatentFile(new VaeTensor(Float32Array.of(1, 2), [2]), { modelFingerprint: MODEL_A, dtype: 'uint8-affine' }),
      'SHAPE_MISMATCH',
      'Expected "tensor" of rank 2 or more ([N, C, ...], channels on axis 1) but received dims [2]; add a batch axis.',
    ],
    [
      'a scalar latent',
      () => encodeLatentFile(new VaeTensor(Float32Array.of(1), []), { modelFingerprint: MODEL_A }),
      'SHAPE_MISMATCH',
      'Expected "latent" to have a batch axis but received a scalar (dims []).',
    ],
  ])('refuses %s', (_, fn, code, message) => {
    expect(errorOf(fn)).toEqual({ code, message });
  });
});

describe('decodeLatentFile', () => {
  it('round-trips float32 bit-exactly, including -0, subnormals and large values', () => {
    const data = Float32Array.of(-0, 1e-45, -3.4028234663852886e38, 0.1, 123456.789, -7);
    const latent = new VaeTensor(data, [1, 2, 3]);
    for (const compression of Object.keys(LATENT_COMPRESSIONS) as LatentCompression[]) {
      const decoded = decodeLatentFile(encodeLatentFile(latent, { modelFingerprint: MODEL_A, dtype: 'float32', compression }));
      expect(decoded.latent.dims).toEqual([1, 2, 3]);
      expect(bits32(decoded.latent.data)).toEqual(bits32(data));
    }
  });

  it('reads a file that sits at an odd offset inside a larger buffer (a Node Buffer slice, say)', () => {
    const file = encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A, dtype: 'float32' });
    const host = new Uint8Array(file.length + 8);
    host.set(file, 3);
    const { latent } = decodeLatentFile(host.subarray(3, 3 + file.length));
    expect(bits32(latent.data)).toEqual(bits32(smoothLatent().data));
  });

  it('round-trips float16 to the nearest half of every value', () => {
    const latent = smoothLatent();
    const { latent: back } = decodeLatentFile(encodeLatentFile(latent, { modelFingerprint: MODEL_A, dtype: 'float16' }));
    expect(bits32(back.data)).toEqual(bits32(float16ToFloat32(float32ToFloat16(latent.data))));
    for (let i = 0; i < latent.size; i++)
      expect(Math.abs(back.data[i]! - latent.data[i]!)).toBeLessThanOrEqual(Math.abs(latent.data[i]!) * 2 ** -11 + 2 ** -25);
  });

  it('round-trips uint8-affine to the dequantised values, within (max - min) / 510 per channel', () => {
    const latent = smoothLatent();
    const { latent: back } = decodeLatentFile(encodeLatentFile(latent, { modelFingerprint: MODEL_A, dtype: 'uint8-affine' }));
    const q = quantizeUint8(latent);
    expect(bits32(back.data)).toEqual(bits32(dequantizeUint8(q).data));
    for (let i = 0; i < latent.size; i++) {
      const c = Math.floor(i / 1024);
      expect(Math.abs(back.data[i]! - latent.data[i]!)).toBeLessThanOrEqual((q.max[c]! - q.min[c]!) / 510 + 1e-6);
    }
  });

  it("round-trips random dims, values, dtypes and compression levels within each dtype's bound (property)", () => {
    const dtype = fc.constantFrom(...(Object.keys(LATENT_DTYPES) as LatentDtype[]));
    const setup = fc
      .record({
        dtype,
        compression: fc.constantFrom(...(Object.keys(LATENT_COMPRESSIONS) as LatentCompression[])),
        level: fc.integer({ min: 0, max: 9 }),
        dims: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 4 }),
        image: fc.option(fc.record({ height: fc.integer({ min: 1, max: 4096 }), width: fc.integer({ min: 1, max: 4096 }) }), { nil: undefined }),
      })
      .chain((s) => {
        const size = s.dims.reduce((a, b) => a * b, 1);
        const value = fc.float({ min: -60000, max: 60000, noNaN: true, noDefaultInfinity: true });
        return fc.tuple(fc.constant(s), fc.array(value, { minLength: size, maxLength: size }));
      });
    fc.assert(
      fc.property(setup, ([s, values]) => {
        const latent = new VaeTensor(Float32Array.from(values), s.dims);
        const options = { modelFingerprint: MODEL_B, dtype: s.dtype, compression: s.compression, level: s.level as 9, imageSize: s.image };
        const { latent: back, header } = decodeLatentFile(encodeLatentFile(latent, options), { expectedFingerprint: MODEL_B });
        expect(back.dims).toEqual(s.dims);
        expect(header.imageSize).toEqual(s.image ?? null);
        const expected =
          s.dtype === 'float32'
            ? latent.data
            : s.dtype === 'float16'
              ? float16ToFloat32(float32ToFloat16(latent.data))
              : dequantizeUint8(quantizeUint8(latent)).data;
        expect(bits32(back.data)).toEqual(bits32(expected));
      }),
      { numRuns: 200 },
    );
  });

  it('catches every single damaged byte of a file: each position, each of three flip masks', () => {
    const latent = new VaeTensor(
      Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
      [1, 3, 2, 2],
    );
    for (const dtype of Object.keys(LATENT_DTYPES) as LatentDtype[]) {
      const file = encodeLatentFile(latent, { modelFingerprint: MODEL_A, dtype, imageSize: { height: 16, width: 16 } });
      const outcomes = new Map<string, number>();
      for (let position = 0; position < file.length; position++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const damaged = file.slice();
          damaged[position]! ^= mask;
          const error = errorOf(() => decodeLatentFile(damaged, { expectedFingerprint: MODEL_A }));
          if (error?.code !== 'FILE_CORRUPT') throw new Error(`${dtype}: flipping byte ${position} with 0x${mask.toString(16)} gave ${JSON.stringify(error)}`);
          const kind = /^Not a valid \.vlat latent file: ([a-z ]+)/.exec(error.message)![1]!;
          outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
        }
      }
      // Damage past the prefix is always reported as a checksum mismatch.
      expect(outcomes.get('checksum mismatch')).toBe(3 * (file.length - 16));
      expect(decodeLatentFile(file).latent.size).toBe(12);
    }
  });

  it('refuses every truncation of a file', () => {
    const file = encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A });
    for (let length = 0; length < file.length; length++) {
      const error = errorOf(() => decodeLatentFile(file.subarray(0, length)));
      if (error?.code !== 'FILE_CORRUPT' || !/truncated at byte \d+/.test(error.message)) throw new Error(`length ${length}: ${JSON.stringify(error)}`);
    }
    expect(errorOf(() => decodeLatentFile(file.subarray(0, 10)))?.message).toBe(
      'Not a valid .vlat latent file: the file is truncated at byte 10, inside the 16-byte prefix.',
    );
    expect(errorOf(() => decodeLatentFile(file.subarray(0, file.length - 1)))?.message).toBe(
      `Not a valid .vlat latent file: the file is truncated at byte ${file.length - 1}; its prefix says it is ${file.length} bytes long.`,
    );
  });

  it('refuses a file made by another model, naming both fingerprints', () => {
    const file = encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A });
    const error = errorOf(() => decodeLatentFile(file, { expectedFingerprint: MODEL_B }));
    expect(error).toEqual({
      code: 'MODEL_MISMATCH',
      message: `This latent file was made by model ${MODEL_A} but the loaded decoder is ${MODEL_B}; decompress it with the model that compressed it.`,
    });
    expect(decodeLatentFile(file, { expectedFingerprint: MODEL_A.toUpperCase() }).header.modelFingerprint).toBe(MODEL_A);
  });

  const good = encodeLatentFile(new VaeTensor(Float32Array.of(1, 2), [1, 2]), { modelFingerprint: MODEL_A, dtype: 'float32', compression: 'none' });
  const withByte = (position: number, value: number) => {
    const copy = good.slice();
    copy[position] = value;
    return copy;
  };
  const floats = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
  const float32Header = header({ dims: [1, 2], rawLength: 8 });

  it.each<[string, Uint8Array, string]>([
    ['a PNG', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), 'bad magic: expected "VLAT" (56 4c 41 54) but the file starts with 89 50 4e 47'],
    ['an empty file', new Uint8Array(0), 'the file is truncated at byte 0, inside the 16-byte prefix'],
    ['a future version', withByte(4, 2), 'it is format version 2 but this release of @onnx-vae/core reads version 1; upgrade @onnx-vae/core'],
    ['version 0', withByte(4, 0), 'unsupported format version 0; this release reads version 1'],
    ['nonzero reserved bytes', withByte(6, 7), 'reserved bytes 5-7 must be 0 but are 00 07 00'],
    [
      'extra bytes at the end',
      Uint8Array.from([...good, 0]),
      `the file is ${good.length + 1} bytes long but its prefix says ${good.length}; it has extra bytes at the end or a damaged prefix`,
    ],
    [
      'a damaged checksum',
      withByte(good.length - 1, good[good.length - 1]! ^ 1),
      `checksum mismatch: the file's CRC-32 is 0x${((new DataView(good.buffer).getUint32(good.length - 4, true) ^ 0x01000000) >>> 0).toString(16).padStart(8, '0')} but its contents give 0x${new DataView(
        good.buffer,
      )
        .getUint32(good.length - 4, true)
        .toString(16)
        .padStart(8, '0')}; the file is damaged`,
    ],
    ['a header that is an array', craft('[1]', floats(1, 2)), 'the header is [1], expected a JSON object'],
    ['a non-ASCII header', craft('{"x":"\u00e9"}', floats(1, 2)), 'the header holds the non-ASCII byte 0xe9 at byte 22'],
    [
      'an uppercase fingerprint in the file',
      craft(header({ modelFingerprint: MODEL_A.toUpperCase() }), floats(1, 2)),
      `header field "modelFingerprint" is "${MODEL_A.toUpperCase()}", expected 64 lowercase hex digits`,
    ],
    [
      'an unknown dtype',
      craft(header({ dtype: 'int8' }), floats(1, 2)),
      'header field "dtype" is "int8", expected one of "float32", "float16", "uint8-affine"',
    ],
    ['an unknown compression', craft(header({ compression: 'zstd' }), floats(1, 2)), 'header field "compression" is "zstd", expected one of "deflate", "none"'],
    ['fractional dims', craft(header({ dims: [1, 1.5] }), floats(1, 2)), 'header field "dims" is [1, 1.5], expected at least 1 non-negative integers'],
    [
      'rank-1 dims with uint8-affine',
      craft(header({ dims: [2], dtype: 'uint8-affine', rawLength: 2 }), Uint8Array.of(0, 1)),
      'header field "dims" is [2], expected at least 2 non-negative integers',
    ],
    [
      'a rawLength that disagrees with the dims',
      craft(header({ rawLength: 12 }), floats(1, 2, 3)),
      'header field "rawLength" is 12 but a float32 latent of dims [1, 2] takes 8 bytes',
    ],
    [
      'a payload shorter than rawLength',
      craft(header({ dims: [1, 3], rawLength: 12 }), floats(1, 2)),
      'the uncompressed payload is 8 bytes but the header says 12',
    ],
    [
      'a DEFLATE bomb claim',
      craft(header({ dims: [1, 10_000_000], rawLength: 40_000_000, compression: 'deflate' }), deflateSync(floats(1, 2))),
      'the header claims 40000000 bytes from a 10-byte DEFLATE payload, more than DEFLATE can expand',
    ],
    [
      'a damaged DEFLATE stream',
      craft(header({ compression: 'deflate' }), Uint8Array.of(0xff, 0xff, 0xff)),
      'the DEFLATE payload is damaged (invalid block type)',
    ],
    [
      'a DEFLATE stream that is too long',
      craft(header({ compression: 'deflate' }), deflateSync(floats(1, 2, 3))),
      'the payload inflates to more than 9 bytes but the header says 8',
    ],
    [
      'a DEFLATE stream that is too short',
      craft(header({ compression: 'deflate' }), deflateSync(floats(1))),
      'the payload inflates to 4 bytes but the header says 8',
    ],
    [
      'a bad image size',
      craft(header({ imageSize: { height: 0, width: 3 } }), floats(1, 2)),
      'header field "imageSize" is {"height":0,"width":3}, expected { height, width } with positive integers',
    ],
    ['a NaN value', craft(float32Header, floats(1, NaN)), 'the payload holds NaN at flat index 1; latents must be finite'],
    [
      'an infinite float16 value',
      craft(header({ dtype: 'float16', rawLength: 4 }), Uint8Array.of(0x00, 0x3c, 0x00, 0x7c)),
      'the payload holds Infinity at flat index 1; latents must be finite',
    ],
    [
      'an inverted quantisation range',
      craft(header({ dims: [1, 1], dtype: 'uint8-affine', rawLength: 9 }), Uint8Array.from([...floats(2, 1), 7])),
      'channel 0 has the quantisation range [2, 1], expected finite min <= max',
    ],
  ])('refuses %s', (_, file, detail) => {
    expect(errorOf(() => decodeLatentFile(file))).toEqual({ code: 'FILE_CORRUPT', message: `Not a valid .vlat latent file: ${detail}.` });
  });

  it('refuses a header that is not JSON, quoting the parser', () => {
    const error = errorOf(() => decodeLatentFile(craft('{"dims":', floats(1, 2))));
    expect(error?.code).toBe('FILE_CORRUPT');
    expect(error?.message).toMatch(/^Not a valid \.vlat latent file: the header is not valid JSON \(.+\)\.$/);
  });

  it('ignores header fields it does not know', () => {
    const { latent, header: read } = decodeLatentFile(craft(header({ encoder: 'future-writer 2.0' }), floats(1, 2)));
    expect(Array.from(latent.data)).toEqual([1, 2]);
    expect(read).not.toHaveProperty('encoder');
  });

  it.each<[string, () => unknown, string, string]>([
    [
      'a fingerprint that is not hex',
      () => decodeLatentFile(good, { expectedFingerprint: 'z'.repeat(64) }),
      'INVALID_OPTION',
      `Expected "expectedFingerprint" to be the SHA-256 of the decoder ONNX file as 64 hex digits (see sha256Hex) but received "${'z'.repeat(64)}".`,
    ],
    [
      'a string instead of bytes',
      () => decodeLatentFile('VLAT' as unknown as Uint8Array),
      'INVALID_INPUT',
      'Expected "file" to be the bytes of a .vlat file (a Uint8Array) but received "VLAT".',
    ],
  ])('refuses %s', (_, fn, code, message) => {
    expect(errorOf(fn)).toEqual({ code, message });
  });
});

describe('latentFileInfo', () => {
  it('needs the whole header, and no more', () => {
    const file = encodeLatentFile(smoothLatent(), { modelFingerprint: MODEL_A });
    const headerLength = new DataView(file.buffer).getUint32(8, true);
    expect(errorOf(() => latentFileInfo(file.subarray(0, 16 + headerLength - 1)))).toEqual({
      code: 'FILE_CORRUPT',
      message: `Not a valid .vlat latent file: the file is truncated at byte ${16 + headerLength - 1}, inside the ${headerLength}-byte header that starts at byte 16.`,
    });
    expect(latentFileInfo(file.subarray(0, 16 + headerLength)).dims).toEqual([1, 4, 32, 32]);
  });
});

describe('the Python reference reader in docs/latent-format.md', () => {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log(`Skipping the Python reference reader check: ${python} with numpy is not available (${(probe.error?.message ?? probe.stderr).trim()}).`);
  }
  const maybe = probe.status === 0 ? it : it.skip;

  maybe('decodes files of every dtype to the same float32 bits as decodeLatentFile', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/latent-format.md'), 'utf8');
    const block = /<!-- reference-reader:begin -->\s*```python\n([\s\S]*?)```\s*<!-- reference-reader:end -->/.exec(doc);
    expect(block).not.toBeNull();
    const script = `${block![1]}
import sys
data = sys.stdin.buffer.read()
x, header = read_vlat(data, expected_fingerprint='${MODEL_A}')
sys.stdout.write(json.dumps({'dims': list(x.shape), 'bits': x.view('<u4').ravel().tolist(), 'dtype': header['dtype']}))
`;
    const latent = new VaeTensor(
      Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => Math.sin(i * 0.7) * 4 + (i % 3)),
      [2, 3, 4, 5],
    );
    for (const dtype of Object.keys(LATENT_DTYPES) as LatentDtype[]) {
      for (const compression of Object.keys(LATENT_COMPRESSIONS) as LatentCompression[]) {
        const file = encodeLatentFile(latent, { modelFingerprint: MODEL_A, dtype, compression });
        const result = spawnSync(python, ['-c', script], { input: file, encoding: 'utf8' });
        expect(result.stderr).toBe('');
        const parsed = JSON.parse(result.stdout);
        expect(parsed.dims).toEqual([2, 3, 4, 5]);
        expect(parsed.dtype).toBe(dtype);
        expect(parsed.bits).toEqual(bits32(decodeLatentFile(file).latent.data));
      }
    }
  });
});
