/**
 * The script of each session worker thread (run by piscina): loads each graph once per worker, on its first task,
 * and runs it. Outputs are transferred back, not copied; errors come back serialized.
 */
import { VaeTensor, serializeError } from '@onnx-vae/core';
import type { BackendSession } from '@onnx-vae/core';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { OrtNodeBackend } from '../ort-backend.js';
import type { WireTensor, WorkerData, WorkerResult, WorkerTask } from './protocol.js';

const backend = new OrtNodeBackend((workerData as WorkerData).ort);
const sessions = new Map<string, Promise<BackendSession>>();

function open(task: WorkerTask): Promise<BackendSession> {
  let session = sessions.get(task.graph);
  if (session === undefined) {
    const source = 'path' in task.source ? { path: task.source.path } : { bytes: new Uint8Array(task.source.shared).slice() };
    session = backend.createSession(source, task.role);
    sessions.set(task.graph, session);
    session.catch(() => sessions.delete(task.graph));
  }
  return session;
}

/** Runs one task; the default export piscina calls. */
export default async function handle(task: WorkerTask): Promise<unknown> {
  try {
    const session = await open(task);
    if (task.type === 'open') return { info: { inputs: session.inputs, outputs: session.outputs } };
    const feeds: Record<string, VaeTensor> = {};
    for (const name in task.feeds) feeds[name] = new VaeTensor(task.feeds[name]!.data, task.feeds[name]!.dims);
    const results = await session.run(feeds, task.outputs);
    const outputs: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const name in results) {
      const { data, dims } = results[name]!;
      const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer ? data : data.slice();
      outputs[name] = { data: whole, dims: [...dims] };
      transfer.push(whole.buffer as ArrayBuffer);
    }
    const result: WorkerResult = { outputs };
    // Moved, not cloned: the output buffers are handed over to the main thread.
    return move({ [transferableSymbol]: transfer, [valueSymbol]: result } as never);
  } catch (error) {
    return { error: serializeError(error) };
  }
}
