// Core's device path (reconstruct, encodeToDevice, decode of a DeviceLatent) on real onnxruntime-node sessions,
// behind a backend whose "device memory" is a registry of live buffers, as onnxruntime-web's WebGPU buffers are.
// WebGPU itself runs in the browser tests (packages/web/test/browser/page.ts); here the bookkeeping is checked where it can be
// counted: every device tensor core makes is disposed, on success and on failure, and the numbers equal the CPU path's.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OrtNodeBackend, VaeTensor, createVae, parseManifest } from '../src/index';
import type { Backend, DeviceTensor, Vae } from '../src/index';
import { goldenTensor, testFixtures, wrapBackend } from '@onnx-vae/core/testing';

const MODELS = testFixtures(__dirname).models;
const live = new Set<CountedTensor>();

class CountedTensor implements DeviceTensor {
  readonly location = 'test-device';
  constructor(
    private data: Float32Array | null,
    readonly dims: readonly number[],
  ) {
    live.add(this);
  }
  held(): VaeTensor {
    if (!this.data) throw new Error('use after dispose');
    return new VaeTensor(this.data, this.dims);
  }
  async download(): Promise<VaeTensor> {
    return new VaeTensor(Float32Array.from(this.held().data), this.dims);
  }
  async sliceChannels(start: number, count: number): Promise<DeviceTensor> {
    const [batch, channels] = this.dims as [number, number];
    const inner = this.held().size / (batch * channels);
    const out = new Float32Array(batch * count * inner);
    for (let b = 0; b < batch; b++) out.set(this.data!.subarray((b * channels + start) * inner, (b * channels + start + count) * inner), b * count * inner);
    return new CountedTensor(out, [batch, count, ...this.dims.slice(2)]);
  }
  dispose(): void {
    this.data = null;
    live.delete(this);
  }
}

/** onnxruntime-node sessions whose encoder outputs stay "on the device". */
function deviceBackend(failDecoder = false): Backend {
  return wrapBackend(new OrtNodeBackend({ intraOpNumThreads: 1 }), 'test device', (session, role) => ({
    async runDevice(feeds, outputs) {
      if (role === 'decoder' && failDecoder) throw new Error('decoder exploded');
      const cpu: Record<string, VaeTensor> = {};
      for (const [name, value] of Object.entries(feeds)) cpu[name] = value instanceof VaeTensor ? value : (value as CountedTensor).held();
      const result = await session.run(cpu, outputs);
      if (role === 'decoder') return result;
      return Object.fromEntries(Object.entries(result).map(([name, t]) => [name, new CountedTensor(t.data, t.dims)]));
    },
  }));
}

async function load(model: string, failDecoder = false, maxBatch?: number): Promise<Vae> {
  const folder = join(MODELS, model);
  return createVae({
    manifest: parseManifest(await readFile(join(folder, 'vae.json'), 'utf8')),
    backend: deviceBackend(failDecoder),
    encoder: { path: join(folder, 'encoder.onnx') },
    decoder: { path: join(folder, 'decoder.onnx') },
    ...(maxBatch === undefined ? {} : { maxBatch }),
  });
}

describe.each(['kl-f8', 'fixtures/mlp-probs', 'fixtures/mlp-deterministic-probs'])('device latents on %s', (model) => {
  let vae: Vae;
  let x: VaeTensor;
  beforeAll(async () => {
    vae = await load(model);
    const golden = JSON.parse(await readFile(join(MODELS, model, 'golden.json'), 'utf8'));
    const given = goldenTensor(golden, 'x');
    x = new VaeTensor(given.data, given.dims);
  });
  afterAll(() => vae?.dispose());
  afterEach(() => expect(live.size).toBe(0));

  it('reconstruct passes the mean on the device and frees it; the numbers equal decode(encode(x).mean)', async () => {
    const expected = await vae.decode((await vae.encode(x)).mean);
    const got = await vae.reconstruct(x);
    expect(Array.from(got.data)).toEqual(Array.from(expected.data));
  });

  it('encodeToDevice holds the mean until disposed; decode reads it any number of times', async () => {
    const mean = (await vae.encode(x)).mean;
    const z = await vae.encodeToDevice(x);
    expect(z.location).toBe('test-device');
    expect(live.size).toBe(1);
    expect(Array.from((await z.download()).data)).toEqual(Array.from(mean.data));
    const [a, b] = [await vae.decode(z), await vae.decode(z)];
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    z.dispose();
    expect(live.size).toBe(0);
    await expect(vae.decode(z)).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});

describe('device latents: failures and fallbacks (kl-f8)', () => {
  let x: VaeTensor;
  beforeAll(async () => {
    const given = goldenTensor(JSON.parse(await readFile(join(MODELS, 'kl-f8', 'golden.json'), 'utf8')), 'x');
    x = new VaeTensor(given.data, given.dims);
  });
  afterEach(() => expect(live.size).toBe(0));

  it('a decoder failure is INFERENCE_FAILED and frees the latent', async () => {
    const vae = await load('kl-f8', true);
    try {
      const error = await vae.reconstruct(x).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INFERENCE_FAILED' });
      expect((error as Error).message).toContain('The decoder of "kl-f8" failed on a batch of dims [2, 4, 4, 6]: decoder exploded');
    } finally {
      await vae.dispose();
    }
  });

  it('a batch over maxBatch goes through the CPU, with the same numbers', async () => {
    const vae = await load('kl-f8', false, 1);
    try {
      const expected = await vae.decode((await vae.encode(x)).mean);
      expect(Array.from((await vae.reconstruct(x)).data)).toEqual(Array.from(expected.data));
      const z = await vae.encodeToDevice(x);
      expect(z.location).toBe('cpu'); // two items, maxBatch 1: encoded in two runs on the CPU path
      expect(Array.from((await vae.decode(z)).data)).toEqual(Array.from(expected.data));
      z.dispose();
    } finally {
      await vae.dispose();
    }
  });
});
