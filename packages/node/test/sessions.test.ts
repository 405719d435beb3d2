// What loadVae hands onnxruntime-node: the default session options (memory pattern off), and sessions created only
// for the graphs used; and the graph metadata read without a session against what onnxruntime reports.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { tensorInfoFromOrt } from '@onnx-vae/ort-common';
import { WorkerPoolBackend, loadVae, openRandomAccessFile, readOnnxGraphInfo } from '../src/index';

const MODELS = join(__dirname, '..', '..', '..', 'models');
const FIXTURE = join(MODELS, 'fixtures', 'mlp-probs');

/** Every InferenceSession.create call: the graph and the options. */
function spyCreate(): { calls: () => { graph: string; options: ort.InferenceSession.SessionOptions }[]; restore: () => void } {
  const spy = jest.spyOn(ort.InferenceSession, 'create');
  return {
    calls: () => spy.mock.calls.map((call) => ({ graph: String(call[0]).split('/').pop()!, options: call[1] as ort.InferenceSession.SessionOptions })),
    restore: () => spy.mockRestore(),
  };
}

describe('loadVae session options', () => {
  it('turns the memory pattern off by default and keeps the arena', async () => {
    const spy = spyCreate();
    try {
      const vae = await loadVae(FIXTURE, { preload: ['encoder', 'decoder'] });
      const calls = spy.calls();
      expect(calls.map((c) => c.graph)).toEqual(['encoder.onnx', 'decoder.onnx']);
      for (const { options } of calls) {
        expect(options.enableMemPattern).toBe(false);
        expect(options.enableCpuMemArena).toBeUndefined();
      }
      await vae.dispose();
    } finally {
      spy.restore();
    }
  });

  it('lets the caller turn it back on', async () => {
    const spy = spyCreate();
    try {
      const vae = await loadVae(FIXTURE, { enableMemPattern: true, preload: ['decoder'] });
      expect(spy.calls().map((c) => [c.graph, c.options.enableMemPattern])).toEqual([['decoder.onnx', true]]);
      await vae.dispose();
    } finally {
      spy.restore();
    }
  });
});

describe('loadVae sessions for the graphs used', () => {
  it('creates no session at load on the CPU; decode-only use never creates the encoder', async () => {
    const spy = spyCreate();
    try {
      const vae = await loadVae(FIXTURE);
      expect(spy.calls()).toEqual([]);
      const y = await vae.decode({ data: new Float32Array(4), dims: [2, 2] });
      expect(y.dims).toEqual([2, 6]);
      await vae.generate({ n: 2, seed: 0 });
      expect(spy.calls().map((c) => c.graph)).toEqual(['decoder.onnx']);
      await vae.dispose();
    } finally {
      spy.restore();
    }
  });

  it('gives the same numbers lazily as with both sessions preloaded', async () => {
    const x = { data: Float32Array.from([0, 0.2, 0.4, 0.6, 0.8, 1]), dims: [1, 6] };
    const lazy = await loadVae(FIXTURE);
    const eager = await loadVae(FIXTURE, { preload: ['encoder', 'decoder'] });
    try {
      expect((await lazy.reconstruct(x)).data).toEqual((await eager.reconstruct(x)).data);
      const [a, b] = [await lazy.score(x, { samples: 4, seed: 3 }), await eager.score(x, { samples: 4, seed: 3 })];
      expect(a.logLikelihood).toEqual(b.logLikelihood);
    } finally {
      await Promise.all([lazy.dispose(), eager.dispose()]);
    }
  });
});

describe('sessions for the graphs used, with worker threads and batching', () => {
  it('decode-only use with workers creates no encoder session in any worker', async () => {
    const spy = jest.spyOn(WorkerPoolBackend.prototype, 'createSession');
    try {
      const vae = await loadVae(FIXTURE, { workers: 2, batching: { maxBatchSize: 8 } });
      expect(spy.mock.calls).toEqual([]);
      const outputs = await Promise.all([0, 1, 2].map((seed) => vae.generate({ n: 2, seed })));
      expect(outputs.map((y) => y.dims)).toEqual([
        [2, 6],
        [2, 6],
        [2, 6],
      ]);
      expect(spy.mock.calls.map((call) => call[1])).toEqual(['decoder']);
      await vae.dispose();
    } finally {
      spy.mockRestore();
    }
  });
});

function onnxFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? onnxFiles(path) : name.endsWith('.onnx') ? [path] : [];
  });
}

describe('readOnnxGraphInfo against onnxruntime-node', () => {
  it.each(onnxFiles(MODELS).map((path) => [path.slice(MODELS.length + 1), path]))(
    '%s: the same inputs and outputs, reading a fraction of the file',
    async (_name, path) => {
      const file = await openRandomAccessFile(path);
      let read = 0;
      const counted = { ...file, read: (position: number, length: number) => file.read(position, length).then((b) => ((read += b.length), b)) };
      const info = await readOnnxGraphInfo(counted, path).finally(() => file.close());
      const session = await ort.InferenceSession.create(path);
      try {
        expect(info).toEqual({ inputs: tensorInfoFromOrt(session.inputMetadata), outputs: tensorInfoFromOrt(session.outputMetadata) });
      } finally {
        await session.release();
      }
      // Weights are skipped: at most one 16 KiB window per initializer and a few for the rest.
      if (file.size > 1 << 20) expect(read).toBeLessThan(file.size / 4);
    },
  );
});
