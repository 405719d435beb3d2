// The one model loader over a ModelStore, without a runtime: files in memory, and a backend that hands out graph
// infos (the sessions are never run).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VaeTensor, findModelLayout, loadModel, memoryModelStore, planModel } from '../src/index';
import type { Backend, BackendSession, GraphInfo, ModelSource, ModelStore } from '../src/index';

const MANIFEST = readFileSync(join(__dirname, '../../../models/fixtures/mlp-probs/vae.json'), 'utf8');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const graph = (input: [string, (number | string)[]], output: [string, (number | string)[]]): GraphInfo => ({
  inputs: [{ name: input[0], type: 'float32', shape: input[1] }],
  outputs: [{ name: output[0], type: 'float32', shape: output[1] }],
});
const TAESD = {
  encoder: graph(['image', ['batch', 3, 'h', 'w']], ['latents', ['batch', 4, 'h8', 'w8']]),
  decoder: graph(['latents', ['batch', 4, 'h', 'w']], ['image', ['batch', 3, 'H', 'W']]),
};

/** A backend that opens every graph as the given info and records what it was given. */
function infoBackend(infos: { encoder: GraphInfo; decoder: GraphInfo }): Backend & { opened: ModelSource[]; released: number } {
  const backend = {
    specificationVersion: 'v1' as const,
    name: 'graph infos',
    opened: [] as ModelSource[],
    released: 0,
    async createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
      backend.opened.push(source);
      // Runs only the load's one-item probe, giving the declared channels and spatial factor 8.
      const run: BackendSession['run'] = async (feeds, outputs) => {
        const [n, , h, w] = Object.values(feeds)[0]!.dims as [number, number, number, number];
        const channels = Number(infos[role].outputs.find((output) => output.name === outputs[0])?.shape?.[1]);
        const size = role === 'encoder' ? [h / 8, w / 8] : [h * 8, w * 8];
        return { [outputs[0]!]: new VaeTensor(new Float32Array(n * channels * size[0]! * size[1]!), [n, channels, ...size]) };
      };
      return { ...infos[role], run, release: async () => void backend.released++ };
    },
  };
  return backend;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: string; message: string };
  return { code: error.code, message: error.message };
}

describe('planModel and loadModel over a ModelStore', () => {
  it('reads vae.json and names its graphs; the graphs option picks others (the float16 ones)', async () => {
    const store = memoryModelStore({ 'vae.json': MANIFEST, 'encoder.onnx': bytes('e'), 'decoder.onnx': bytes('d') });
    const plan = await planModel(store);
    expect(plan.layout).toBeNull();
    expect(plan).toMatchObject({ encoder: 'encoder.onnx', decoder: 'decoder.onnx', manifest: { name: 'mlp-probs' } });
    const backend = infoBackend(TAESD);
    const picked: string[] = [];
    const failure = await codeOf(
      loadModel(memoryModelStore({ 'vae.json': MANIFEST, 'encoder.float16.onnx': bytes('E'), 'decoder.float16.onnx': bytes('D') }), {
        backend,
        graphs: async (manifest) => (picked.push(manifest.name), manifest.float16!),
      }),
    );
    // The graphs opened were the float16 ones, as bytes; their infos are TAESD's, so the manifest check refuses them and releases both.
    expect(picked).toEqual(['mlp-probs']);
    expect(backend.opened).toEqual([{ bytes: bytes('E') }, { bytes: bytes('D') }]);
    expect(failure.code).toBe('MODEL_MISMATCH');
    expect(backend.released).toBe(2);
  });

  it('detects a NAME_encoder.onnx / NAME_decoder.onnx pair from the listed names, named after NAME', async () => {
    const store = memoryModelStore({ 'taef2_encoder.onnx': bytes('e'), 'taef2_decoder.onnx': bytes('d'), 'README.md': 'x' });
    expect(await findModelLayout(store)).toEqual({ layout: 'encoder-decoder-pair', encoder: 'taef2_encoder.onnx', decoder: 'taef2_decoder.onnx' });
    const vae = await loadModel(store, { backend: infoBackend(TAESD), preset: 'taesd' });
    expect(vae.manifest.name).toBe('taef2');
    expect(vae.detection?.layout).toBe('encoder-decoder-pair');
    expect(vae.manifest.latent.scalingFactor).toBe(1);
    await vae.dispose();
  });

  it("finds optimum's subfolders and their config.json where the store can say what exists", async () => {
    const config = JSON.stringify({ latent_channels: 4, scaling_factor: 0.5 });
    const store = memoryModelStore({ 'vae_encoder/model.onnx': bytes('e'), 'vae_decoder/model.onnx': bytes('d'), 'vae_decoder/config.json': config }, 'sd');
    const plan = await planModel(store);
    expect(plan.layout).toEqual({ layout: 'optimum', encoder: 'vae_encoder/model.onnx', decoder: 'vae_decoder/model.onnx', config: 'vae_decoder/config.json' });
    const detect = plan.manifest;
    if (typeof detect !== 'function') throw new Error('expected a detected manifest');
    const detection = detect({
      encoder: graph(['sample', ['batch', 3, 'h', 'w']], ['latent_parameters', ['batch', 8, 'h8', 'w8']]),
      decoder: graph(['latent_sample', ['batch', 4, 'h', 'w']], ['sample', ['batch', 3, 'H', 'W']]),
    });
    expect(detection.manifest.name).toBe('sd');
    expect(detection.manifest.latent.scalingFactor).toBe(0.5);
  });

  it('takes the layout from the options for bytes, and refuses it (and a preset) beside a manifest', async () => {
    const plan = await planModel(memoryModelStore({ 'vae_encoder.onnx': bytes('e'), 'vae_decoder.onnx': bytes('d') }, 'model'), { layout: 'ort-sd-demo' });
    expect(plan.layout?.layout).toBe('ort-sd-demo');
    const withManifest = memoryModelStore({ 'vae.json': MANIFEST });
    expect(await codeOf(planModel(withManifest, { preset: 'sd-1' }))).toEqual({
      code: 'INVALID_OPTION',
      message: '"preset" describes graphs given without a manifest; this model comes with one. Put scaling factors and ranges in the manifest instead.',
    });
    expect((await codeOf(planModel(withManifest, { layout: 'nope' as never }))).message).toBe(
      'Expected "layout" to be one of "optimum", "ort-sd-demo", "encoder-decoder-pair", "plain" but received "nope".',
    );
  });

  it("reads the manifest where the store cannot tell what exists (HTTP), and its absence is the store's error", async () => {
    const reads: string[] = [];
    const http: ModelStore = {
      locate: (file) => `https://example.test/m/${file}`,
      read: async (file, what) => {
        reads.push(`${what} ${file}`);
        throw Object.assign(new Error(`Cannot fetch https://example.test/m/${file}: HTTP 404`), { code: 'MODEL_FILE_NOT_FOUND' });
      },
    };
    expect(await codeOf(planModel(http))).toEqual({ code: 'MODEL_FILE_NOT_FOUND', message: 'Cannot fetch https://example.test/m/vae.json: HTTP 404' });
    expect(reads).toEqual(['manifest vae.json']);
    expect(await codeOf(planModel(memoryModelStore({ 'model.onnx': bytes('x') })))).toEqual({
      code: 'MODEL_FILE_NOT_FOUND',
      message: 'Cannot read the manifest vae.json: it is not among the files given (model.onnx).',
    });
  });
});
