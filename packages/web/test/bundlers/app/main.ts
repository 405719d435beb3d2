// The tiny app of the bundler tests (packages/web/test/bundlers/run.mjs): what a user writes, bundled with esbuild, vite and
// rspack from the packed @onnx-vae/web. `?device=` picks the device and `?wasmPaths=` the folder of onnxruntime-web's
// files; the numbers (or the error) go to `window.__result` for the runner to compare with @onnx-vae/node's.
import { VaeError, loadVae } from '@onnx-vae/web';
import type { BackendInfo, Device } from '@onnx-vae/web';

interface Result {
  readonly ok: boolean;
  readonly backendInfo?: BackendInfo;
  readonly mean?: number[];
  readonly decoded?: number[];
  readonly elbo?: number[];
  readonly logLikelihood?: number[];
  readonly code?: string | null;
  readonly message?: string;
}

declare global {
  interface Window {
    __result?: Result;
  }
}

async function run(): Promise<Result> {
  const params = new URLSearchParams(location.search);
  const device = (params.get('device') ?? 'auto') as Device;
  const wasmPaths = params.get('wasmPaths');
  const input = (await (await fetch('./input.json')).json()) as { data: number[]; dims: number[] };
  const vae = await loadVae('/models/mnist-vae/', { device, cache: false, ...(wasmPaths ? { wasmPaths } : {}) });
  try {
    const x = { data: Float32Array.from(input.data), dims: input.dims };
    const q = await vae.encode(x);
    const decoded = await vae.decode(q.mean);
    const score = await vae.score(x, { samples: 4, seed: 0 });
    return {
      ok: true,
      backendInfo: vae.backendInfo,
      mean: Array.from(q.mean.data),
      decoded: Array.from(decoded.data),
      elbo: Array.from(score.elbo ?? []),
      logLikelihood: Array.from(score.logLikelihood ?? []),
    };
  } finally {
    await vae.dispose();
  }
}

// The published types need lib "ESNext.Disposable" for this (Symbol.asyncDispose); the tsc step checks it.
export type AsyncDisposeOfVae = Awaited<ReturnType<typeof loadVae>>[typeof Symbol.asyncDispose];

run().then(
  (result) => {
    window.__result = result;
  },
  (error: unknown) => {
    window.__result = { ok: false, code: VaeError.isInstance(error) ? error.code : null, message: String((error as Error)?.message ?? error) };
  },
);
