/**
 * Planning a dataset job: the model's identity, the validated settings, the input list and its shards. The same
 * inputs, settings and model always give the same plan, so a rerun finds the shards it already made.
 */
import { resolve } from 'node:path';
import type { NodeVae } from '@onnx-vae/node';
import { listDatasetInputs } from './inputs.js';
import type { ItemError } from './item-errors.js';
import { datasetModel, plannedShards } from './manifest.js';
import type { DatasetSpec, PlannedShard } from './manifest.js';
import { modelIdentity, resolveSettings } from './settings.js';
import type { EncodeSettingsOptions } from './settings.js';
import { planHash, planShards } from './shard.js';
import type { ShardTask } from './shard.js';

/** A planned dataset job. */
export interface DatasetPlan {
  /** Model and settings. */
  readonly spec: DatasetSpec;
  /** The shards with their items. */
  readonly tasks: readonly ShardTask[];
  /** The shards with their plan hashes (what the manifest step checks). */
  readonly shards: readonly PlannedShard[];
  /** Items refused while listing the inputs (`NO_IMAGE`, `DUPLICATE_KEY`). */
  readonly planErrors: readonly ItemError[];
}

/**
 * Plans a dataset job.
 *
 * @param vae - the loaded model
 * @param modelDir - its folder (hashed for the fingerprint)
 * @param input - see {@link listDatasetInputs}
 * @param options - the settings
 * @throws {@link InvalidOptionError} for bad settings or an input without images
 */
export async function planDataset(vae: NodeVae, modelDir: string, input: string, options: EncodeSettingsOptions): Promise<DatasetPlan> {
  const manifest = vae.manifest;
  const settings = resolveSettings(options, manifest.latent.spatialFactor ?? 1);
  const identity = await modelIdentity(resolve(modelDir), manifest);
  const spec: DatasetSpec = {
    model: datasetModel(identity, manifest, vae.detection?.preset ?? null),
    settings,
    latentChannels: manifest.latent.shape[0] as number,
  };
  const { items, errors } = await listDatasetInputs(input);
  const tasks = planShards(items, settings);
  return { spec, tasks, shards: plannedShards(tasks, (task) => planHash(task, settings, identity)), planErrors: errors };
}
