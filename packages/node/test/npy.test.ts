import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FileFormatError, VaeTensor } from '@onnx-vae/core';
import { encodeNpy, parseNpy, readNpy } from '../src/npy';

const PYTHON = '/usr/bin/python3';

/** The bytes of a version 1.0 header: magic, version, little-endian length, the dict padded to 64-byte blocks. */
function header(dict: string, totalLength: number): Uint8Array {
  const body = `${dict}${' '.repeat(totalLength - 10 - dict.length - 1)}\n`;
  return Uint8Array.from([0x93, ...Buffer.from('NUMPY'), 1, 0, body.length & 0xff, body.length >> 8, ...Buffer.from(body, 'latin1')]);
}

function withData(head: Uint8Array, data: ArrayBufferView): Uint8Array {
  const bytes = new Uint8Array(head.length + data.byteLength);
  bytes.set(head);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), head.length);
  return bytes;
}

function rejected(bytes: Uint8Array, source = 'x.npy'): FileFormatError {
  try {
    readNpy(bytes, source);
  } catch (error) {
    expect(error).toBeInstanceOf(FileFormatError);
    return error as FileFormatError;
  }
  throw new Error('expected a throw');
}

describe('encodeNpy', () => {
  it('writes the header numpy 1.24 writes for np.zeros((2, 3), "<f4"), byte for byte', () => {
    const bytes = encodeNpy(new VaeTensor(new Float32Array(6), [2, 3]));
    // \x93NUMPY \x01 \x00, header length 118 ('v\x00'), the dict, spaces up to byte 127, then '\n'.
    const expected = [
      0x93,
      0x4e,
      0x55,
      0x4d,
      0x50,
      0x59,
      0x01,
      0x00,
      0x76,
      0x00,
      ...Buffer.from("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 'latin1'),
      ...new Array(127 - 10 - 59).fill(0x20), // the dict is 59 characters
      0x0a,
    ];
    expect(expected.length).toBe(128);
    expect(Array.from(bytes.subarray(0, 128))).toEqual(expected);
    expect(bytes.length).toBe(128 + 24);
    expect(Array.from(bytes.subarray(128))).toEqual(new Array(24).fill(0));
  });

  it('formats 0-d, 1-d and empty shapes as numpy does', () => {
    const text = (dims: number[]): string =>
      Buffer.from(encodeNpy(new VaeTensor(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims)))
        .subarray(10, 128)
        .toString('latin1')
        .trimEnd();
    expect(text([])).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
    expect(text([5])).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
    expect(text([0, 784])).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 784), }");
  });

  it('writes little-endian float32 values after a 64-byte aligned header', () => {
    const bytes = encodeNpy({ data: Float32Array.of(1, -2.5, Infinity), dims: [3] });
    expect(bytes.length).toBe(128 + 12);
    expect(Array.from(bytes.subarray(128, 132))).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect(Array.from(new Float32Array(bytes.slice(128).buffer))).toEqual([1, -2.5, Infinity]);
  });

  it('rejects data that does not match the dims with SHAPE_MISMATCH', () => {
    expect(() => encodeNpy({ data: new Float32Array(5), dims: [2, 3] })).toThrow('Tensor data has 5 values but dims [2, 3] need 6.');
  });
});

describe('readNpy', () => {
  it('round-trips any float32 tensor (property)', () => {
    const tensors = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }).chain((dims) => {
      const size = dims.reduce((a, b) => a * b, 1);
      return fc.record({ dims: fc.constant(dims), values: fc.float32Array({ minLength: size, maxLength: size }) });
    });
    fc.assert(
      fc.property(tensors, ({ dims, values }) => {
        const back = readNpy(encodeNpy({ data: values, dims }));
        expect(back.dims).toEqual(dims);
        expect(Array.from(back.data)).toEqual(Array.from(values));
      }),
    );
  });

  it('reads <f8 (rounded to float32) and |u1 (as 0..255), and reports the dtype', () => {
    const f8 = withData(header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 128), Float64Array.of(0.1, -3));
    const parsed = parseNpy(f8, 'f8.npy');
    expect(parsed.dtype).toBe('<f8');
    expect(Array.from(parsed.tensor.data)).toEqual([Math.fround(0.1), -3]);
    const u1 = withData(header("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3), }", 128), Uint8Array.of(0, 128, 255));
    expect(parseNpy(u1).dtype).toBe('|u1');
    expect(readNpy(u1).dims).toEqual([1, 3]);
    expect(Array.from(readNpy(u1).data)).toEqual([0, 128, 255]);
  });

  it('reads version 2.0 headers and keys in any order', () => {
    const dict = "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}";
    const body = `${dict}${' '.repeat(64 - 12 - dict.length - 1 + 64)}\n`;
    const head = Uint8Array.from([0x93, ...Buffer.from('NUMPY'), 2, 0, body.length & 0xff, body.length >> 8, 0, 0, ...Buffer.from(body, 'latin1')]);
    expect(Array.from(readNpy(withData(head, Float32Array.of(7, 8))).data)).toEqual([7, 8]);
  });

  const f4 = (shape: string, descr = '<f4', fortran = 'False'): Uint8Array =>
    header(`{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`, 128);

  it.each([
    [
      'a bad magic string',
      Buffer.from('NUMPY not really a numpy file'),
      'x.npy is not a readable .npy file: it does not start with the magic string "\\x93NUMPY" (write it with numpy.save).',
    ],
    [
      'a truncated header',
      f4('(2,)').subarray(0, 60),
      'x.npy is not a readable .npy file: the file is truncated: its header needs 128 bytes but the file has 60.',
    ],
    [
      'truncated data',
      withData(f4('(2, 3)'), new Float32Array(5)),
      'x.npy is not a readable .npy file: its header says shape (2, 3) of <f4, which is 24 bytes of data, but 20 bytes follow the header (the file is truncated).',
    ],
    [
      'extra data',
      withData(f4('(2,)'), new Float32Array(3)),
      'x.npy is not a readable .npy file: its header says shape (2,) of <f4, which is 8 bytes of data, but 12 bytes follow the header.',
    ],
    [
      'big-endian data',
      withData(f4('(1,)', '>f4'), new Float32Array(1)),
      'x.npy is not a readable .npy file: its dtype ">f4" is big-endian; save arr.astype("<f4") instead.',
    ],
    [
      'Fortran order',
      withData(f4('(2, 2)', '<f4', 'True'), new Float32Array(4)),
      'x.npy is not a readable .npy file: the array is in Fortran order; only C order is read. Save np.ascontiguousarray(arr) instead.',
    ],
    [
      'another dtype',
      withData(f4('(1,)', '<i8'), new BigInt64Array(1)),
      'x.npy is not a readable .npy file: its dtype "<i8" is not supported; the supported dtypes are "<f4", "<f2", "<f8", "|u1" (convert with arr.astype(np.float32)).',
    ],
    [
      'an unknown version',
      Uint8Array.from([0x93, ...Buffer.from('NUMPY'), 4, 0, 0, 0]),
      'x.npy is not a readable .npy file: format version 4.0 is not supported; versions 1.0 to 3.0 are.',
    ],
  ])('rejects %s with FILE_CORRUPT', (_case, bytes, message) => {
    const error = rejected(bytes as Uint8Array);
    expect(error.code).toBe('FILE_CORRUPT');
    expect(error.file).toBe('x.npy');
    expect(error.message).toBe(message);
  });

  it('rejects a structured dtype and a bad shape with FILE_CORRUPT', () => {
    const structured = header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 128);
    expect(rejected(structured).message).toMatch(/lacks "descr", "fortran_order" or "shape", or has a structured dtype/);
    expect(rejected(f4('(2, -1)')).message).toBe('x.npy is not a readable .npy file: its shape (2, -1) is not a tuple of non-negative integers.');
  });
});

const numpy = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
if (numpy.status !== 0) {
  console.warn(`npy.test: skipping the comparison with numpy: "${PYTHON} -c 'import numpy'" failed (${numpy.error?.message ?? numpy.stderr.trim()}).`);
}

(numpy.status === 0 ? describe : describe.skip)('against numpy', () => {
  let folder = '';
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'onnx-vae-npy-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('writes exactly the bytes of numpy.save, and reads what numpy writes', () => {
    const script = [
      'import numpy as np, sys',
      'd = sys.argv[1]',
      'np.save(d + "/a.npy", np.arange(24, dtype="<f4").reshape(2, 3, 4) / 7)',
      'np.save(d + "/s.npy", np.float32(3.5))',
      'np.save(d + "/l.npy", np.zeros((12345678901, 0), "<f4"))',
      'np.save(d + "/f8.npy", np.linspace(-1, 1, 5))',
      'np.save(d + "/u1.npy", np.arange(6, dtype=np.uint8).reshape(3, 2))',
      'np.save(d + "/t.npy", np.arange(6, dtype="<f4").reshape(2, 3).T)',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, folder], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    for (const name of ['a.npy', 's.npy', 'l.npy']) {
      const original = readFileSync(join(folder, name));
      expect(Buffer.from(encodeNpy(readNpy(original, name)))).toEqual(original);
    }
    const a = readNpy(readFileSync(join(folder, 'a.npy')));
    expect(a.dims).toEqual([2, 3, 4]);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 24 }, (_, i) => Math.fround(i / 7)));
    expect(Array.from(readNpy(readFileSync(join(folder, 'f8.npy'))).data)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(Array.from(readNpy(readFileSync(join(folder, 'u1.npy'))).data)).toEqual([0, 1, 2, 3, 4, 5]);
    // numpy saves a transposed view in Fortran order
    expect(rejected(readFileSync(join(folder, 't.npy')), 't.npy').message).toMatch(/Fortran order/);
  });
});
