import type { DeviceTensor } from '../backend.js';
import { BackendError } from '../errors.js';
import { VaeTensor } from '../tensor/tensor.js';

/**
 * Latents from {@link Vae.encodeToDevice}: in device memory (`location` `'gpu-buffer'`: onnxruntime-web on WebGPU)
 * or, on backends without device memory, in CPU memory (`location` `'cpu'`), so code written for one runs on all.
 * Pass it to `vae.decode`; {@link DeviceLatent.download} copies it out; {@link DeviceLatent.dispose} frees the GPU
 * buffer (a GPU buffer is not garbage-collected in time, so dispose what you keep, or use `using`).
 *
 * @example
 * using z = await vae.encodeToDevice(x); // stays on the GPU
 * const y = await vae.decode(z);         // only the decoded images come back
 */
export class DeviceLatent {
  /** `'gpu-buffer'` or `'cpu'`. */
  readonly location: string;
  /** Dimensions, batch first. */
  readonly dims: readonly number[];
  private value: DeviceTensor | VaeTensor | null;

  /**
   * Made by `vae.encodeToDevice`; wrappers make one over a CPU tensor where the latent cannot stay on a device (a VAE
   * in a Web Worker: `location` `'cpu'`).
   *
   * @param value - a backend's device tensor, or a {@link VaeTensor} in CPU memory
   */
  constructor(value: DeviceTensor | VaeTensor) {
    this.value = value;
    this.location = value instanceof VaeTensor ? 'cpu' : value.location;
    this.dims = Object.freeze([...value.dims]);
  }

  /** True after {@link DeviceLatent.dispose}. */
  get disposed(): boolean {
    return this.value === null;
  }

  /**
   * The tensor inside, for code that hands it on (the graph runner, a worker wrapper); no copy.
   *
   * @param argument - the argument's name for the error message, e.g. `"z"`
   * @throws {@link BackendError} `DISPOSED` after {@link DeviceLatent.dispose}
   */
  peek(argument: string): DeviceTensor | VaeTensor {
    if (this.value === null)
      throw new BackendError(
        'DISPOSED',
        `"${argument}" is a DeviceLatent that was disposed; encode again, or download() latents you want to keep before disposing them.`,
      );
    return this.value;
  }

  /** Copies the latents to CPU memory (the posterior mean that `encode` gives). */
  async download(): Promise<VaeTensor> {
    const value = this.peek('latent');
    return value instanceof VaeTensor ? value : value.download();
  }

  /** Frees the device memory. Safe to call twice; a disposed latent cannot be decoded. */
  dispose(): void {
    const value = this.value;
    this.value = null;
    if (value !== null && !(value instanceof VaeTensor)) value.dispose();
  }

  /** `using z = await vae.encodeToDevice(x)` disposes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
