// Sessions created by a graph's first use, with a backend that counts what it creates: no runtime needed. The
// graphs' inputs and outputs come from the fixture's ONNX bytes (readOnnxGraphInfo), the runs from a stub.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VaeError, VaeTensor, bytesFile, createVae, parseManifest, readOnnxGraphInfo } from '../src/index';
import type { Backend, BackendSession, GraphInfo, ModelSource } from '../src/index';

const FIXTURE = join(__dirname, '..', '..', '..', 'models', 'fixtures', 'mlp-probs');
const manifestText = readFileSync(join(FIXTURE, 'vae.json'), 'utf8');
const bytes = { encoder: new Uint8Array(readFileSync(join(FIXTURE, 'encoder.onnx'))), decoder: new Uint8Array(readFileSync(join(FIXTURE, 'decoder.onnx'))) };

/** A backend whose sessions return zeros of the right size and record what was created, run and released. */
function countingBackend(createDelay = 0): Backend & { created: string[]; runs: string[]; released: string[] } {
  const created: string[] = [];
  const runs: string[] = [];
  const released: string[] = [];
  return {
    specificationVersion: 'v1',
    name: 'counting',
    created,
    runs,
    released,
    async createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
      if (createDelay > 0) await new Promise((resolve) => setTimeout(resolve, createDelay));
      created.push(role);
      const info: GraphInfo = await readOnnxGraphInfo(bytesFile((source as { bytes: Uint8Array }).bytes), role);
      return {
        ...info,
        async run(feeds, outputs) {
          runs.push(role);
          const batch = Object.values(feeds)[0]!.dims[0]!;
          const width = role === 'encoder' ? 2 : 6;
          return Object.fromEntries(outputs.map((name) => [name, new VaeTensor(new Float32Array(batch * width).fill(0.5), [batch, width])]));
        },
        async release() {
          released.push(role);
        },
      };
    },
  };
}

const load = (backend: Backend, preload?: readonly ('encoder' | 'decoder')[], manifest = parseManifest(manifestText)) =>
  createVae({ manifest, backend, encoder: { bytes: bytes.encoder }, decoder: { bytes: bytes.decoder }, ...(preload ? { preload } : {}) });

describe('sessions only for the graphs used', () => {
  it('creates both sessions at load by default (createVae) and with preload listing both', async () => {
    for (const preload of [undefined, ['encoder', 'decoder'] as const]) {
      const backend = countingBackend();
      const vae = await load(backend, preload);
      expect(backend.created).toEqual(['encoder', 'decoder']);
      await vae.dispose();
      expect(backend.released.sort()).toEqual(['decoder', 'encoder']);
    }
  });

  it('with preload: [] creates nothing at load, and decode-only use never creates the encoder', async () => {
    const backend = countingBackend();
    const vae = await load(backend, []);
    expect(backend.created).toEqual([]);
    await vae.decode({ data: new Float32Array(4), dims: [2, 2] });
    await vae.generate({ n: 3, seed: 1 });
    expect(backend.created).toEqual(['decoder']);
    expect(backend.runs).toEqual(['decoder', 'decoder']);
    await vae.dispose();
    expect(backend.released).toEqual(['decoder']);
  });

  it('with preload: ["decoder"] opens the decoder at load and the encoder on the first encode, once', async () => {
    const backend = countingBackend(20);
    const vae = await load(backend, ['decoder']);
    expect(backend.created).toEqual(['decoder']);
    const x = { data: new Float32Array(6).fill(0.5), dims: [1, 6] };
    // Concurrent first uses wait for one session.
    await Promise.all([vae.encode(x), vae.encode(x), vae.reconstruct(x)]);
    expect(backend.created).toEqual(['decoder', 'encoder']);
    expect(backend.runs.filter((r) => r === 'encoder')).toHaveLength(3);
    await vae.dispose();
  });

  it('composes with micro-batching: the batching wrapper holds the lazy session, and decode-only use opens the decoder alone', async () => {
    const backend = countingBackend(10);
    const vae = await createVae({
      manifest: parseManifest(manifestText),
      backend,
      encoder: { bytes: bytes.encoder },
      decoder: { bytes: bytes.decoder },
      preload: [],
      batching: { maxBatchSize: 8, maxDelayMs: 5 },
    });
    const outputs = await Promise.all([0, 1, 2].map((seed) => vae.generate({ n: 1, seed })));
    expect(outputs.map((y) => y.dims)).toEqual([
      [1, 6],
      [1, 6],
      [1, 6],
    ]);
    expect(backend.created).toEqual(['decoder']);
    // The three calls were coalesced into one decoder run.
    expect(backend.runs).toEqual(['decoder']);
    await vae.dispose();
    expect(backend.released).toEqual(['decoder']);
  });

  it('checks the manifest against both graphs at load without a session: a mismatching encoder is refused', async () => {
    const backend = countingBackend();
    const manifest = parseManifest(manifestText.replace('"mean": "mean"', '"mean": "mu"'));
    const error = await load(backend, [], manifest).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(VaeError.isInstance(error) && error.code).toBe('MODEL_MISMATCH');
    expect((error as Error).message).toBe('encoder.onnx: manifest says output "mu" (latent) but the graph\'s outputs are [mean, logvar].');
    expect(backend.created).toEqual([]);
  });

  it('refuses bytes that are not ONNX at load, naming the graph', async () => {
    const backend = countingBackend();
    const error = await createVae({
      manifest: parseManifest(manifestText),
      backend,
      encoder: { bytes: bytes.encoder.subarray(0, 50) },
      decoder: { bytes: bytes.decoder },
      preload: [],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(VaeError.isInstance(error) && error.code).toBe('MODEL_FILE_CORRUPT');
    expect((error as Error).message).toMatch(/^encoder bytes is not a valid ONNX model: .+ \(in ModelProto, at byte \d+ of 50\)\./);
    expect(backend.created).toEqual([]);
  });

  it('refuses use after dispose and creates nothing then', async () => {
    const backend = countingBackend();
    const vae = await load(backend, []);
    await vae.dispose();
    const error = await vae.decode({ data: new Float32Array(2), dims: [1, 2] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(VaeError.isInstance(error) && error.code).toBe('DISPOSED');
    expect(backend.created).toEqual([]);
  });

  it('lets a decode whose session is being created finish when the VAE is disposed, then releases that session', async () => {
    const backend = countingBackend(30);
    const vae = await load(backend, []);
    const pending = vae.decode({ data: new Float32Array(2), dims: [1, 2] }).then(
      () => 'decoded',
      (e: unknown) => (VaeError.isInstance(e) ? e.code : String(e)),
    );
    await vae.dispose();
    // A run already started finishes (the lifecycle rule); dispose() resolved only after it, with the session released.
    expect(await pending).toBe('decoded');
    expect(backend.created).toEqual(['decoder']);
    expect(backend.released).toEqual(['decoder']);
  });
});

describe('readOnnxGraphInfo', () => {
  it('reads inputs and outputs with types and symbolic dims, as onnxruntime reports them', async () => {
    const info = await readOnnxGraphInfo(bytesFile(bytes.decoder), 'decoder.onnx');
    expect(info).toEqual({ inputs: [{ name: 'z', type: 'float32', shape: ['batch', 2] }], outputs: [{ name: 'probs', type: 'float32', shape: ['batch', 6] }] });
  });
});
