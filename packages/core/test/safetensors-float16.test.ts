// encodeSafetensors with dtype F16: the header says F16, the data are the float16 roundings, and the reader widens
// them back exactly.
import { VaeTensor, decodeSafetensors, encodeSafetensors, float16ToFloat32, float32ToFloat16 } from '@onnx-vae/core';
import { errorOf } from '@onnx-vae/core/testing';

describe('encodeSafetensors with dtype F16', () => {
  it('writes F16 data that read back as the float16 rounding of the input', () => {
    const values = Float32Array.of(0, 1, -2.5, 0.1, 65504, 1e-8, 3.14159);
    const bytes = encodeSafetensors({ x: new VaeTensor(values, [7]) }, { keys: '["a"]' }, { dtype: 'F16' });
    const length = new DataView(bytes.buffer).getUint32(0, true);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + length)).trimEnd()).toBe(
      '{"__metadata__":{"keys":"[\\"a\\"]"},"x":{"dtype":"F16","shape":[7],"data_offsets":[0,14]}}',
    );
    expect(bytes.length).toBe(8 + length + 14);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ keys: '["a"]' });
    expect(Array.from(tensors.x!.data)).toEqual(Array.from(float16ToFloat32(float32ToFloat16(values))));
  });

  it('refuses another dtype, listing the valid ones', () => {
    expect(errorOf(() => encodeSafetensors({}, undefined, { dtype: 'BF16' as 'F16' }))).toEqual({
      code: 'INVALID_OPTION',
      message: 'Expected "dtype" to be one of "F32", "F16" but received "BF16".',
    });
  });
});
