/**
 * Conversions between onnxruntime's tensors and metadata and core's: graph info, float16 feeds, float32 outputs.
 */
import { BackendError, float16ToFloat32, float32ToFloat16 } from '@onnx-vae/core';
import type { TensorInfo, VaeTensor } from '@onnx-vae/core';
import type { OrtValueMetadata } from './types.js';

/** What onnxruntime (node or web) reports about a graph's inputs or outputs, as core's {@link TensorInfo}. */
export function tensorInfoFromOrt(metadata: readonly OrtValueMetadata[]): TensorInfo[] {
  return metadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...(m.shape ?? [])] } : { name: m.name, type: 'non-tensor' }));
}

/** The names of a graph's float16 inputs (their feeds are rounded from float32). */
export function float16Inputs(inputs: readonly TensorInfo[]): ReadonlySet<string> {
  return new Set(inputs.filter((input) => input.type === 'float16').map((input) => input.name));
}

/**
 * An onnxruntime feed's type and data for a float32 tensor: as is, or rounded to float16 (binary16 bits) for a graph
 * input of element type float16.
 */
export function ortFeedData(tensor: VaeTensor, float16: boolean): { readonly type: 'float32' | 'float16'; readonly data: Float32Array | Uint16Array } {
  return float16 ? { type: 'float16', data: float32ToFloat16(tensor.data) } : { type: 'float32', data: tensor.data };
}

/**
 * float32 values of an onnxruntime output: float32 as is, float16 (binary16 bits in a Uint16Array, or a
 * Float16Array where the engine has one) widened exactly.
 *
 * @throws {@link BackendError} `INFERENCE_FAILED` for any other element type
 */
export function ortOutputData(name: string, type: string, data: unknown): Float32Array {
  if (type === 'float32') return data as Float32Array;
  if (type === 'float16') return data instanceof Uint16Array ? float16ToFloat32(data) : Float32Array.from(data as ArrayLike<number>);
  throw new BackendError('INFERENCE_FAILED', `Output "${name}" is ${type}; onnx-vae reads float32 and float16 outputs.`);
}
