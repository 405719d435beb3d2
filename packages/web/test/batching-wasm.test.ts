/** @jest-environment ./scripts/jest/ort-web-environment.cjs */
// Micro-batching is core's, so @onnx-vae/web has it too: concurrent calls on onnxruntime-web's wasm backend share
// graph runs and get the numbers of unbatched calls.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VaeTensor, loadVae } from '../src/index';
import type { BatchEvent, BatchingOptions } from '../src/index';
import { testFixtures } from '@onnx-vae/core/testing';

const MNIST = testFixtures(__dirname).model('mnist-vae');

async function load(batching?: BatchingOptions) {
  const manifest = JSON.parse(await readFile(join(MNIST, 'vae.json'), 'utf8'));
  const [encoder, decoder] = await Promise.all([readFile(join(MNIST, manifest.encoder.file)), readFile(join(MNIST, manifest.decoder.file))]);
  return loadVae(
    { manifest, encoder: new Uint8Array(encoder), decoder: new Uint8Array(decoder) },
    { device: 'wasm', numThreads: 1, ...(batching ? { batching } : {}) },
  );
}

it('batches concurrent calls on wasm, each with its unbatched numbers and its own seed', async () => {
  const events: BatchEvent[] = [];
  const [plain, batched] = await Promise.all([load(), load({ maxBatchSize: 8, onBatch: (e) => events.push(e) })]);
  try {
    const inputs = Array.from(
      { length: 12 },
      (_, i) =>
        new VaeTensor(
          Float32Array.from({ length: 784 }, (_, j) => ((i * 31 + j * 7) % 97) / 97),
          [1, 784],
        ),
    );
    const together = await Promise.all(inputs.map((x, i) => batched.reconstruct(x, { sample: true, seed: i })));
    for (let i = 0; i < inputs.length; i++) expect(together[i]!.data).toEqual((await plain.reconstruct(inputs[i]!, { sample: true, seed: i })).data);
    expect(Math.max(...events.map((e) => e.requests))).toBeGreaterThan(1);
    expect(events.every((e) => e.size <= 8)).toBe(true);
  } finally {
    await plain.dispose();
    await batched.dispose();
  }
});
