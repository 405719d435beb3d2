// encodeNpy with dtype <f2 writes what numpy.save writes for a float16 array; parseNpy reads it back.
import { float16ToFloat32, float32ToFloat16 } from '@onnx-vae/core';
import { encodeNpy, parseNpy } from '../src/npy';

describe('float16 .npy', () => {
  it('writes a <f2 header and the float16 roundings, and reads them back', () => {
    const values = Float32Array.of(0.1, -3, 1000.5, 2 ** -20);
    const bytes = encodeNpy({ data: values, dims: [2, 2] }, { dtype: '<f2' });
    const header = new TextDecoder('latin1').decode(bytes.subarray(10, 10 + new DataView(bytes.buffer).getUint16(8, true)));
    expect(header.startsWith("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }")).toBe(true);
    expect((10 + header.length) % 64).toBe(0);
    expect(bytes.length).toBe(10 + header.length + 8);
    const { dtype, tensor } = parseNpy(bytes);
    expect(dtype).toBe('<f2');
    expect(tensor.dims).toEqual([2, 2]);
    expect(Array.from(tensor.data)).toEqual(Array.from(float16ToFloat32(float32ToFloat16(values))));
  });
});
