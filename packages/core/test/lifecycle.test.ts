// The safe lifecycle of a Vae on the mock backend (issue 10, item 3): dispose() with calls in flight rejects them
// with DISPOSED and releases the sessions only after the runs already started; a long call stops between its graph
// runs once its signal aborts (score's decoder chunks, batches over maxBatch); inputs are copied at call time.
import { LinearVae, MOCK_MODELS, MOCK_SOURCE, MockBackend, createMockVae, errorOf, goldenTensor, mockGolden, wrapBackend } from '@onnx-vae/core/testing';
import { createVae } from '../src/index';
import type { Backend } from '../src/index';

const DISPOSED = { code: 'DISPOSED', message: 'The VAE "linear-probs" was disposed; load it again with loadVae().' };
const ABORTED = { code: 'ABORTED', message: 'The call was aborted by its signal.' };
const x5 = () => goldenTensor(mockGolden('mock/linear-probs', 5), 'x');

/** The mock backend with runs that take `ms` and a log of what happened, for overlapping dispose with runs. */
function slowBackend(ms: number): { backend: Backend; mock: MockBackend; log: string[] } {
  const mock = new MockBackend(new LinearVae(MOCK_MODELS['mock/linear-probs']));
  const log: string[] = [];
  const backend = wrapBackend(mock, 'slow mock', (session, role) => ({
    run: async (feeds, outputs) => {
      log.push(`${role} run started`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      const result = await session.run(feeds, outputs);
      log.push(`${role} run finished`);
      return result;
    },
    release: async () => {
      log.push(`${role} released`);
      await session.release();
    },
  }));
  return { backend, mock, log };
}

describe('dispose() with calls in flight', () => {
  it('lets the runs already started finish, rejects what needs another run with DISPOSED, then releases', async () => {
    const { backend, mock, log } = slowBackend(50);
    const vae = await createVae({ manifest: mock.model.manifest(), backend, encoder: MOCK_SOURCE, decoder: MOCK_SOURCE });
    const encoding = vae.encode(x5());
    const generating = vae.generate({ n: 2, seed: 0 });
    const others = [vae.reconstruct(x5()), vae.score(x5(), { samples: 4, seed: 0 })].map((call) => errorOf(call));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const disposed = vae.dispose();
    // encode and generate are one graph run each, already started: they get their results.
    expect((await encoding).mean.dims).toEqual([5, 2]);
    expect((await generating).dims).toEqual([2, 6]);
    // reconstruct and score need the decoder after their encoder run.
    expect(await Promise.all(others)).toEqual([DISPOSED, DISPOSED]);
    await disposed;
    expect(vae.dispose()).toBe(disposed);
    // Every run that started finished before either session was released; no run started after dispose().
    expect(log.slice(0, 4).sort()).toEqual(['decoder run started', 'encoder run started', 'encoder run started', 'encoder run started']);
    expect(log.slice(4, 8).sort()).toEqual(['decoder run finished', 'encoder run finished', 'encoder run finished', 'encoder run finished']);
    expect(log.slice(8)).toEqual(['encoder released', 'decoder released']);
    expect(mock.openSessions).toBe(0);
  });

  it('refuses calls made after dispose() with DISPOSED', async () => {
    const { vae } = await createMockVae('mock/linear-probs');
    await vae.dispose();
    const z = { data: new Float32Array(2), dims: [1, 2] };
    expect(await errorOf(vae.encode(x5()))).toEqual(DISPOSED);
    expect(await errorOf(vae.encodeToDevice(x5()))).toEqual(DISPOSED);
    expect(await errorOf(vae.decode(z))).toEqual(DISPOSED);
    expect(await errorOf(vae.reconstruct(x5()))).toEqual(DISPOSED);
    expect(await errorOf(vae.score(x5()))).toEqual(DISPOSED);
    expect(await errorOf(vae.generate())).toEqual(DISPOSED);
    expect(await errorOf(vae.interpolate(z, z))).toEqual(DISPOSED);
  });
});

describe('a long call stops between its graph runs when its signal aborts', () => {
  it('score with large k: no decoder chunk starts after the abort', async () => {
    const { vae, backend } = await createMockVae('mock/linear-probs', { maxBatch: 5 });
    const controller = new AbortController();
    const caught = await errorOf(vae.score(x5(), { samples: 100, seed: 0, signal: controller.signal, onProgress: () => controller.abort() }));
    expect(caught).toEqual(ABORTED);
    // The encoder, the decoder of the mean, and the first chunk of 5 of the 500 sample rows.
    expect(backend.runs.map((run) => `${run.graph} ${run.batch}`)).toEqual(['encoder 5', 'decoder 5', 'decoder 5']);
  });

  it('a batch over maxBatch: no chunk starts after the abort', async () => {
    const { vae, backend } = await createMockVae('mock/linear-probs', { maxBatch: 2 });
    const controller = new AbortController();
    const caught = await errorOf(vae.encode(x5(), { signal: controller.signal, onProgress: () => controller.abort() }));
    expect(caught).toEqual(ABORTED);
    expect(backend.runs.map((run) => `${run.graph} ${run.batch}`)).toEqual(['encoder 2']);
  });

  it('a signal aborted before the call: no graph runs', async () => {
    const { vae, backend } = await createMockVae('mock/linear-probs');
    expect(await errorOf(vae.decode({ data: new Float32Array(2), dims: [1, 2] }, { signal: AbortSignal.abort() }))).toEqual(ABORTED);
    expect(backend.runs).toEqual([]);
  });
});

describe('inputs are copied at call time', () => {
  it('changing the Float32Array after calling does not change the result', async () => {
    const { vae } = await createMockVae('mock/linear-probs');
    const x = x5();
    const expected = await vae.reconstruct({ data: x.data.slice(), dims: x.dims });
    const given = { data: x.data.slice(), dims: [...x.dims] };
    const pending = vae.reconstruct(given);
    given.data.fill(0.5);
    expect((await pending).data).toEqual(expected.data);

    const z = { data: Float32Array.of(0.25, -1), dims: [1, 2] };
    const decoded = await vae.decode({ data: z.data.slice(), dims: z.dims });
    const decoding = vae.decode(z);
    z.data.fill(3);
    expect((await decoding).data).toEqual(decoded.data);
  });
});
