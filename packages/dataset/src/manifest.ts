/**
 * The dataset manifest `dataset.json` and `errors.jsonl`, assembled from the shard records once every shard is done
 * (or has failed for good).
 */
import { mkdir, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '@onnx-vae/core';
import { writeFileAtomic } from '@onnx-vae/node';
import type { ItemError } from './item-errors.js';
import { RECORDS_FOLDER } from './shard.js';
import type { ShardRecord, ShardTask } from './shard.js';
import { tensorNames } from './settings.js';
import type { EncodeSettings, ModelIdentity } from './settings.js';

/** The manifest's file name in the output folder. */
export const DATASET_MANIFEST_FILE = 'dataset.json';
/** The bad items' file name in the output folder. */
export const ERRORS_FILE = 'errors.jsonl';

/** The model facts a dataset records. */
export interface DatasetModel extends ModelIdentity {
  /** The detected preset of an export without `vae.json`, else `null`. */
  readonly preset: string | null;
  /** The manifest's scaling factor: diffusion latent = (z - shiftFactor) * scalingFactor. */
  readonly scalingFactor: number;
  /** The manifest's shift factor. */
  readonly shiftFactor: number;
  /** Data size over latent size. */
  readonly spatialFactor: number;
}

/** The model facts of a loaded model. */
export function datasetModel(identity: ModelIdentity, manifest: Manifest, preset: string | null): DatasetModel {
  return {
    ...identity,
    preset,
    scalingFactor: manifest.latent.scalingFactor,
    shiftFactor: manifest.latent.shiftFactor,
    spatialFactor: manifest.latent.spatialFactor ?? 1,
  };
}

/** What a dataset is made of: the model and the settings (the same in every job). */
export interface DatasetSpec {
  readonly model: DatasetModel;
  readonly settings: EncodeSettings;
  /** Latent channels. */
  readonly latentChannels: number;
}

/** A planned shard as the manifest step needs it (no item list). */
export interface PlannedShard {
  readonly file: string;
  readonly planHash: string;
  readonly planned: number;
}

/** `dataset.json`. */
export interface DatasetManifest {
  readonly format: 'onnx-vae-dataset';
  readonly version: 1;
  readonly model: DatasetModel;
  /** What the shards hold. */
  readonly latents: {
    readonly kind: EncodeSettings['kind'];
    /** `raw` (what the encoder gives) or `diffusion` ((z - shiftFactor) * scalingFactor). */
    readonly space: EncodeSettings['space'];
    readonly dtype: EncodeSettings['dtype'];
    readonly tensors: readonly string[];
    /** One item's latent dims `[C, h, w]`. */
    readonly shape: readonly number[];
    /** Base seed of `sample` (each item's noise is seeded by it and the key); `null` otherwise. */
    readonly seed: number | null;
  };
  readonly preprocess: { readonly size: number; readonly fit: EncodeSettings['fit']; readonly minSize: number; readonly flip: boolean };
  readonly output: { readonly format: EncodeSettings['format']; readonly shardSize: number };
  /** Items stored. */
  readonly items: number;
  /** Items in `errors.jsonl`. */
  readonly errors: number;
  readonly shards: readonly { readonly file: string; readonly items: number; readonly errors: number; readonly sha256: string; readonly bytes: number }[];
  /** Shards that failed for good (distributed mode) with the reason; empty when the dataset is complete. */
  readonly incomplete: readonly { readonly file: string; readonly planned: number; readonly reason: string }[];
}

async function readRecord(out: string, shard: PlannedShard): Promise<ShardRecord | null> {
  try {
    const record = JSON.parse(await readFile(join(out, RECORDS_FOLDER, `${shard.file}.json`), 'utf8')) as ShardRecord;
    return record.planHash === shard.planHash ? record : null;
  } catch {
    return null;
  }
}

/** The shards of a plan without their item lists. */
export function plannedShards(tasks: readonly ShardTask[], hash: (task: ShardTask) => string): PlannedShard[] {
  return tasks.map((task) => ({ file: task.file, planHash: hash(task), planned: task.items.length }));
}

/**
 * Writes `dataset.json` and `errors.jsonl` (atomically) from the shard records, and removes temporary files that
 * killed writers left behind.
 *
 * @param out - the output folder
 * @param spec - model and settings
 * @param shards - the planned shards
 * @param planErrors - items refused while listing the inputs
 * @param failures - reasons of shards that failed for good, by file
 * @returns the manifest written
 */
export async function writeDatasetManifest(
  out: string,
  spec: DatasetSpec,
  shards: readonly PlannedShard[],
  planErrors: readonly ItemError[],
  failures: ReadonlyMap<string, string> = new Map(),
): Promise<DatasetManifest> {
  const { settings, model } = spec;
  const done: DatasetManifest['shards'][number][] = [];
  const incomplete: DatasetManifest['incomplete'][number][] = [];
  const errors: ItemError[] = [...planErrors];
  for (const shard of shards) {
    const record = await readRecord(out, shard);
    if (record === null) {
      incomplete.push({ file: shard.file, planned: shard.planned, reason: failures.get(shard.file) ?? 'not written' });
      continue;
    }
    done.push({ file: record.file, items: record.items, errors: record.errors.length, sha256: record.sha256, bytes: record.bytes });
    errors.push(...record.errors);
  }
  const manifest: DatasetManifest = {
    format: 'onnx-vae-dataset',
    version: 1,
    model,
    latents: {
      kind: settings.kind,
      space: settings.space,
      dtype: settings.dtype,
      tensors: tensorNames(settings),
      shape: [spec.latentChannels, settings.size / model.spatialFactor, settings.size / model.spatialFactor],
      seed: settings.kind === 'sample' ? settings.seed : null,
    },
    preprocess: { size: settings.size, fit: settings.fit, minSize: settings.minSize, flip: settings.flip },
    output: { format: settings.format, shardSize: settings.shardSize },
    items: done.reduce((sum, shard) => sum + shard.items, 0),
    errors: errors.length,
    shards: done,
    incomplete,
  };
  await mkdir(out, { recursive: true });
  await writeFileAtomic(join(out, ERRORS_FILE), errors.map((error) => `${JSON.stringify(error)}\n`).join(''));
  await writeFileAtomic(join(out, DATASET_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const folder of [out, join(out, RECORDS_FOLDER)]) {
    const names = await readdir(folder).catch(() => [] as string[]);
    await Promise.all(names.filter((name) => name.startsWith('.') && name.endsWith('.tmp')).map((name) => unlink(join(folder, name)).catch(() => undefined)));
  }
  return manifest;
}
