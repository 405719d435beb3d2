// The web demo's page: an image reconstruction panel and an MNIST latent explorer, each with its VAE in a worker.
// `?device=wasm|webgpu|auto` and `?model=kl-f8|taef2|conv-moments` preselect the controls.
import { DEVICES } from '@onnx-vae/web';
import type { Device } from '@onnx-vae/web';
import { setupImagePanel } from './image-panel';
import { setupMnistPanel } from './mnist-panel';

const params = new URLSearchParams(location.search);
const asked = params.get('device');
const device: Device = asked !== null && Object.hasOwn(DEVICES, asked) ? (asked as Device) : 'auto';
const select = document.getElementById('device') as HTMLSelectElement;
select.value = device;

const gpu = 'gpu' in navigator ? 'WebGPU API present' : 'no WebGPU API';
const isolation = crossOriginIsolated
  ? `cross-origin isolated: wasm threads available (${navigator.hardwareConcurrency} cores)`
  : 'not cross-origin isolated: wasm runs on 1 thread';
document.getElementById('environment')!.textContent = `${gpu}; ${isolation}.`;

const [image, mnist] = await Promise.all([setupImagePanel({ device, model: params.get('model') }), setupMnistPanel({ device })]);
select.addEventListener('change', () => {
  const next = select.value as Device;
  image.setDevice(next);
  mnist.setDevice(next);
});
