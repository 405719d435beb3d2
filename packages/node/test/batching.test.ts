// Micro-batching (core's batching sessions) on real onnxruntime-node sessions: coalescing, each call's own numbers
// and seeds, isolation of bad inputs and failed runs, the queue limit, abort, timeout, grouping by shape, dispose.
import { join } from 'node:path';
import fc from 'fast-check';
import { OrtNodeBackend, VaeTensor, createVae, loadVae, readManifest } from '../src/index';
import type { BatchEvent, BatchingOptions, NodeVae, Posterior } from '../src/index';
import { errorOf, wrapBackend } from '@onnx-vae/core/testing';
import { KL_F8, MNIST, digits, images } from './synthetic';

// One intra-op thread: onnxruntime then gives the same bits for an item whatever the batch size (measured 0 on
// both models, also at batch 16; see docs/serving.md), so batched results can be compared exactly.
const THREADS = { intraOpNumThreads: 1 };

function expectSamePosterior(actual: Posterior, expected: Posterior): void {
  expect([...actual.mean.dims]).toEqual([...expected.mean.dims]);
  expect(actual.mean.data).toEqual(expected.mean.data);
  expect(actual.logvar.data).toEqual(expected.logvar.data);
}

describe('micro-batching on mnist-vae', () => {
  let plain: NodeVae;
  beforeAll(async () => {
    plain = await loadVae(MNIST, THREADS);
  });
  afterAll(() => plain?.dispose());

  async function batched(batching: BatchingOptions): Promise<{ vae: NodeVae; events: BatchEvent[] }> {
    const events: BatchEvent[] = [];
    const vae = await loadVae(MNIST, { ...THREADS, batching: { ...batching, onBatch: (event) => events.push(event) } });
    return { vae, events };
  }

  it('coalesces concurrent calls into runs of at most maxBatchSize items, each call getting exactly its unbatched result', async () => {
    const { vae, events } = await batched({ maxBatchSize: 8 });
    try {
      const inputs = Array.from({ length: 20 }, (_, i) => digits(1 + (i % 3), i));
      const results = await Promise.all(inputs.map((x) => vae.encode(x)));
      for (let i = 0; i < inputs.length; i++) expectSamePosterior(results[i]!, await plain.encode(inputs[i]!));
      expect(events.every((e) => e.graph === 'encoder' && e.size <= 8 && !e.failed)).toBe(true);
      expect(events.reduce((sum, e) => sum + e.requests, 0)).toBe(20);
      expect(events.reduce((sum, e) => sum + e.size, 0)).toBe(inputs.reduce((sum, x) => sum + x.dims[0]!, 0));
      expect(Math.max(...events.map((e) => e.requests))).toBeGreaterThan(1);
      expect(vae.batching!.stats()).toMatchObject({ queued: 0, running: 0, batches: events.length, requests: 20 });
    } finally {
      await vae.dispose();
    }
  });

  it('keeps each call its own seed and noise, whatever it is batched with (property)', async () => {
    const { vae } = await batched({ maxBatchSize: 16 });
    try {
      const call = fc.oneof(
        fc.record({ kind: fc.constant('encode' as const), item: fc.nat(50), n: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ kind: fc.constant('reconstruct' as const), item: fc.nat(50), n: fc.integer({ min: 1, max: 3 }), seed: fc.nat(1000) }),
        fc.record({
          kind: fc.constant('score' as const),
          item: fc.nat(50),
          n: fc.integer({ min: 1, max: 2 }),
          seed: fc.nat(1000),
          samples: fc.integer({ min: 1, max: 4 }),
        }),
        fc.record({ kind: fc.constant('generate' as const), n: fc.integer({ min: 1, max: 3 }), seed: fc.nat(1000) }),
      );
      type Call = typeof call extends fc.Arbitrary<infer C> ? C : never;
      const runOn = (target: NodeVae, c: Call): Promise<unknown> => {
        switch (c.kind) {
          case 'encode':
            return target.encode(digits(c.n, c.item)).then((q) => [q.mean.data, q.logvar.data]);
          case 'reconstruct':
            return target.reconstruct(digits(c.n, c.item), { sample: true, seed: c.seed }).then((x) => x.data);
          case 'score':
            return target.score(digits(c.n, c.item), { samples: c.samples, seed: c.seed }).then((s) => [s.elbo, s.logLikelihood, s.reconstructionError]);
          case 'generate':
            return target.generate({ n: c.n, seed: c.seed }).then((x) => x.data);
        }
      };
      await fc.assert(
        fc.asyncProperty(fc.array(call, { minLength: 2, maxLength: 12 }), async (calls) => {
          const together = await Promise.all(calls.map((c) => runOn(vae, c)));
          for (let i = 0; i < calls.length; i++) expect(together[i]).toEqual(await runOn(plain, calls[i]!));
        }),
        { numRuns: 12, seed: 11 },
      );
    } finally {
      await vae.dispose();
    }
  });

  it('fails a bad input before it joins a batch, and only that call', async () => {
    const { vae, events } = await batched({});
    try {
      const nan = digits(1, 3);
      nan.data[5] = NaN;
      const calls = [vae.encode(digits(1, 1)), vae.encode(nan), vae.encode({ data: new Float32Array(28 * 28), dims: [1, 28, 28] }), vae.encode(digits(2, 2))];
      const outcomes = await Promise.allSettled(calls);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect((await errorOf(calls[1]!))!.code).toBe('NON_FINITE_INPUT');
      expect(await errorOf(calls[2]!)).toEqual({
        code: 'SHAPE_MISMATCH',
        message: 'Expected data "x" of shape [N, 784] for model "mnist-vae" but received [1, 28, 28]; flatten each 28x28 image to 784 values.',
      });
      expectSamePosterior((outcomes[3] as PromiseFulfilledResult<Posterior>).value, await plain.encode(digits(2, 2)));
      expect(events.reduce((sum, e) => sum + e.requests, 0)).toBe(2);
    } finally {
      await vae.dispose();
    }
  });

  it('refuses calls beyond maxQueue at once with QUEUE_FULL', async () => {
    const { vae } = await batched({ maxBatchSize: 1, maxQueue: 4 });
    try {
      const calls = Array.from({ length: 10 }, (_, i) => vae.encode(digits(1, i)));
      const outcomes = await Promise.all(calls.map((c) => errorOf(c)));
      expect(outcomes.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
      for (const outcome of outcomes.slice(4)) {
        expect(outcome).toEqual({
          code: 'QUEUE_FULL',
          message: 'The request queue is full (4 calls waiting, batching.maxQueue); retry later, or raise maxQueue or the throughput (workers, maxBatchSize).',
        });
      }
      expect(vae.batching!.stats().rejected).toBe(6);
    } finally {
      await vae.dispose();
    }
  });

  it('removes an aborted call from its batch before it runs, and rejects it with ABORTED', async () => {
    const { vae, events } = await batched({ maxBatchSize: 8 });
    try {
      const controller = new AbortController();
      const calls = Array.from({ length: 6 }, (_, i) => vae.encode(digits(1, i), i === 2 ? { signal: controller.signal } : {}));
      controller.abort();
      const outcomes = await Promise.all(calls.map((c) => errorOf(c)));
      expect(outcomes[2]).toEqual({ code: 'ABORTED', message: 'The call was aborted by its signal.' });
      expect(outcomes.filter((o) => o === undefined)).toHaveLength(5);
      expect(events.map((e) => e.requests)).toEqual([5]);
      const already = new AbortController();
      already.abort();
      expect((await errorOf(vae.decode({ data: new Float32Array(50), dims: [1, 50] }, { signal: already.signal })))!.code).toBe('ABORTED');
    } finally {
      await vae.dispose();
    }
  });

  it('rejects a graph failure for exactly the calls in that run', async () => {
    // The real onnxruntime session, made to fail on a marked item (a runtime fault cannot be provoked on demand).
    const backend = wrapBackend(new OrtNodeBackend(THREADS), 'failing on a marked item', (session) => ({
      run: (feeds, outputs) =>
        Object.values(feeds).some((t) => t.data.includes(0.5)) ? Promise.reject(new Error('marked item')) : session.run(feeds, outputs),
    }));
    const manifest = await readManifest(MNIST);
    const events: BatchEvent[] = [];
    const vae = await createVae({
      manifest,
      backend,
      encoder: { path: join(MNIST, 'encoder.onnx') },
      decoder: { path: join(MNIST, 'decoder.onnx') },
      batching: { maxBatchSize: 4, onBatch: (e) => events.push(e) },
    });
    try {
      const inputs = Array.from({ length: 8 }, (_, i) => digits(1, i));
      inputs[1]!.data[0] = 0.5;
      const outcomes = await Promise.all(inputs.map((x) => errorOf(vae.encode(x))));
      expect(outcomes.slice(0, 4).map((o) => o?.code)).toEqual(['INFERENCE_FAILED', 'INFERENCE_FAILED', 'INFERENCE_FAILED', 'INFERENCE_FAILED']);
      expect(outcomes[0]!.message).toBe('The encoder of "mnist-vae" failed on a batch of dims [1, 784]: marked item');
      expect(outcomes.slice(4)).toEqual([undefined, undefined, undefined, undefined]);
      expect(events.map((e) => [e.size, e.failed])).toEqual([
        [4, true],
        [4, false],
      ]);
    } finally {
      await vae.dispose();
    }
  });

  it('rejects queued calls with DISPOSED on dispose, and lets the running batch finish', async () => {
    const { vae } = await batched({ maxBatchSize: 2 });
    const settled = Promise.all(Array.from({ length: 6 }, (_, i) => errorOf(vae.encode(digits(1, i)))));
    await new Promise((resolve) => setImmediate(resolve));
    await vae.dispose();
    const outcomes = await settled;
    expect(outcomes.slice(0, 2)).toEqual([undefined, undefined]);
    expect(outcomes.slice(2).map((o) => o?.code)).toEqual(['DISPOSED', 'DISPOSED', 'DISPOSED', 'DISPOSED']);
    expect((await errorOf(vae.encode(digits(1, 0))))!.code).toBe('DISPOSED');
  });

  it.each([
    [{ maxBatchSize: 0 }, 'batching.maxBatchSize', 'Expected "batching.maxBatchSize" to be an integer of at least 1 but received 0.'],
    [{ maxDelayMs: -1 }, 'batching.maxDelayMs', 'Expected "batching.maxDelayMs" to be a number of milliseconds from 0 to 60000 but received -1.'],
    [{ maxQueue: 1.5 }, 'batching.maxQueue', 'Expected "batching.maxQueue" to be an integer of at least 0 but received 1.5.'],
  ])('refuses batching option %j', async (batching, option, message) => {
    const error = await loadVae(MNIST, { batching }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_OPTION', option, message });
  });

  it('refuses a bad timeoutMs', async () => {
    expect(await errorOf(plain.encode(digits(1, 0), { timeoutMs: 0 }))).toEqual({
      code: 'INVALID_OPTION',
      message: 'Expected "timeoutMs" to be a positive number of milliseconds (at most 2147483647) but received 0.',
    });
  });
});

describe('micro-batching on kl-f8', () => {
  let plain: NodeVae;
  let vae: NodeVae;
  const events: BatchEvent[] = [];
  beforeAll(async () => {
    plain = await loadVae(KL_F8, THREADS);
    vae = await loadVae(KL_F8, { ...THREADS, batching: { maxBatchSize: 8, maxDelayMs: 5, onBatch: (e) => events.push(e) } });
  });
  afterAll(async () => {
    await plain?.dispose();
    await vae?.dispose();
  });
  beforeEach(() => {
    events.length = 0;
  });

  it('groups items by shape, never padding: 32x32 and 64x64 images run in separate batches', async () => {
    const inputs = [images(1, 32, 0), images(1, 64, 1), images(2, 32, 2), images(1, 64, 3), images(1, 32, 4)];
    const results = await Promise.all(inputs.map((x) => vae.encode(x)));
    for (let i = 0; i < inputs.length; i++) expectSamePosterior(results[i]!, await plain.encode(inputs[i]!));
    expect(events.map((e) => [e.requests, e.size]).sort()).toEqual([
      [2, 2],
      [3, 4],
    ]);
  });

  it('times a call out with TIMEOUT while it waits behind a running batch, and drops it from the queue', async () => {
    const first = vae.decode(new VaeTensor(new Float32Array(4 * 16 * 16), [1, 4, 16, 16]));
    const late = new VaeTensor(new Float32Array(4 * 8 * 8), [1, 4, 8, 8]);
    const timed = vae.decode(late, { timeoutMs: 1 });
    expect(await errorOf(timed)).toEqual({
      code: 'TIMEOUT',
      message: 'The call did not finish within its timeoutMs of 1 ms; raise "timeoutMs", or lower the load.',
    });
    await first;
    expect(events.reduce((sum, e) => sum + e.requests, 0)).toBe(1);
  });
});
