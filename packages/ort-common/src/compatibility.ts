/**
 * Build-time checks that onnxruntime-common's types fit the structural ones of `types.ts` (so that any runtime's
 * module and sessions can be handed to the session base). Not exported from the package: consumers never load
 * onnxruntime's declarations through it.
 *
 * @internal
 */
import type { InferenceSession, TensorConstructor } from 'onnxruntime-common';
import type { OrtInferenceSession, OrtTensorConstructor } from './types.js';

type Fits<T, U> = [T] extends [U] ? true : false;
type Assert<T extends true> = T;

/** @internal */
export type SessionFits = Assert<Fits<InferenceSession, OrtInferenceSession>>;
/** @internal */
export type TensorConstructorFits = Assert<Fits<TensorConstructor, OrtTensorConstructor>>;
