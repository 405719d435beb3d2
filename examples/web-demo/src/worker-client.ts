// Starting a VAE in its own module worker; its backendInfo says which device it really runs on.
import { loadVaeInWorker } from '@onnx-vae/web';
import type { BackendInfo, Device, LoadProgress, ModelFiles, WorkerVae } from '@onnx-vae/web';

/** A VAE in a worker of its own; `close()` disposes it and ends the worker. */
export interface RemoteVae {
  readonly vae: WorkerVae;
  readonly backend: BackendInfo;
  readonly loadMs: number;
  close(): void;
}

/** onnxruntime-web's .wasm files, copied next to the page by build.mjs. */
export const WASM_PATHS = new URL('ort/', location.href).href;

/**
 * Loads a VAE in a new module worker.
 *
 * @param source - a model folder's URL, or the manifest and graphs in memory
 * @throws what `loadVaeInWorker` throws (VaeErrors with their code); the worker is ended then
 */
export async function startRemoteVae(source: string | ModelFiles, device: Device, onProgress?: (progress: LoadProgress) => void): Promise<RemoteVae> {
  const worker = new Worker(new URL('./vae-worker.js', import.meta.url), { type: 'module', name: 'onnx-vae' });
  const started = performance.now();
  try {
    const vae = await loadVaeInWorker(worker, source, { device, wasmPaths: WASM_PATHS, ...(onProgress ? { onProgress } : {}) });
    const loadMs = performance.now() - started;
    const backend = vae.backendInfo;
    let closed = false;
    return {
      vae,
      backend,
      loadMs,
      close: () => {
        if (closed) return;
        closed = true;
        vae
          .dispose()
          .catch(() => undefined)
          .finally(() => worker.terminate());
      },
    };
  } catch (error) {
    worker.terminate();
    throw error;
  }
}

/** One line for an error, with the VaeError code where there is one. */
export function errorText(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as Error | null)?.message ?? String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
