/**
 * What a dataset job stores and how: the option tables (latent kind, space, dtype, shard format), their validation
 * at the public boundary, and the identity of the model that made the latents.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GraphMissingError, InvalidOptionError, describe } from '@onnx-vae/core';
import type { Manifest } from '@onnx-vae/core';
import { decoderFingerprint } from '@onnx-vae/node';
import { FITS } from './preprocess.js';
import type { Fit } from './preprocess.js';

/** What is stored per item. */
export const LATENT_KINDS = Object.freeze({
  /** The posterior mean, tensor `latents`. */
  mean: { tensors: ['latents'] },
  /** A posterior sample z = mean + std * eps, eps seeded per item by its key; tensor `latents`. */
  sample: { tensors: ['latents'] },
  /** Mean and log-variance, tensors `mean` and `logvar`, for trainers that sample themselves. */
  moments: { tensors: ['mean', 'logvar'] },
} as const);
/** One of {@link LATENT_KINDS}. */
export type LatentKind = keyof typeof LATENT_KINDS;

/** Which latent space stored latents are in. */
export const LATENT_SPACES = Object.freeze({
  /** What the VAE encoder gives. */
  raw: 'raw',
  /** `(z - shiftFactor) * scalingFactor`, what a diffusion model trains on (`vae.toDiffusionLatent`). */
  diffusion: 'diffusion',
} as const);
/** One of {@link LATENT_SPACES}. */
export type LatentSpace = keyof typeof LATENT_SPACES;

/** Element types of stored latents. */
export const LATENT_DTYPES = Object.freeze({
  float16: { safetensors: 'F16', npy: '<f2' },
  float32: { safetensors: 'F32', npy: '<f4' },
} as const);
/** One of {@link LATENT_DTYPES}. */
export type LatentDtype = keyof typeof LATENT_DTYPES;

/** Output shard formats. */
export const SHARD_FORMATS = Object.freeze({
  /** One `.safetensors` file per shard: tensors `[N, C, h, w]`, keys in the metadata. */
  safetensors: { extension: 'safetensors' },
  /** One WebDataset `.tar` per shard: `KEY.latent.npy` (and the other tensors) and `KEY.json` per item. */
  wds: { extension: 'tar' },
} as const);
/** One of {@link SHARD_FORMATS}. */
export type ShardFormat = keyof typeof SHARD_FORMATS;

/** Everything that decides a shard's content (part of every shard job). */
export interface EncodeSettings {
  /** Images are brought to `size` x `size`. */
  readonly size: number;
  /** How: centre crop, resize or pad. */
  readonly fit: Fit;
  /** Images with a shorter side below this are `TOO_SMALL`. */
  readonly minSize: number;
  /** Also store the latents of the horizontally mirrored image (tensors with the suffix `_flip`). */
  readonly flip: boolean;
  /** Mean, sample or moments. */
  readonly kind: LatentKind;
  /** Base seed of `sample`; each item's noise is seeded by this and its key. */
  readonly seed: number;
  /** Raw or diffusion-scaled latents. */
  readonly space: LatentSpace;
  /** float16 or float32. */
  readonly dtype: LatentDtype;
  /** safetensors or WebDataset tars. */
  readonly format: ShardFormat;
  /** Items per output shard. */
  readonly shardSize: number;
  /** Images per encoder run. */
  readonly batch: number;
}

/** Options of the settings; every one has a default. */
export type EncodeSettingsOptions = Partial<EncodeSettings>;

/** Defaults of {@link EncodeSettings}. */
export const DEFAULT_SETTINGS: EncodeSettings = Object.freeze({
  size: 256,
  fit: 'crop',
  minSize: 1,
  flip: false,
  kind: 'mean',
  seed: 0,
  space: 'raw',
  dtype: 'float16',
  format: 'safetensors',
  shardSize: 1000,
  batch: 8,
});

function choice<T extends string>(name: string, value: unknown, table: Readonly<Record<T, unknown>>): T {
  if (typeof value !== 'string' || !Object.hasOwn(table, value)) {
    throw new InvalidOptionError(
      name,
      `Expected "${name}" to be one of ${Object.keys(table)
        .map((k) => `"${k}"`)
        .join(', ')} but received ${describe(value)}.`,
    );
  }
  return value as T;
}

function integer(name: string, value: unknown, minimum: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidOptionError(name, `Expected "${name}" to be an integer >= ${minimum} but received ${describe(value)}.`);
  }
  return value;
}

/**
 * Validates settings and fills in defaults.
 *
 * @param options - see {@link EncodeSettings}
 * @param spatialFactor - the model's; `size` must be a multiple of it
 * @throws {@link InvalidOptionError} for a bad value (listing the valid ones), a `size` that is not a multiple of the
 *   spatial factor, or `moments` with the diffusion space
 */
export function resolveSettings(options: EncodeSettingsOptions, spatialFactor: number): EncodeSettings {
  const s = { ...DEFAULT_SETTINGS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as EncodeSettings;
  const settings: EncodeSettings = {
    size: integer('size', s.size, 1),
    fit: choice('fit', s.fit, FITS),
    minSize: integer('minSize', s.minSize, 1),
    flip: s.flip === true,
    kind: choice('kind', s.kind, LATENT_KINDS),
    seed: integer('seed', s.seed, 0),
    space: choice('space', s.space, LATENT_SPACES),
    dtype: choice('dtype', s.dtype, LATENT_DTYPES),
    format: choice('format', s.format, SHARD_FORMATS),
    shardSize: integer('shardSize', s.shardSize, 1),
    batch: integer('batch', s.batch, 1),
  };
  if (settings.size % spatialFactor !== 0) {
    throw new InvalidOptionError(
      'size',
      `Expected "size" to be a multiple of the model's spatial factor ${spatialFactor} but received ${settings.size}; use ${Math.max(spatialFactor, Math.round(settings.size / spatialFactor) * spatialFactor)}.`,
    );
  }
  if (settings.kind === 'moments' && settings.space === 'diffusion') {
    throw new InvalidOptionError(
      'space',
      'Moments (mean and log-variance) are stored in the raw latent space; scale the samples drawn from them with vae.toDiffusionLatent instead.',
    );
  }
  return settings;
}

/** The tensors a shard holds for these settings: `latents` or `mean` + `logvar`, each also `_flip` with `flip`. */
export function tensorNames(settings: Pick<EncodeSettings, 'kind' | 'flip'>): string[] {
  const base: readonly string[] = LATENT_KINDS[settings.kind].tensors;
  return settings.flip ? [...base, ...base.map((name) => `${name}_flip`)] : [...base];
}

/** The model that made a dataset's latents; a worker with another model refuses the dataset's jobs. */
export interface ModelIdentity {
  /** The manifest's name. */
  readonly name: string;
  /** SHA-256 of the decoder graph: the fingerprint `.vlat` latent files record, the model that decodes the latents (of the encoder graph for an encoder-only model). */
  readonly fingerprint: string;
  /** SHA-256 of the encoder graph, which made them. */
  readonly encoderSha256: string;
}

/**
 * The identity of a loaded model folder.
 *
 * @param modelDir - the folder
 * @param manifest - its manifest (`vae.manifest`)
 */
export async function modelIdentity(modelDir: string, manifest: Manifest): Promise<ModelIdentity> {
  if (manifest.encoder === undefined) {
    throw new GraphMissingError(
      'encoder',
      'encodeDataset',
      `Encoding a dataset needs the encoder, but the model "${manifest.name}" has no encoder (a decoder-only model). Load a model folder that has the encoder (an "encoder" section in vae.json, or optimum's vae_encoder/model.onnx).`,
    );
  }
  const encoder = await readFile(join(modelDir, manifest.encoder.file));
  return {
    name: manifest.name,
    fingerprint: await decoderFingerprint(modelDir, manifest),
    encoderSha256: createHash('sha256').update(encoder).digest('hex'),
  };
}
