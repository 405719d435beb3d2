import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { decodeSafetensors, encodeSafetensors } from '../src/index';
import { VaeTensor } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';

/** A safetensors file from a header (object or raw text) and data bytes, with an honest header length. */
function file(header: object | string | Uint8Array, data: Uint8Array | number = 0): Uint8Array {
  const json = header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function bits32(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

describe('encodeSafetensors', () => {
  it('writes the exact bytes of a known small file: sorted names, metadata first, header padded with spaces', () => {
    const bytes = encodeSafetensors({ b: new VaeTensor(Float32Array.of(1, -2), [2]), a: new VaeTensor(Float32Array.of(0.5), [1]) }, { format: 'pt' });
    const header =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    expect(header.length).toBe(139);
    const expected = [
      ...[144, 0, 0, 0, 0, 0, 0, 0],
      ...Array.from(header, (ch) => ch.charCodeAt(0)),
      ...[0x20, 0x20, 0x20, 0x20, 0x20],
      ...[0x00, 0x00, 0x00, 0x3f], // 0.5
      ...[0x00, 0x00, 0x80, 0x3f], // 1
      ...[0x00, 0x00, 0x00, 0xc0], // -2
    ];
    expect(Array.from(bytes)).toEqual(expected);
  });

  it('omits __metadata__ when none is given and keeps integer-like names in string order', () => {
    const bytes = encodeSafetensors({ '10': new VaeTensor(new Float32Array(0), [0]), '9': new VaeTensor(new Float32Array(0), [0]) });
    const length = new DataView(bytes.buffer).getUint32(0, true);
    expect(length % 8).toBe(0);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + length)).trimEnd()).toBe(
      '{"10":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"9":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}',
    );
  });

  it.each([
    [
      'a tensor named __metadata__',
      () => encodeSafetensors({ __metadata__: new VaeTensor(new Float32Array(1), [1]) }),
      'INVALID_INPUT',
      'A tensor cannot be named "__metadata__", the key that holds the metadata; rename it.',
    ],
    [
      'a metadata value that is not a string',
      () => encodeSafetensors({}, { step: 3 as unknown as string }),
      'INVALID_INPUT',
      'safetensors metadata values must be strings but "metadata.step" is 3; convert it with String() or JSON.stringify().',
    ],
    [
      'float64 data',
      () => encodeSafetensors({ x: { data: new Float64Array(2) as unknown as Float32Array, dims: [2] } }),
      'DTYPE_MISMATCH',
      'Expected "x.data" to be a Float32Array but received Float64Array(2); use Float32Array.from(values).',
    ],
    [
      'no tensors object',
      () => encodeSafetensors(null as unknown as Record<string, VaeTensor>),
      'INVALID_INPUT',
      'Expected "tensors" to be an object of tensors by name but received null.',
    ],
  ])('refuses %s', (_, fn, code, message) => {
    expect(errorOf(fn)).toEqual({ code, message });
  });
});

describe('decodeSafetensors', () => {
  it('round-trips tensors bit-exactly, with metadata, for any names, dims and values (property)', () => {
    const tensor = fc
      .array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 })
      .chain((dims) => {
        const size = dims.reduce((a, b) => a * b, 1);
        return fc.tuple(fc.constant(dims), fc.array(fc.float({ noNaN: true }), { minLength: size, maxLength: size }));
      })
      .map(([dims, values]) => new VaeTensor(Float32Array.from(values), dims));
    const name = fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme' }).filter((n) => n !== '__metadata__');
    fc.assert(
      fc.property(fc.dictionary(name, tensor, { maxKeys: 4 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), (tensors, metadata) => {
        const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));
        expect(decoded.metadata).toEqual(metadata);
        expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort());
        for (const [key, value] of Object.entries(tensors)) {
          expect(decoded.tensors[key]!.dims).toEqual(value.dims);
          expect(bits32(decoded.tensors[key]!.data)).toEqual(bits32(value.data));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps a tensor named "__proto__" as an ordinary entry', () => {
    const decoded = decodeSafetensors(encodeSafetensors({ ['__proto__']: new VaeTensor(Float32Array.of(4), [1]) }));
    expect(Object.keys(decoded.tensors)).toEqual(['__proto__']);
    expect(Array.from(Object.getOwnPropertyDescriptor(decoded.tensors, '__proto__')!.value.data)).toEqual([4]);
  });

  it('widens F16 and BF16 tensors exactly to float32', () => {
    const data = Uint8Array.of(0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0xaa, 0x3e); // F16 [1, -2], BF16 [1, 0.33203125]
    const bytes = file(
      {
        h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
        b: { dtype: 'BF16', shape: [1, 2], data_offsets: [4, 8] },
      },
      data,
    );
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({});
    expect(Array.from(tensors.h!.data)).toEqual([1, -2]);
    expect(tensors.b!.dims).toEqual([1, 2]);
    expect(Array.from(tensors.b!.data)).toEqual([1, 0.33203125]);
  });

  it('reads a file whose data do not start 4-byte aligned', () => {
    const bytes = file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', Uint8Array.of(0, 0, 0x80, 0x3f));
    expect((bytes.length - 4) % 4).not.toBe(0);
    expect(Array.from(decodeSafetensors(bytes).tensors.x!.data)).toEqual([1]);
  });

  const f32 = (shape: number[], offsets: number[]) => ({ dtype: 'F32', shape, data_offsets: offsets });
  it.each([
    ['a 5-byte file', new Uint8Array(5), 'the file is 5 bytes long, shorter than the 8-byte header length'],
    [
      'a header longer than the file',
      (() => {
        const b = file('{}');
        b[0] = 50;
        return b;
      })(),
      'the header length is 50 bytes but the file ends at byte 10; it is truncated',
    ],
    [
      'a huge header length',
      (() => {
        const b = file('{}');
        b[5] = 1;
        return b;
      })(),
      'the header length is 1099511627778 bytes, over the limit of 100000000',
    ],
    ['a header that is not UTF-8', file(Uint8Array.of(0x7b, 0xff, 0x7d)), 'the header is not valid UTF-8'],
    ['a header that is not an object', file('[1]'), 'the header must start with "{" but starts with "[1]"'],
    [
      'an unsupported dtype',
      file({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8),
      'tensor "x" has dtype "I64"; this reader takes "F32", "F16", "BF16"',
    ],
    ['an entry that is not an object', file({ x: 1 }), 'tensor "x" is 1, expected { dtype, shape, data_offsets }'],
    ['a negative dimension', file({ x: f32([-1], [0, 0]) }), 'tensor "x" has shape [-1], expected a list of non-negative integers'],
    ['offsets end before they begin', file({ x: f32([1], [4, 0]) }, 4), 'tensor "x" has data_offsets [4, 0], expected [begin, end] with 0 <= begin <= end'],
    ['offsets of the wrong size', file({ x: f32([2], [0, 4]) }, 4), 'tensor "x" (F32, shape [2]) needs 8 bytes but data_offsets [0, 4] span 4'],
    ['overlapping tensors', file({ x: f32([2], [0, 8]), y: f32([1], [4, 8]) }, 8), 'tensor "y" at bytes [4, 8) overlaps the tensor before it, which ends at 8'],
    ['a gap between tensors', file({ x: f32([1], [0, 4]), y: f32([1], [8, 12]) }, 12), 'there is a gap in the data between bytes 4 and 8'],
    ['truncated data', file({ x: f32([2], [0, 8]) }, 6), 'the tensors need 8 data bytes but the file holds 6 after the header; it is truncated'],
    ['extra data', file({ x: f32([1], [0, 4]) }, 6), 'the tensors use 4 data bytes but the file holds 6 after the header'],
    ['metadata that is not a string map', file({ __metadata__: { step: 3 } }), '"__metadata__.step" is 3, expected a string'],
  ])('refuses %s', (_, bytes, detail) => {
    expect(errorOf(() => decodeSafetensors(bytes))).toEqual({ code: 'FILE_CORRUPT', message: `Not a valid safetensors file: ${detail}.` });
  });

  it('refuses a header that is not JSON, quoting the parser', () => {
    const error = errorOf(() => decodeSafetensors(file('{"x": ')));
    expect(error?.code).toBe('FILE_CORRUPT');
    expect(error?.message).toMatch(/^Not a valid safetensors file: the header is not valid JSON \(.+\)\.$/);
  });

  it('refuses what is not a Uint8Array', () => {
    expect(errorOf(() => decodeSafetensors([1, 2] as unknown as Uint8Array))).toEqual({
      code: 'INVALID_INPUT',
      message: 'Expected "bytes" to be a Uint8Array but received [1, 2].',
    });
  });
});

describe('safetensors cross-check with numpy (/usr/bin/python3)', () => {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' });
  const available = probe.status === 0;
  if (!available) {
    console.log(`Skipping the numpy cross-check: ${python} with numpy is not available (${(probe.error?.message ?? probe.stderr).trim()}).`);
  }
  const maybe = available ? it : it.skip;

  // A by-hand safetensors reader in numpy: what any other implementation of the spec would do.
  const reader = `
import sys, json, struct, numpy as np
raw = sys.stdin.buffer.read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
out = {'metadata': header.pop('__metadata__', {})}
for name, info in header.items():
    b, e = info['data_offsets']
    a = np.frombuffer(data[b:e], dtype='<f4').reshape(info['shape'])
    out[name] = {'shape': list(a.shape), 'bits': a.view('<u4').ravel().tolist(), 'sum': float(a.astype(np.float64).sum())}
print(json.dumps(out))
`;

  maybe('numpy reads what encodeSafetensors writes', () => {
    const latent = new VaeTensor(
      Float32Array.from({ length: 2 * 4 * 3 * 3 }, (_, i) => Math.sin(i) * 3),
      [2, 4, 3, 3],
    );
    const scale = new VaeTensor(Float32Array.of(0.18215), [1]);
    const bytes = encodeSafetensors({ latent, scale }, { model: 'sd-vae', note: 'ünïcode ✓' });
    const result = spawnSync(python, ['-c', reader], { input: bytes, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const parsed = JSON.parse(result.stdout);
    expect(parsed.metadata).toEqual({ model: 'sd-vae', note: 'ünïcode ✓' });
    expect(parsed.latent.shape).toEqual([2, 4, 3, 3]);
    expect(parsed.latent.bits).toEqual(bits32(latent.data));
    expect(parsed.scale.bits).toEqual(bits32(scale.data));
  });

  // numpy writes a file with F32, F16 and BF16 tensors (BF16 as the top halves of float32) that we must read back.
  const writer = `
import sys, json, struct, numpy as np
x = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 3
tensors = {'f32': ('F32', x, x.astype('<f4').tobytes()),
           'f16': ('F16', x.astype(np.float16), x.astype('<f2').tobytes()),
           'bf16': ('BF16', None, (x.astype('<f4').view('<u4') >> 16).astype('<u2').tobytes())}
header, blobs, offset = {'__metadata__': {'writer': 'numpy'}}, [], 0
for name in ['bf16', 'f16', 'f32']:
    dtype, _, blob = tensors[name]
    header[name] = {'dtype': dtype, 'shape': [3, 4], 'data_offsets': [offset, offset + len(blob)]}
    blobs.append(blob); offset += len(blob)
h = json.dumps(header).encode()
h += b' ' * (-len(h) % 8)
sys.stdout.buffer.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
sys.stderr.write(json.dumps({'f16': x.astype(np.float16).astype(np.float32).view('<u4').ravel().tolist(),
                             'bf16': ((x.view('<u4') >> 16) << 16).ravel().tolist(), 'f32': x.view('<u4').ravel().tolist()}))
`;

  maybe('decodeSafetensors reads what numpy writes, F16 and BF16 widened as numpy widens them', () => {
    const result = spawnSync(python, ['-c', writer]);
    expect(result.status).toBe(0);
    const expected = JSON.parse(result.stderr.toString('utf8'));
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(result.stdout));
    expect(metadata).toEqual({ writer: 'numpy' });
    for (const name of ['f32', 'f16', 'bf16']) {
      expect(tensors[name]!.dims).toEqual([3, 4]);
      expect(bits32(tensors[name]!.data)).toEqual(expected[name]);
    }
  });
});
