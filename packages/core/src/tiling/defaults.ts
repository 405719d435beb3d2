/**
 * Tiling defaults per architecture. The VAE presets (manifest/presets.ts) carry these under their family names
 * (`'sd-1'`, ..., `'flux-2-tiny'`); {@link TILING_PRESETS} keeps the names they had before (`'kl-f8'`, `'taef2'`).
 * See docs/tiling.md for the measured seam errors behind the overlaps.
 */
import type { TileSettings } from './plan.js';

/** Tiling defaults of one model family. */
export interface TilingDefaults {
  /** Image pixels per latent pixel along each spatial axis. */
  readonly factor: number;
  /** Encoder tiles, in image pixels. */
  readonly encode: TileSettings;
  /** Decoder tiles, in latent pixels. Decoder tiles of 64 latent pixels give 512x512 image tiles for factor 8. */
  readonly decode: TileSettings;
}

/**
 * diffusers `AutoencoderKL`s (Stable Diffusion's kl-f8 VAE and its successors): diffusers' own defaults, 25% overlap
 * (`tile_sample_min_size` 512, `tile_overlap_factor` 0.25). Its decoder has GroupNorm and a mid-block attention, so a
 * tile never sees the whole image; the wide overlap hides the difference.
 */
export const AUTOENCODER_KL_TILING: TilingDefaults = Object.freeze({
  factor: 8,
  encode: Object.freeze({ tileSize: 512, overlap: 128 }),
  decode: Object.freeze({ tileSize: 64, overlap: 16 }),
});

/**
 * Tiny autoencoders (madebyollin/taesd family; measured on TAEF2, FLUX.2 latents, 32 channels): convolutional, with a
 * small receptive field, so narrower overlaps suffice.
 */
export const TINY_AUTOENCODER_TILING: TilingDefaults = Object.freeze({
  factor: 8,
  encode: Object.freeze({ tileSize: 512, overlap: 64 }),
  decode: Object.freeze({ tileSize: 64, overlap: 8 }),
});

/**
 * Tiling defaults under the names they had before the VAE presets carried them: `'kl-f8'` (= the `AutoencoderKL`
 * families, e.g. preset `'sd-1'`) and `'taef2'` (= preset `'flux-2-tiny'`).
 *
 * @deprecated Name a VAE preset (`PRESETS`) instead; these names stay accepted.
 */
export const TILING_PRESETS = Object.freeze({
  'kl-f8': AUTOENCODER_KL_TILING,
  taef2: TINY_AUTOENCODER_TILING,
} as const satisfies Record<string, TilingDefaults>);
