/**
 * Conventions of the VAE families latent-diffusion users have: latent channels, spatial factor, scaling and shift
 * factors and input range. A preset supplies what ONNX graphs cannot tell (a graph knows its tensor names and
 * shapes, not the factor its diffusion model was trained with).
 */
import { InvalidOptionError, describe } from '../errors.js';
import { AUTOENCODER_KL_TILING, TINY_AUTOENCODER_TILING } from '../tiling/defaults.js';
import type { TilingDefaults } from '../tiling/defaults.js';
import { choiceList } from '../validate.js';
import type { Dim } from './types.js';

/** One family's conventions. */
export interface VaePreset {
  /** Human-readable family name. */
  readonly label: string;
  /** Latent channels C of `[N, C, H/f, W/f]`. */
  readonly latentChannels: number;
  /** Spatial factor f (image size / latent size). */
  readonly spatialFactor: number;
  /** diffusion latent = (z - shiftFactor) * scalingFactor. */
  readonly scalingFactor: number;
  /** See `scalingFactor`. */
  readonly shiftFactor: number;
  /** Value range of the images the encoder takes and the decoder gives. */
  readonly range: readonly [number, number];
  /** Where the numbers come from, and caveats. */
  readonly note: string;
  /** Tiling defaults of the family's architecture (`tiledEncode`, `tiledDecode`, `vae.encode(x, { tiling })`). */
  readonly tiling: TilingDefaults;
}

/**
 * The presets. Factors are those of the diffusers configs of each family's VAE (`scaling_factor`, `shift_factor`).
 * Tiny autoencoders (TAESD family) produce latents already in their diffusion model's space: factor 1, shift 0.
 */
export const PRESETS = Object.freeze({
  'sd-1': {
    label: 'Stable Diffusion 1.x',
    latentChannels: 4,
    spatialFactor: 8,
    scalingFactor: 0.18215,
    shiftFactor: 0,
    range: [-1, 1],
    note: 'AutoencoderKL of CompVis/stable-diffusion-v1-4 and runwayml/stable-diffusion-v1-5.',
    tiling: AUTOENCODER_KL_TILING,
  },
  'sd-2': {
    label: 'Stable Diffusion 2.x',
    latentChannels: 4,
    spatialFactor: 8,
    scalingFactor: 0.18215,
    shiftFactor: 0,
    range: [-1, 1],
    note: 'AutoencoderKL of stabilityai/stable-diffusion-2-1.',
    tiling: AUTOENCODER_KL_TILING,
  },
  sdxl: {
    label: 'Stable Diffusion XL',
    latentChannels: 4,
    spatialFactor: 8,
    scalingFactor: 0.13025,
    shiftFactor: 0,
    range: [-1, 1],
    note: 'AutoencoderKL of stabilityai/stable-diffusion-xl-base-1.0 (overflows in float16; use float32 or madebyollin/sdxl-vae-fp16-fix).',
    tiling: AUTOENCODER_KL_TILING,
  },
  sd3: {
    label: 'Stable Diffusion 3 / 3.5',
    latentChannels: 16,
    spatialFactor: 8,
    scalingFactor: 1.5305,
    shiftFactor: 0.0609,
    range: [-1, 1],
    note: 'AutoencoderKL of stabilityai/stable-diffusion-3-medium and 3.5.',
    tiling: AUTOENCODER_KL_TILING,
  },
  'flux-1': {
    label: 'FLUX.1',
    latentChannels: 16,
    spatialFactor: 8,
    scalingFactor: 0.3611,
    shiftFactor: 0.1159,
    range: [-1, 1],
    note: 'AutoencoderKL of black-forest-labs/FLUX.1-dev and -schnell.',
    tiling: AUTOENCODER_KL_TILING,
  },
  'flux-2-tiny': {
    label: 'FLUX.2 tiny autoencoder (TAEF2)',
    latentChannels: 32,
    spatialFactor: 8,
    scalingFactor: 1,
    shiftFactor: 0,
    range: [0, 1],
    note: 'madebyollin/taesd taef2: raw 32-channel latents of the FLUX.2 VAE space; FLUX.2 patchifies and normalises outside the VAE.',
    tiling: TINY_AUTOENCODER_TILING,
  },
  taesd: {
    label: 'TAESD (SD 1.x / 2.x)',
    latentChannels: 4,
    spatialFactor: 8,
    scalingFactor: 1,
    shiftFactor: 0,
    range: [0, 1],
    note: 'madebyollin/taesd: latents are already scaled like SD latents.',
    tiling: TINY_AUTOENCODER_TILING,
  },
  taesdxl: {
    label: 'TAESDXL',
    latentChannels: 4,
    spatialFactor: 8,
    scalingFactor: 1,
    shiftFactor: 0,
    range: [0, 1],
    note: 'madebyollin/taesdxl: latents are already scaled like SDXL latents.',
    tiling: TINY_AUTOENCODER_TILING,
  },
  taesd3: {
    label: 'TAESD3',
    latentChannels: 16,
    spatialFactor: 8,
    scalingFactor: 1,
    shiftFactor: 0,
    range: [0, 1],
    note: 'madebyollin/taesd3: latents are already scaled and shifted like SD3 latents.',
    tiling: TINY_AUTOENCODER_TILING,
  },
  taef1: {
    label: 'TAEF1 (FLUX.1)',
    latentChannels: 16,
    spatialFactor: 8,
    scalingFactor: 1,
    shiftFactor: 0,
    range: [0, 1],
    note: 'madebyollin/taef1: latents are already scaled and shifted like FLUX.1 latents.',
    tiling: TINY_AUTOENCODER_TILING,
  },
} satisfies Record<string, VaePreset>);

/** One of {@link PRESETS}. */
export type PresetName = keyof typeof PRESETS;

/**
 * Looks up a preset by name.
 *
 * @throws {@link InvalidOptionError} listing the valid names
 */
export function getPreset(name: string, option = 'preset'): VaePreset {
  if (!Object.hasOwn(PRESETS, name)) {
    throw new InvalidOptionError(option, `Unknown preset ${describe(name)}; the presets are ${choiceList(PRESETS)}.`);
  }
  return PRESETS[name as PresetName];
}

/** The latent item shape `[C, null, null]` of a preset. @internal */
export function presetLatentShape(preset: VaePreset): Dim[] {
  return [preset.latentChannels, null, null];
}
