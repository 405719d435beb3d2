import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadVae, VaeError } from '../src/index';
import type { VaeWarning } from '../src/index';
import { MODEL_FIXTURES, testFixtures } from '@onnx-vae/core/testing';

const FIXTURE = testFixtures(__dirname).model(MODEL_FIXTURES.probs);

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; error: unknown }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!VaeError.isInstance(error)) throw new Error(`expected a VaeError, got ${String(error)}`);
  return { code: error.code, message: error.message, error };
}

describe('loadVae', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-load-'));
    await cp(FIXTURE, dir, { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a manifest edited by hand into any shape, valid or not
  async function editManifest(change: (m: any) => void): Promise<void> {
    const manifest = JSON.parse(await readFile(join(dir, 'vae.json'), 'utf8'));
    change(manifest);
    await writeFile(join(dir, 'vae.json'), JSON.stringify(manifest));
  }

  it('loads a model folder and reports its backend', async () => {
    const vae = await loadVae(dir);
    expect(vae.backendName).toBe('onnxruntime-node 1.30.0 (cpu)');
    expect(vae.backendInfo).toEqual({
      name: 'onnxruntime-node 1.30.0 (cpu)',
      requestedDevice: 'cpu',
      device: 'cpu',
      precision: 'float32',
      reason: 'requested (the default)',
      fellBack: false,
    });
    expect(Object.isFrozen(vae.backendInfo)).toBe(true);
    expect(vae.manifest.name).toBe('mlp-probs');
    expect(vae.maxBatch).toBe(256);
    await vae.dispose();
  });

  it('names a missing folder or manifest', async () => {
    const { code, message } = await failure(loadVae(join(dir, 'nope')));
    expect(code).toBe('MODEL_FILE_NOT_FOUND');
    expect(message).toBe(
      `Cannot read the manifest ${join(dir, 'nope', 'vae.json')}: ENOENT. A model folder holds vae.json and the two ONNX files it names (docs/manifest.md), or an export in a known layout: vae_encoder/model.onnx + vae_decoder/model.onnx (optimum), vae_encoder.onnx + vae_decoder.onnx, or one NAME_encoder.onnx + NAME_decoder.onnx pair.`,
    );
  });

  it('names a missing graph file', async () => {
    await rm(join(dir, 'decoder.onnx'));
    const { code, message } = await failure(loadVae(dir));
    expect(code).toBe('MODEL_FILE_NOT_FOUND');
    expect(message).toBe(`The decoder graph ${join(dir, 'decoder.onnx')} named in vae.json does not exist.`);
  });

  it('reports a truncated ONNX file as corrupt, read at load without a session', async () => {
    await truncate(join(dir, 'encoder.onnx'), 100);
    const { code, message } = await failure(loadVae(dir));
    expect(code).toBe('MODEL_FILE_CORRUPT');
    expect(message).toBe(
      `${join(dir, 'encoder.onnx')} is not a valid ONNX model: a field of 1761 bytes runs past the end of its message (in ModelProto, at byte 22 of 100). The file may be truncated or not an ONNX file; re-export or re-download it.`,
    );
  });

  it('reports a truncated ONNX file as corrupt when onnxruntime opens it (preload)', async () => {
    await truncate(join(dir, 'encoder.onnx'), 100);
    const { code, message } = await failure(loadVae(dir, { preload: ['encoder', 'decoder'] }));
    expect(code).toBe('MODEL_FILE_CORRUPT');
    expect(message).toMatch(
      new RegExp(
        `^onnxruntime could not load ${join(dir, 'encoder.onnx').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .+Check that the file is a complete ONNX model`,
      ),
    );
  });

  it('reports invalid JSON in vae.json', async () => {
    await writeFile(join(dir, 'vae.json'), '{ "format": "onnx-vae", ');
    const { code } = await failure(loadVae(dir));
    expect(code).toBe('MANIFEST_INVALID');
  });

  it('checks the manifest against the real graphs and names both sides', async () => {
    await editManifest((m) => (m.encoder.input = 'image'));
    const { code, message } = await failure(loadVae(dir));
    expect(code).toBe('MODEL_MISMATCH');
    expect(message).toBe('encoder.onnx: manifest says input "image" (data) but the graph\'s inputs are [x].');
  });

  it('checks latent sizes against the real graphs', async () => {
    await editManifest((m) => (m.latent.shape = [3]));
    const { code, message } = await failure(loadVae(dir));
    expect(code).toBe('MODEL_MISMATCH');
    expect(message).toMatch(/^encoder\.onnx: output "mean" has shape \[.+, 2\] in the graph but the manifest's latent shape \[3\] says 3 at axis 1\.$/);
  });

  it.each([
    [{ device: 'tpu' }, 'device', 'Expected "device" to be one of "cpu", "cuda" but received "tpu".'],
    [{ intraOpNumThreads: -1 }, 'intraOpNumThreads', 'Expected "intraOpNumThreads" to be a non-negative integer but received -1.'],
    [
      { graphOptimizationLevel: 'max' },
      'graphOptimizationLevel',
      'Expected "graphOptimizationLevel" to be one of "disabled", "basic", "extended", "all" but received "max".',
    ],
    [{ maxBatch: 0 }, 'maxBatch', 'Expected "maxBatch" to be a positive integer (or Infinity) but received 0.'],
    [{ enableCpuMemArena: 'no' }, 'enableCpuMemArena', 'Expected "enableCpuMemArena" to be true or false but received "no".'],
    [{ enableMemPattern: 1 }, 'enableMemPattern', 'Expected "enableMemPattern" to be true or false but received 1.'],
    [{ preload: ['vae'] }, 'preload', 'Expected "preload" to be a list of graphs from "encoder", "decoder" (e.g. [] or ["decoder"]) but received [vae].'],
    [{ preload: 'decoder' }, 'preload', 'Expected "preload" to be a list of graphs from "encoder", "decoder" (e.g. [] or ["decoder"]) but received "decoder".'],
  ])('rejects option %j', async (options, option, message) => {
    const { code, message: text, error } = await failure(loadVae(dir, options as never));
    expect(code).toBe('INVALID_OPTION');
    expect((error as { option: string }).option).toBe(option);
    expect(text).toBe(message);
  });

  it('runs with every session option set', async () => {
    const vae = await loadVae(dir, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      enableCpuMemArena: false,
      enableMemPattern: false,
      graphOptimizationLevel: 'disabled',
    });
    const q = await vae.encode({ data: new Float32Array(6), dims: [1, 6] });
    expect(q.mean.dims).toEqual([1, 2]);
    await vae.dispose();
  });
});

describe('CUDA execution provider', () => {
  // onnxruntime-node's install script puts the CUDA provider next to the binding; without it (this machine, CI)
  // the fallback and strict paths are what can run here.
  const binding = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const cudaPresent = existsSync(join(binding, 'libonnxruntime_providers_cuda.so'));
  if (cudaPresent) console.warn('CUDA binaries of onnxruntime-node are installed: the CPU-fallback tests are skipped.');
  const fallbackIt = cudaPresent ? it.skip : it;

  fallbackIt('falls back to the CPU with an observable warning that says how to install CUDA', async () => {
    const warnings: VaeWarning[] = [];
    const vae = await loadVae(FIXTURE, { device: 'cuda', onWarning: (w) => warnings.push(w) });
    try {
      expect(vae.backendName).toBe('onnxruntime-node 1.30.0 (cpu)');
      const { reason, ...info } = vae.backendInfo;
      expect(info).toEqual({ name: 'onnxruntime-node 1.30.0 (cpu)', requestedDevice: 'cuda', device: 'cpu', precision: 'float32', fellBack: true });
      expect(reason).toMatch(/^device "cuda" was requested, but the CUDA execution provider could not be loaded \(.+\); running on the CPU$/);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.code).toBe('CUDA_FALLBACK');
      expect(warnings[0]!.message).toContain('the CUDA execution provider could not be loaded');
      expect(warnings[0]!.message).toContain('onlyBuiltDependencies');
      const q = await vae.encode({ data: new Float32Array(6), dims: [1, 6] });
      expect(q.mean.dims).toEqual([1, 2]);
    } finally {
      await vae.dispose();
    }
  });

  fallbackIt('emits a process warning (process.on("warning")) when no handler is given', () => {
    // A child process, because jest's sandboxed \`process\` does not forward warnings to listeners in the test realm.
    const dist = join(__dirname, '..', 'dist', 'index.js');
    const script = `import { loadVae } from ${JSON.stringify(dist)};
      process.on('warning', (w) => console.log(JSON.stringify({ name: w.name, code: w.code })));
      const vae = await loadVae(${JSON.stringify(FIXTURE)}, { device: 'cuda' });
      console.log(JSON.stringify({ backend: vae.backendName }));
      await vae.dispose();`;
    const lines = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toContainEqual({ backend: 'onnxruntime-node 1.30.0 (cpu)' });
    expect(lines).toContainEqual({ name: 'Warning', code: 'ONNX_VAE_CUDA_FALLBACK' });
  });

  fallbackIt('throws BACKEND_UNAVAILABLE with strict: true', async () => {
    const { code, message } = await failure(loadVae(FIXTURE, { device: 'cuda', strict: true }));
    expect(code).toBe('BACKEND_UNAVAILABLE');
    expect(message).toMatch(/^The CUDA execution provider could not be loaded for the encoder \(.+\)\. onnxruntime-node ships its CUDA execution provider/);
  });
});
