// The session base both onnxruntime adapters share, over a stand-in InferenceSession (onnxruntime-common's own
// Tensor class, no runtime): float16 feeds and outputs, output names, release, and the corrupt-model error.
import { Tensor } from 'onnxruntime-common';
import type { InferenceSession } from 'onnxruntime-common';
import { VaeError, VaeTensor, float16ToFloat32, float32ToFloat16 } from '@onnx-vae/core';
import { GRAPH_OPTIMIZATION_LEVELS, OrtSession, createOrtSession, isCorruptModelMessage, optionChoice, optionalInteger } from '../src/index';

type Feeds = Record<string, Tensor>;

/** A graph x -> y (y = 2x) with x of `inputType`, y of `outputType`, recording each call's feeds and fetches. */
function standIn(
  inputType: 'float32' | 'float16',
  outputType: 'float32' | 'float16' | 'int64',
): InferenceSession & { calls: { feeds: Feeds; fetches: unknown }[]; released: boolean } {
  const calls: { feeds: Feeds; fetches: unknown }[] = [];
  const session = {
    calls,
    released: false,
    inputNames: ['x'],
    outputNames: ['y', 'extra'],
    inputMetadata: [{ name: 'x', isTensor: true, type: inputType, shape: ['batch', 2] }],
    outputMetadata: [
      { name: 'y', isTensor: true, type: outputType, shape: ['batch', 2] },
      { name: 'extra', isTensor: false },
    ],
    async run(feeds: Feeds, fetches?: unknown) {
      calls.push({ feeds, fetches });
      const x = feeds.x!;
      const values = Array.from(x.type === 'float16' ? float16ToFloat32(x.data as Uint16Array) : (x.data as Float32Array), (v) => 2 * v);
      const y =
        outputType === 'float32'
          ? new Tensor('float32', Float32Array.from(values), x.dims)
          : outputType === 'float16'
            ? new Tensor('float16', float32ToFloat16(Float32Array.from(values)), x.dims)
            : new Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(Math.round(v)))), x.dims);
      return { y };
    },
    async release() {
      session.released = true;
    },
  };
  return session as unknown as ReturnType<typeof standIn>;
}

const labels = { runtime: 'onnxruntime-test', role: 'encoder' as const };
const x = new VaeTensor(Float32Array.of(0.1, 1, 2, 3), [2, 2]);

describe('OrtSession', () => {
  it('reports graph info, feeds float32 as is, and fetches only the outputs asked for', async () => {
    const inner = standIn('float32', 'float32');
    const session = new OrtSession(inner, { Tensor }, labels);
    expect(session.inputs).toEqual([{ name: 'x', type: 'float32', shape: ['batch', 2] }]);
    expect(session.outputs).toEqual([
      { name: 'y', type: 'float32', shape: ['batch', 2] },
      { name: 'extra', type: 'non-tensor' },
    ]);
    const { y } = await session.run({ x }, ['y']);
    expect(y).toBeInstanceOf(VaeTensor);
    expect(Array.from(y!.data)).toEqual([0.2, 2, 4, 6].map((v) => Math.fround(v)));
    expect(y!.dims).toEqual([2, 2]);
    expect(inner.calls[0]!.feeds.x!.type).toBe('float32');
    expect(inner.calls[0]!.fetches).toEqual(['y']);
  });

  it('rounds feeds of a float16 input and widens float16 outputs', async () => {
    const inner = standIn('float16', 'float16');
    const { y } = await new OrtSession(inner, { Tensor }, labels).run({ x }, ['y']);
    expect(inner.calls[0]!.feeds.x!.type).toBe('float16');
    // x rounded to float16 on the way in, 2x rounded to float16 on the way out, widened exactly.
    const half = (values: number[]): number[] => Array.from(float16ToFloat32(float32ToFloat16(Float32Array.from(values))));
    expect(Array.from(y!.data)).toEqual(half(half([0.1, 1, 2, 3]).map((v) => 2 * v)));
    expect(y!.data[0]).not.toBe(Math.fround(0.2));
  });

  it('names an output of another element type, a missing output, and a released session', async () => {
    const session = new OrtSession(standIn('float32', 'int64'), { Tensor }, labels);
    await expect(session.run({ x }, ['y'])).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: 'Output "y" is int64; onnx-vae reads float32 and float16 outputs.',
    });
    const float = new OrtSession(standIn('float32', 'float32'), { Tensor }, labels);
    await expect(float.run({ x }, ['z'])).rejects.toMatchObject({ code: 'INFERENCE_FAILED', message: 'onnxruntime-test returned no output "z".' });
    await float.release();
    await float.release();
    await expect(float.run({ x }, ['y'])).rejects.toMatchObject({ code: 'DISPOSED', message: 'This onnxruntime-test session was released.' });
  });
});

describe('createOrtSession', () => {
  it('maps a parse failure to MODEL_FILE_CORRUPT and passes an execution provider failure through', async () => {
    const corrupt = await createOrtSession(
      () => Promise.reject(new Error('Load model from m.onnx failed: Protobuf parsing failed.\nmore')),
      'onnxruntime',
      '/m/encoder.onnx',
    ).catch((e: unknown) => e);
    expect(VaeError.isInstance(corrupt) && corrupt.code).toBe('MODEL_FILE_CORRUPT');
    expect((corrupt as Error).message).toBe(
      'onnxruntime could not load /m/encoder.onnx: Load model from m.onnx failed: Protobuf parsing failed.. Check that the file is a complete ONNX model (re-export or re-download it).',
    );
    const provider = new Error('Failed to load shared library for the CUDA execution providers');
    await expect(createOrtSession(() => Promise.reject(provider), 'onnxruntime', 'x')).rejects.toBe(provider);
    expect(isCorruptModelMessage('opset 99 is not supported')).toBe(true);
  });
});

describe('option checks', () => {
  it.each([
    [
      () => optionChoice('fast', 'graphOptimizationLevel', GRAPH_OPTIMIZATION_LEVELS, 'all'),
      'Expected "graphOptimizationLevel" to be one of "disabled", "basic", "extended", "all" but received "fast".',
    ],
    [() => optionalInteger(-1, 'intraOpNumThreads', 0), 'Expected "intraOpNumThreads" to be a non-negative integer but received -1.'],
    [() => optionalInteger(0, 'numThreads', 1), 'Expected "numThreads" to be a positive integer but received 0.'],
  ])('%#: INVALID_OPTION listing what is valid', (check, message) => {
    expect(check).toThrow(message);
  });
  it('fills the default', () => {
    expect(optionChoice(undefined, 'graphOptimizationLevel', GRAPH_OPTIMIZATION_LEVELS, 'all')).toBe('all');
    expect(optionalInteger(undefined, 'numThreads', 1)).toBeUndefined();
  });
});
