// The safe lifecycle on real onnxruntime-node sessions (models/kl-f8, where a 512x512 decode takes long enough to
// overlap): dispose() with a decode in flight rejects it with DISPOSED (onnxruntime itself would fail the run with
// "Session already disposed."), and tiled encode/decode stop between tiles when their signal aborts.
import { OrtNodeBackend, folderModelStore, loadModel, loadVae } from '../src/index';
import type { Backend } from '../src/index';
import { errorOf, testFixtures } from '@onnx-vae/core/testing';

const KL_F8 = testFixtures(__dirname).model('kl-f8');
const DISPOSED = { code: 'DISPOSED', message: 'The VAE "kl-f8" was disposed; load it again with loadVae().' };
const ABORTED = { code: 'ABORTED', message: 'The call was aborted by its signal.' };

function latent(height: number, width: number) {
  return { data: Float32Array.from({ length: 4 * height * width }, (_, i) => Math.sin(i / 7)), dims: [1, 4, height, width] };
}

/** onnxruntime-node with every graph run counted. */
function countingBackend(): { backend: Backend; runs: string[] } {
  const ort = new OrtNodeBackend();
  const runs: string[] = [];
  const backend: Backend = {
    specificationVersion: 'v1',
    name: ort.name,
    async createSession(source, role) {
      const session = await ort.createSession(source, role);
      return {
        inputs: session.inputs,
        outputs: session.outputs,
        run: (feeds, outputs, options) => {
          runs.push(role);
          return session.run(feeds, outputs, options);
        },
        release: () => session.release(),
      };
    },
  };
  return { backend, runs };
}

describe('dispose() on onnxruntime-node', () => {
  // onnxruntime-node queues each run with setImmediate and then runs it on the main thread; releasing the session
  // while a run was still queued failed that call with INFERENCE_FAILED "Session already disposed." (issue 10, item 3).
  // Now the runs already queued finish and the sessions are released after them.
  it('lets runs onnxruntime has queued finish (never INFERENCE_FAILED), then refuses calls with DISPOSED', async () => {
    const vae = await loadVae(KL_F8);
    const first = vae.decode(latent(32, 32));
    const second = vae.decode(latent(32, 32));
    const third = errorOf(vae.reconstruct({ data: new Float32Array(3 * 128 * 128), dims: [1, 3, 128, 128] }));
    expect((await first).dims).toEqual([1, 3, 256, 256]);
    // The second decode and the reconstruct's encoder run are still queued in onnxruntime here.
    const disposed = vae.dispose();
    expect((await second).dims).toEqual([1, 3, 256, 256]);
    // reconstruct needs the decoder after its encoder run.
    expect(await third).toEqual(DISPOSED);
    await disposed;
    expect(await errorOf(vae.decode(latent(8, 8)))).toEqual(DISPOSED);
    expect(await errorOf(vae.encode({ data: new Float32Array(3 * 64), dims: [1, 3, 8, 8] }))).toEqual(DISPOSED);
  });

  it('rejects a score between its decoder chunks with DISPOSED', async () => {
    const vae = await loadVae(KL_F8, { maxBatch: 4 });
    let disposed: Promise<void> | undefined;
    const x = { data: new Float32Array(3 * 32 * 32).fill(0.2), dims: [1, 3, 32, 32] };
    const caught = await errorOf(vae.score(x, { samples: 64, seed: 0, onProgress: () => void (disposed ??= vae.dispose()) }));
    expect(caught).toEqual(DISPOSED);
    await disposed;
  });

  it('with worker threads: a score in flight rejects with DISPOSED at its next run', async () => {
    const vae = await loadVae(KL_F8, { workers: 1, maxBatch: 4 });
    const scoring = errorOf(vae.score({ data: new Float32Array(3 * 32 * 32).fill(0.2), dims: [1, 3, 32, 32] }, { samples: 64, seed: 0 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await vae.dispose();
    expect(await scoring).toEqual(DISPOSED);
    expect(await errorOf(vae.decode(latent(8, 8)))).toEqual(DISPOSED);
  });

  it('a second load after dispose works (the sessions were released cleanly)', async () => {
    const first = await loadVae(KL_F8);
    const pending = first.reconstruct({ data: new Float32Array(3 * 64 * 64), dims: [1, 3, 64, 64] });
    await first.dispose();
    expect(await errorOf(pending)).toEqual(DISPOSED);
    const second = await loadVae(KL_F8);
    expect((await second.decode(latent(8, 8))).dims).toEqual([1, 3, 64, 64]);
    await second.dispose();
  });
});

describe('tiled calls stop between tiles when their signal aborts', () => {
  it('tiled decode: no tile starts after the abort', async () => {
    const { backend, runs } = countingBackend();
    const vae = await loadModel(folderModelStore(KL_F8), { backend });
    const before = runs.length;
    const controller = new AbortController();
    const caught = await errorOf(
      vae.decode(latent(32, 32), { tiling: { tileSize: 16, overlap: 4 }, signal: controller.signal, onProgress: () => controller.abort() }),
    );
    expect(caught).toEqual(ABORTED);
    expect(runs.slice(before)).toEqual(['decoder']);
    await vae.dispose();
  });

  it('tiled encode: no tile starts after the abort', async () => {
    const { backend, runs } = countingBackend();
    const vae = await loadModel(folderModelStore(KL_F8), { backend });
    const before = runs.length;
    const controller = new AbortController();
    const image = { data: new Float32Array(3 * 256 * 256).fill(0.1), dims: [1, 3, 256, 256] };
    const caught = await errorOf(
      vae.encode(image, { tiling: { tileSize: 128, overlap: 32 }, signal: controller.signal, onProgress: () => controller.abort() }),
    );
    expect(caught).toEqual(ABORTED);
    expect(runs.slice(before)).toEqual(['encoder']);
    await vae.dispose();
  });
});
