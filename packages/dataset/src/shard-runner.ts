/**
 * What runs shards: one loaded model that encodes shard tasks for a dataset, checking first that the dataset was
 * planned for this model. Local worker processes and BullMQ workers both use it.
 */
import { resolve } from 'node:path';
import { VaeError } from '@onnx-vae/core';
import { loadVae } from '@onnx-vae/node';
import type { LoadVaeOptions, NodeVae } from '@onnx-vae/node';
import type { DatasetSpec } from './manifest.js';
import { modelIdentity } from './settings.js';
import type { ModelIdentity } from './settings.js';
import { encodeShard } from './shard.js';
import type { EncodeShardOptions, ShardOutcome, ShardTask } from './shard.js';

/** A loaded model ready to encode shards. */
export interface ShardRunner {
  /** The model. */
  readonly vae: NodeVae;
  /** Its identity. */
  readonly identity: ModelIdentity;
  /**
   * Encodes one shard of a dataset.
   *
   * @throws {@link VaeError} `MODEL_MISMATCH` when the dataset was planned with another model
   */
  run(task: ShardTask, spec: DatasetSpec, out: string, options?: EncodeShardOptions): Promise<ShardOutcome>;
  /** Releases the model. */
  dispose(): Promise<void>;
}

/**
 * The `MODEL_MISMATCH` error when a dataset was planned with another model than `identity`, else `null`.
 */
export function modelMismatch(identity: ModelIdentity, spec: DatasetSpec): VaeError | null {
  if (identity.fingerprint === spec.model.fingerprint && identity.encoderSha256 === spec.model.encoderSha256) return null;
  return new VaeError(
    'MODEL_MISMATCH',
    `This dataset was planned with model "${spec.model.name}" (fingerprint ${spec.model.fingerprint.slice(0, 12)}..., encoder ${spec.model.encoderSha256.slice(0, 12)}...) but this worker loaded "${identity.name}" (fingerprint ${identity.fingerprint.slice(0, 12)}..., encoder ${identity.encoderSha256.slice(0, 12)}...); start the worker with the dataset's model so that its latents match.`,
  );
}

/**
 * Loads a model for encoding shards.
 *
 * @param modelDir - the model folder
 * @param options - loading options (`device`, `intraOpNumThreads`, ...)
 */
export async function createShardRunner(modelDir: string, options: LoadVaeOptions = {}): Promise<ShardRunner> {
  const vae = await loadVae(modelDir, options);
  const identity = await modelIdentity(resolve(modelDir), vae.manifest);
  return {
    vae,
    identity,
    run(task, spec, out, runOptions) {
      const mismatch = modelMismatch(identity, spec);
      if (mismatch !== null) return Promise.reject(mismatch);
      return encodeShard(vae, task, spec.settings, spec.model, out, runOptions);
    },
    dispose: () => vae.dispose(),
  };
}
