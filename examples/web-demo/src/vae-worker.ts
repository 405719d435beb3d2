// The demo's module worker: serves one VAE to the page (serveVaeInWorker); the page reads the device it really runs
// on, and why, from the WorkerVae's backendInfo.
import { serveVaeInWorker } from '@onnx-vae/web';

serveVaeInWorker();
