/** @jest-environment ./scripts/jest/ort-web-environment.cjs */
// The VAE contract suite on onnxruntime-web's wasm backend, in plain Node: the graphs are read from models/ as bytes
// and given to loadVae in memory (the URL loader is exercised in the browser run, scripts/browser/).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadVae } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';
import { describeVaeContract, testFixtures } from '@onnx-vae/core/testing';

const fixtures = testFixtures(__dirname);
const MODELS = fixtures.models;

async function loadFromDisk(model: string, options: { maxBatch?: number } = {}) {
  const dir = join(MODELS, model);
  const manifest = JSON.parse(await readFile(join(dir, 'vae.json'), 'utf8'));
  const [encoder, decoder] = await Promise.all([readFile(join(dir, manifest.encoder.file)), readFile(join(dir, manifest.decoder.file))]);
  return loadVae({ manifest, encoder: new Uint8Array(encoder), decoder: new Uint8Array(decoder) }, { device: 'wasm', numThreads: 1, ...options });
}

describeVaeContract({
  backend: 'onnxruntime-web (wasm, Node)',
  load: (model, options) => loadFromDisk(model, options),
  golden: async (model) => JSON.parse(await readFile(join(MODELS, model, 'golden.json'), 'utf8')),
});

describe('onnxruntime-web backend in Node', () => {
  it('reports the execution provider it runs on and why', async () => {
    const vae = await loadFromDisk('fixtures/mlp-probs');
    try {
      expect(vae.backendName).toMatch(/^onnxruntime-web 1\.30\.0 \(wasm\)$/);
    } finally {
      await vae.dispose();
    }
  });

  it.each([
    [
      'device "webgpu" without navigator.gpu',
      { device: 'webgpu' },
      'BACKEND_UNAVAILABLE',
      'device "webgpu" was requested but navigator.gpu is missing (no WebGPU in this environment).',
    ],
    ['an unknown device', { device: 'cuda' }, 'INVALID_OPTION', 'Expected "device" to be one of "auto", "webgpu", "wasm" but received "cuda".'],
    ['zero threads', { numThreads: 0 }, 'INVALID_OPTION', 'Expected "numThreads" to be a positive integer but received 0.'],
    [
      'wasmPaths without a trailing slash',
      { wasmPaths: '/ort' },
      'INVALID_OPTION',
      'Expected "wasmPaths" to be a URL prefix ending in "/" but received "/ort".',
    ],
    ['enableMemPattern not a boolean', { enableMemPattern: 'off' }, 'INVALID_OPTION', 'Expected "enableMemPattern" to be true or false but received "off".'],
    [
      'preload naming no graph',
      { preload: ['vae'] },
      'INVALID_OPTION',
      'Expected "preload" to be a list of graphs from "encoder", "decoder" (e.g. [] or ["decoder"]) but received [vae].',
    ],
  ])('rejects %s with a typed error', async (_name, options, code, message) => {
    const error = await loadFromDisk('fixtures/mlp-probs', options as never).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe(code);
    expect((error as Error).message).toContain(message);
  });

  it.each([
    ['a number', 123, '123'],
    ['null', null, 'null'],
    ['an empty string', '', '""'],
    ['an object without graphs', { dir: 'models' }, 'an object'],
  ])('refuses a source that is %s with INVALID_OPTION, before fetching anything', async (_name, source, received) => {
    expect(await errorOf(loadVae(source as never))).toEqual({
      code: 'INVALID_OPTION',
      message: `Expected "source" to be a model folder's URL (a non-empty string or a URL) or { manifest, encoder, decoder } in memory but received ${received}.`,
    });
  });

  it('with preload: ["decoder"] decodes without creating the encoder session, which the first encode creates', async () => {
    // Counted where onnxruntime-web creates its sessions (the module this test environment loaded).
    const ort = (globalThis as unknown as { __onnxVaeOrtWeb: { InferenceSession: { create: (...args: unknown[]) => unknown } } }).__onnxVaeOrtWeb;
    const create = jest.spyOn(ort.InferenceSession, 'create');
    const vae = await loadFromDisk('fixtures/mlp-probs', { preload: ['decoder'], enableMemPattern: true } as never);
    try {
      expect(create).toHaveBeenCalledTimes(1);
      expect((await vae.decode({ data: new Float32Array(2), dims: [1, 2] })).dims).toEqual([1, 6]);
      expect(create).toHaveBeenCalledTimes(1);
      expect((await vae.encode({ data: new Float32Array(6).fill(0.5), dims: [1, 6] })).mean.dims).toEqual([1, 2]);
      expect(create).toHaveBeenCalledTimes(2);
    } finally {
      create.mockRestore();
      await vae.dispose();
    }
  });

  it('loads a decoder-only model from memory (manifest without "encoder", the decoder alone): decode runs, encode throws GRAPH_MISSING', async () => {
    const dir = join(MODELS, 'fixtures/mlp-probs');
    const { encoder: _encoder, float16, ...rest } = JSON.parse(await readFile(join(dir, 'vae.json'), 'utf8')) as Record<string, unknown>;
    // Its float16 graphs lose the encoder's too (a float16 entry for a graph the manifest lacks is refused).
    const manifest = { ...rest, ...(float16 ? { float16: { decoder: (float16 as { decoder: string }).decoder } } : {}) };
    const vae = await loadVae({ manifest, decoder: new Uint8Array(await readFile(join(dir, 'decoder.onnx'))) }, { device: 'wasm', numThreads: 1 });
    try {
      expect([vae.has('encoder'), vae.has('decoder')]).toEqual([false, true]);
      expect((await vae.decode({ data: new Float32Array(2), dims: [1, 2] })).dims).toEqual([1, 6]);
      const error = (await vae.encode({ data: new Float32Array(6), dims: [1, 6] }).catch((e: unknown) => e)) as { code?: string; message: string };
      expect(error.code).toBe('GRAPH_MISSING');
      expect(error.message).toMatch(/^encode\(\) needs the encoder, but the model "mlp-probs" has no encoder/);
    } finally {
      await vae.dispose();
    }
  });

  it('device "auto" without WebGPU chooses wasm and says why', async () => {
    const dir = join(MODELS, 'fixtures/mlp-probs');
    const [manifest, encoder, decoder] = await Promise.all([
      readFile(join(dir, 'vae.json'), 'utf8'),
      readFile(join(dir, 'encoder.onnx')),
      readFile(join(dir, 'decoder.onnx')),
    ]);
    const { OrtWebBackend, createVae, parseManifest } = await import('../src/index');
    const backend = new OrtWebBackend({ device: 'auto', numThreads: 1 });
    const vae = await createVae({
      manifest: parseManifest(manifest),
      backend,
      encoder: { bytes: new Uint8Array(encoder) },
      decoder: { bytes: new Uint8Array(decoder) },
    });
    try {
      expect(backend.executionProvider).toBe('wasm');
      expect(backend.deviceReason).toBe('auto: navigator.gpu is missing (no WebGPU in this environment); wasm with 1 thread(s)');
      expect(vae.backendInfo).toEqual({
        name: 'onnxruntime-web 1.30.0 (wasm)',
        requestedDevice: 'auto',
        device: 'wasm',
        precision: 'float32',
        reason: backend.deviceReason,
        fellBack: false,
      });
    } finally {
      await vae.dispose();
    }
  });

  describe('with an adapter but a build without WebGPU (navigator.gpu stubbed; Node runs the wasm-only build)', () => {
    const scope = globalThis as { navigator?: unknown };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    beforeAll(() => {
      Object.defineProperty(globalThis, 'navigator', {
        configurable: true,
        value: { gpu: { requestAdapter: async () => ({ info: { vendor: 'test', architecture: 'stub' } }) } },
      });
    });
    afterAll(() => {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete scope.navigator;
    });

    it('device "auto" falls back to wasm and says why', async () => {
      const vae = await loadFromDisk('fixtures/mlp-probs', { device: 'auto' } as never);
      try {
        expect(vae.backendName).toBe('onnxruntime-web 1.30.0 (wasm)');
        const { reason, ...info } = vae.backendInfo;
        expect(info).toEqual({ name: 'onnxruntime-web 1.30.0 (wasm)', requestedDevice: 'auto', device: 'wasm', precision: 'float32', fellBack: true });
        expect(reason).toMatch(/^auto: a WebGPU adapter exists but onnxruntime-web could not use it \(.+\); wasm with \d+ thread\(s\)$/);
      } finally {
        await vae.dispose();
      }
    });

    it.each([
      ['flagged isFallbackAdapter (adapter.info)', { info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true } }, 'google swiftshader'],
      ['flagged isFallbackAdapter (adapter, older browsers)', { info: { vendor: 'acme', architecture: 'cpu' }, isFallbackAdapter: true }, 'acme cpu'],
      [
        'named as a software rasteriser (llvmpipe), unflagged',
        { info: { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 19.1.7, 256 bits)' } },
        'mesa',
      ],
    ])('device "auto" skips a fallback (software) adapter: %s, and says so without trying it', async (_name, adapter, described) => {
      Object.defineProperty(globalThis, 'navigator', { configurable: true, value: { gpu: { requestAdapter: async () => adapter } } });
      const vae = await loadFromDisk('fixtures/mlp-probs', { device: 'auto' } as never);
      try {
        expect(vae.backendInfo).toEqual({
          name: 'onnxruntime-web 1.30.0 (wasm)',
          requestedDevice: 'auto',
          device: 'wasm',
          precision: 'float32',
          reason: `auto: the WebGPU adapter ${described}, a fallback (software) adapter, is usually slower than wasm, so wasm was chosen; pass device "webgpu" to use it anyway; wasm with 1 thread(s)`,
          fellBack: false,
        });
      } finally {
        await vae.dispose();
      }
    });

    it.each([
      // [adapter features, precision option, chosen precision, reason]
      [['shader-f16'], 'auto', 'float16', 'the adapter has shader-f16'],
      [[], 'auto', 'float32', 'the adapter has no shader-f16'],
      [['shader-f16'], 'float32', 'float32', 'requested'],
    ] as const)("chooses the graphs from the adapter's features: %j with precision %s gives %s", async (features, precision, chosen, why) => {
      const adapter = { info: { vendor: 'test', architecture: 'stub' }, features: new Set<string>(features) };
      Object.defineProperty(globalThis, 'navigator', { configurable: true, value: { gpu: { requestAdapter: async () => adapter } } });
      const { OrtWebBackend } = await import('../src/index');
      const backend = new OrtWebBackend({ device: 'webgpu', precision });
      expect(await backend.choosePrecision('m', true)).toBe(chosen);
      expect(backend.deviceReason).toBe(`WebGPU adapter test stub; ${chosen} graphs (${why})`);
      expect(backend.name).toBe(`onnxruntime-web 1.30.0 (webgpu, ${chosen})`);
      expect(await new OrtWebBackend({ device: 'webgpu', precision }).choosePrecision('m', false)).toBe('float32');
    });

    it('device "webgpu" throws BACKEND_UNAVAILABLE with the fix', async () => {
      const error = (await loadFromDisk('fixtures/mlp-probs', { device: 'webgpu' } as never).catch((e: unknown) => e)) as { code?: string; message: string };
      expect(error.code).toBe('BACKEND_UNAVAILABLE');
      expect(error.message).toMatch(
        /^onnxruntime-web could not create a WebGPU session for the encoder \(.+\)\. WebGPU needs a browser that exposes navigator\.gpu/,
      );
    });
  });

  it('rejects a damaged graph and a manifest that does not match the graphs', async () => {
    const dir = join(MODELS, 'fixtures/mlp-probs');
    const manifest = JSON.parse(await readFile(join(dir, 'vae.json'), 'utf8'));
    const decoder = new Uint8Array(await readFile(join(dir, 'decoder.onnx')));
    const damaged = await loadVae({ manifest, encoder: decoder.subarray(0, 100), decoder }, { device: 'wasm' }).catch((e: unknown) => e);
    expect((damaged as { code?: string }).code).toBe('MODEL_FILE_CORRUPT');
    const wrong = { ...manifest, encoder: { ...manifest.encoder, input: 'pixels' } };
    const encoder = new Uint8Array(await readFile(join(dir, 'encoder.onnx')));
    const mismatch = await loadVae({ manifest: wrong, encoder, decoder }, { device: 'wasm' }).catch((e: unknown) => e);
    expect((mismatch as { code?: string }).code).toBe('MODEL_MISMATCH');
  });
});

// Graphs without a manifest: detected as Node's loadVae detects a folder (packages/node/test/cli-images.test.ts
// checks the same export through the CLI). kl-f8's graphs stand in for an SD-style export; TAEF2 is the real one.
describe('graphs without a manifest are detected', () => {
  const TAESD = join(fixtures.sharedModels, 'taesd');
  const haveTaef2 = existsSync(join(TAESD, 'taef2_encoder.onnx'));
  if (!haveTaef2) console.warn(`TAEF2 is not at ${TAESD}: its detection test in the browser package is skipped.`);

  (haveTaef2 ? it : it.skip)('TAEF2 as File objects: the names give the layout; the manifest matches what Node detects', async () => {
    const [encoder, decoder] = await Promise.all(['taef2_encoder.onnx', 'taef2_decoder.onnx'].map((f) => readFile(join(TAESD, f))));
    const vae = await loadVae(
      { encoder: new File([encoder!], 'taef2_encoder.onnx'), decoder: new File([decoder!], 'taef2_decoder.onnx') },
      { device: 'wasm', numThreads: 1, preset: 'flux-2-tiny' },
    );
    try {
      expect(vae.detection?.layout).toBe('encoder-decoder-pair');
      expect(vae.manifest.name).toBe('taef2');
      expect(vae.manifest.latent).toEqual({ shape: [32, null, null], scalingFactor: 1, shiftFactor: 0, spatialFactor: 8 });
      expect(vae.manifest.data.range).toEqual([0, 1]);
      expect(vae.detection?.reasons).toContain('latent channels 32: the decoder input "latents" is [batch, 32, latent_height, latent_width]');
      const x = { data: Float32Array.from({ length: 3 * 16 * 24 }, (_, i) => 0.5 + 0.4 * Math.sin(i / 7)), dims: [1, 3, 16, 24] };
      const y = await vae.reconstruct(x);
      expect([...y.dims]).toEqual([1, 3, 16, 24]);
    } finally {
      await vae.dispose();
    }
  });

  it('bytes need "layout"; with it, kl-f8\'s graphs get an SD-style manifest; a manifest plus "preset" is refused', async () => {
    const dir = join(MODELS, 'kl-f8');
    const [encoder, decoder] = (await Promise.all(['encoder.onnx', 'decoder.onnx'].map((f) => readFile(join(dir, f))))).map((b) => new Uint8Array(b));
    const error = (await loadVae({ encoder: encoder!, decoder: decoder! }, { device: 'wasm' }).catch((e: unknown) => e)) as { code?: string; message: string };
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe(
      'Graphs given without a manifest need "layout" (one of "optimum", "ort-sd-demo", "encoder-decoder-pair", "plain") to be described; File objects named like NAME_encoder.onnx or vae_encoder.onnx give it, bytes do not. Or pass a manifest.',
    );
    const vae = await loadVae({ encoder: encoder!, decoder: decoder! }, { device: 'wasm', numThreads: 1, layout: 'ort-sd-demo', preset: 'sd-1' });
    try {
      const shipped = JSON.parse(await readFile(join(dir, 'vae.json'), 'utf8'));
      expect(vae.manifest.encoder!.output).toEqual(shipped.encoder!.output);
      expect(vae.manifest.data.range).toEqual([-1, 1]);
      expect(vae.manifest.latent.scalingFactor).toBe(0.18215);
      expect(vae.manifest.latent.spatialFactor).toBe(8);
    } finally {
      await vae.dispose();
    }
    const manifest = JSON.parse(await readFile(join(dir, 'vae.json'), 'utf8'));
    const both = (await loadVae({ manifest, encoder: encoder!, decoder: decoder! }, { device: 'wasm', preset: 'sd-1' }).catch((e: unknown) => e)) as {
      code?: string;
      message: string;
    };
    expect(both.code).toBe('INVALID_OPTION');
    expect(both.message).toBe(
      '"preset" describes graphs given without a manifest; this model comes with one. Put scaling factors and ranges in the manifest instead.',
    );
  });
});
