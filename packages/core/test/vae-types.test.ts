// Type test (checked by `pnpm typecheck`): a Vae made with a runtime's image types, as @onnx-vae/node's NodeVae, fits
// the plain `Vae` type, so code written against core takes a loaded model.
import { createVae } from '../src/index';
import type { ImageCodec, Vae, VaeTensor } from '../src/index';
import { LinearVae, MOCK_MODELS, MOCK_SOURCE, MockBackend } from '@onnx-vae/core/testing';

type PathImage = string | Uint8Array;
interface WriteOptions {
  readonly format: 'png' | 'jpeg';
}

/** A codec with Node-like types; reads nothing (the test never passes images). */
const codec: ImageCodec<PathImage, Uint8Array, WriteOptions> = {
  isImage: (input): input is PathImage => typeof input === 'string',
  read: async () => {
    throw new Error('not used');
  },
  write: async (data: VaeTensor) => [new Uint8Array(data.size)],
};

/** Core code written against the plain type. */
async function reconstructionSize(vae: Vae, x: { data: Float32Array; dims: number[] }): Promise<number> {
  return (await vae.reconstruct(x)).size;
}

it('a Vae with image types (Vae<PathImage, Uint8Array, WriteOptions>) is a Vae', async () => {
  const backend = new MockBackend(new LinearVae(MOCK_MODELS['mock/linear-probs']));
  const vae: Vae<PathImage, Uint8Array, WriteOptions> = await createVae({
    manifest: backend.model.manifest(),
    backend,
    encoder: MOCK_SOURCE,
    decoder: MOCK_SOURCE,
    images: codec,
  });
  expect(await reconstructionSize(vae, { data: new Float32Array(12), dims: [2, 6] })).toBe(12);
  const images: Uint8Array[] = await vae.toImages({ data: new Float32Array(6), dims: [1, 6] }, { format: 'png' });
  expect(images[0]!.length).toBe(6);
});
