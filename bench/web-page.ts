/**
 * The page of `pnpm bench:web` (bench/web.mjs): reconstruct on WebGPU with the latent kept in a GPU buffer
 * between encoder and decoder (`keepLatentsOnGpu`, the default) against the same graphs with every output copied to
 * the CPU and the latent uploaded again, interleaved in one page. Results go to `window.__benchResults`.
 */
import { loadVae } from '../packages/web/src/index';
import type { LoadVaeOptions, WebVae } from '../packages/web/src/index';

interface Case {
  readonly model: string;
  readonly size: number;
  readonly latentBytes: number;
  readonly transferredBytes: number;
  /** reconstruct, latent on the GPU / through the CPU (ms per call). */
  readonly gpu: number[];
  readonly cpu: number[];
  /** decode of the same latent from a GPU buffer / from CPU memory (the upload the GPU path avoids). */
  readonly decodeGpu: number[];
  readonly decodeCpu: number[];
  /** Reading the latent back from its GPU buffer (the readback the GPU path avoids). */
  readonly readback: number[];
  readonly maxAbsDiff: number;
}

const WASM_PATHS = '/packages/web/node_modules/onnxruntime-web/dist/';
const params = new URLSearchParams(location.search);
const rounds = Number(params.get('rounds') ?? 10);
const sizes = (params.get('sizes') ?? '32').split(',').map(Number);

async function loadPair(model: string): Promise<[WebVae, WebVae] | null> {
  const base: LoadVaeOptions = { device: 'webgpu', wasmPaths: WASM_PATHS, cache: false };
  const load = async (options: LoadVaeOptions): Promise<WebVae> => {
    if (model !== 'taef2') return loadVae(`/models/${model}/`, options);
    // No vae.json: detected from the graphs, the File names giving the layout.
    const file = async (name: string) => new File([await (await fetch(`/taesd/${name}`)).arrayBuffer()], name);
    return loadVae({ encoder: await file('taef2_encoder.onnx'), decoder: await file('taef2_decoder.onnx') }, options);
  };
  if (model === 'taef2' && !(await fetch('/taesd/taef2_encoder.onnx', { method: 'HEAD' })).ok) return null;
  return [await load(base), await load({ ...base, keepLatentsOnGpu: false })];
}

async function run(): Promise<Case[]> {
  const cases: Case[] = [];
  for (const model of ['kl-f8', 'taef2']) {
    const pair = await loadPair(model);
    if (!pair) continue;
    const [onGpu, viaCpu] = pair;
    for (const size of sizes) {
      const [low, high] = onGpu.manifest.data.range;
      const x = {
        data: Float32Array.from({ length: 3 * size * size }, (_, i) => low + ((high - low) * (1 + Math.sin(i * 0.0137) * Math.cos(i * 0.071))) / 2),
        dims: [1, 3, size, size],
      };
      // Warm-up: shader compilation and buffer caches on both paths.
      const [a, b] = [await onGpu.reconstruct(x), await viaCpu.reconstruct(x)];
      let maxAbsDiff = 0;
      for (let i = 0; i < a.data.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a.data[i]! - b.data[i]!));
      const q = await viaCpu.encode(x);
      const channels = onGpu.manifest.encoder.output.kind === 'moments' ? 2 : 1;
      const gpu: number[] = [];
      const cpu: number[] = [];
      const decodeGpu: number[] = [];
      const decodeCpu: number[] = [];
      const readback: number[] = [];
      const timed = async (into: number[], task: () => Promise<unknown>): Promise<void> => {
        const t0 = performance.now();
        await task();
        into.push(performance.now() - t0);
      };
      using latent = await onGpu.encodeToDevice(x);
      for (let r = 0; r < rounds; r++) {
        const pairs: [number[], () => Promise<unknown>][][] = [
          [
            [gpu, () => onGpu.reconstruct(x)],
            [cpu, () => viaCpu.reconstruct(x)],
          ],
          [
            [decodeGpu, () => onGpu.decode(latent)],
            [decodeCpu, () => onGpu.decode(q.mean)],
          ],
        ];
        for (const pair of pairs) for (const [into, task] of r % 2 ? pair : [...pair].reverse()) await timed(into, task);
        await timed(readback, () => latent.download());
      }
      // Via the CPU the encoder's output comes down (both halves of a moments output) and the mean goes back up.
      cases.push({
        model,
        size,
        latentBytes: 4 * q.mean.size,
        transferredBytes: 4 * q.mean.size * (channels + 1),
        gpu,
        cpu,
        decodeGpu,
        decodeCpu,
        readback,
        maxAbsDiff,
      });
      console.log(`bench ${model} ${size}x${size} done`);
    }
    await Promise.all([onGpu.dispose(), viaCpu.dispose()]);
  }
  return cases;
}

declare global {
  interface Window {
    __benchResults?: { cases?: Case[]; adapter?: string; error?: string };
  }
}

run().then(
  async (cases) => {
    const adapter = await (
      navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null> } }
    ).gpu?.requestAdapter();
    window.__benchResults = { cases, adapter: [adapter?.info?.vendor, adapter?.info?.architecture].filter(Boolean).join(' ') };
  },
  (error: unknown) => {
    window.__benchResults = { error: String((error as Error)?.stack ?? error) };
  },
);
