/**
 * Small named predicates for options and backend metadata, shared by the runtime adapters (one copy, used at the
 * public boundary only).
 *
 * @internal
 */
import { BackendError } from './errors.js';
import { float16ToFloat32, float32ToFloat16 } from './tensor/float16.js';
import type { TensorInfo } from './manifest/types.js';
import type { VaeTensor } from './tensor/tensor.js';

// optionChoice moved to validate.ts (one set of boundary checks); re-exported here for the runtime adapters.
export { optionChoice } from './validate.js';

/**
 * What onnxruntime (node or web) reports about a graph's inputs or outputs, as core's {@link TensorInfo}.
 *
 * @internal
 */
export function tensorInfoFromOrt(metadata: readonly { readonly name: string; readonly isTensor: boolean; readonly type?: string; readonly shape?: readonly (number | string)[] }[]): TensorInfo[] {
  return metadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...(m.shape ?? [])] } : { name: m.name, type: 'non-tensor' }));
}

/** onnxruntime graph optimisation levels (both runtime adapters take them). */
export const GRAPH_OPTIMIZATION_LEVELS = Object.freeze({ disabled: 'disabled', basic: 'basic', extended: 'extended', all: 'all' } as const);
/** One of {@link GRAPH_OPTIMIZATION_LEVELS}. */
export type GraphOptimizationLevel = keyof typeof GRAPH_OPTIMIZATION_LEVELS;

/**
 * Whether onnxruntime's error on creating a session says the model bytes are bad (not an execution provider that
 * failed to load), so the adapter reports `MODEL_FILE_CORRUPT`.
 */
export function isCorruptModelMessage(message: string): boolean {
  return /protobuf|parsing|Load model|invalid model|ModelProto|opset/i.test(message) && !/providers|shared library|Cuda/i.test(message);
}

/** The input types of a graph that need converting: names of its float16 inputs. */
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
