// The demo's module worker: serves one VAE to the page (serveVaeInWorker), and answers `{ demo: 'backend' }` with
// the execution provider its VAE runs on and why. A WorkerVae does not expose its backend (as `vae.backendName` and
// `OrtWebBackend.deviceReason` do in the page), so this records the backend that creates the worker's sessions.
import { OrtWebBackend, serveVaeInWorker } from '@onnx-vae/web';
import type { BackendInfo } from './worker-client';

let backend: OrtWebBackend | null = null;
const createSession = OrtWebBackend.prototype.createSession;
OrtWebBackend.prototype.createSession = function (this: OrtWebBackend, ...args: Parameters<OrtWebBackend['createSession']>) {
  backend = this;
  return createSession.apply(this, args);
};

serveVaeInWorker();

self.addEventListener('message', (event: MessageEvent) => {
  if ((event.data as { demo?: unknown } | null)?.demo !== 'backend') return;
  const info: BackendInfo = { name: backend?.name ?? null, executionProvider: backend?.executionProvider ?? null, deviceReason: backend?.deviceReason ?? '' };
  self.postMessage({ demo: 'backend', info });
});
