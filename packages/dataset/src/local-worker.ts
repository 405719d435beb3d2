/**
 * A local worker process of `encodeDataset({ workers: N })`: loads the model once, then encodes the shards its
 * parent sends over IPC, reporting progress. Started by local-pool.ts with `child_process.fork`.
 */
import type { LoadVaeOptions } from '@onnx-vae/node';
import type { DatasetSpec } from './manifest.js';
import { createShardRunner } from './shard-runner.js';
import type { ShardTask } from './shard.js';

/** Parent -> worker. @internal */
export interface TaskMessage {
  readonly type: 'task';
  readonly task: ShardTask;
  readonly spec: DatasetSpec;
  readonly out: string;
}

/** Worker -> parent. @internal */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly file: string; readonly done: number; readonly errors: number }
  | { readonly type: 'done'; readonly file: string; readonly items: number; readonly errors: number; readonly skipped: boolean }
  | { readonly type: 'failed'; readonly file: string; readonly message: string };

const [model, options] = [process.argv[2]!, JSON.parse(process.argv[3] ?? '{}') as LoadVaeOptions];
const send = (message: WorkerMessage): void => void process.send!(message);
const runner = await createShardRunner(model, options);
process.on('message', (message: TaskMessage | { type: 'exit' }) => {
  if (message.type === 'exit') {
    void runner.dispose().then(() => process.disconnect());
    return;
  }
  const { task, spec, out } = message;
  runner.run(task, spec, out, { onProgress: (p) => send({ type: 'progress', file: task.file, done: p.done, errors: p.errors }) }).then(
    ({ record, skipped }) => send({ type: 'done', file: task.file, items: record.items, errors: record.errors.length, skipped }),
    (error: Error) => send({ type: 'failed', file: task.file, message: error.message }),
  );
});
send({ type: 'ready' });
