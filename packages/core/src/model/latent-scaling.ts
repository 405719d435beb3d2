import { VaeTensor, toTensor } from '../tensor/tensor.js';
import type { TensorInput } from '../tensor/tensor.js';

/** The scaling and shift of a latent space. */
export interface LatentScaling {
  readonly scalingFactor: number;
  readonly shiftFactor: number;
}

/**
 * Raw VAE latent -> the diffusion model's latent: `(z - shiftFactor) * scalingFactor`, elementwise, float32.
 *
 * @example
 * const latent = toDiffusionLatent(q.sample({ seed: 0 }), PRESETS['sd-1']);
 */
export function toDiffusionLatent(z: TensorInput, scaling: LatentScaling): VaeTensor {
  const tensor = toTensor(z, 'z');
  const { scalingFactor, shiftFactor } = scaling;
  const out = new Float32Array(tensor.size);
  for (let i = 0; i < out.length; i++) out[i] = (tensor.data[i]! - shiftFactor) * scalingFactor;
  return new VaeTensor(out, tensor.dims);
}

/** Diffusion latent -> raw VAE latent: `latent / scalingFactor + shiftFactor`, the inverse of {@link toDiffusionLatent}. */
export function fromDiffusionLatent(latent: TensorInput, scaling: LatentScaling): VaeTensor {
  const tensor = toTensor(latent, 'latent');
  const { scalingFactor, shiftFactor } = scaling;
  const out = new Float32Array(tensor.size);
  for (let i = 0; i < out.length; i++) out[i] = tensor.data[i]! / scalingFactor + shiftFactor;
  return new VaeTensor(out, tensor.dims);
}
