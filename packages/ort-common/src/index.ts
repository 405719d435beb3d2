/**
 * `@onnx-vae/ort-common`: what onnx-vae's onnxruntime adapters (`@onnx-vae/node`, `@onnx-vae/web`) share, typed
 * structurally against onnxruntime's API (`types.ts`, checked against `onnxruntime-common` at build time) and
 * importing no runtime: the session base ({@link OrtSession}: float16 feeds, outputs
 * as core's float32 tensors, graph info), session creation with corrupt-model errors, and the option tables and
 * checks. A new onnxruntime backend is a {@link Backend} whose `createSession` wraps its runtime's session here.
 *
 * @example
 * import * as ort from 'onnxruntime-react-native';
 * import { OrtSession, createOrtSession } from '@onnx-vae/ort-common';
 * const session = await createOrtSession(() => ort.InferenceSession.create(bytes), 'onnxruntime', 'encoder bytes');
 * const encoder = new OrtSession(session, ort, { runtime: 'onnxruntime', role: 'encoder' });
 *
 * @packageDocumentation
 */
export * from './types.js';
export * from './options.js';
export * from './convert.js';
export * from './session.js';
