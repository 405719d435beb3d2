import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { DEFAULT_LIMITS } from '@onnx-vae/core';
import type { Manifest, ResolvedLimits } from '@onnx-vae/core';
import { readFileLimited } from './read-limited.js';

/**
 * The fingerprint a latent file records for the model that can decode it: the SHA-256 (hex) of the decoder graph's
 * bytes.
 *
 * @param modelDir - the model folder
 * @param manifest - its manifest (loaded or detected)
 * @param limits - `maxGraphBytes` bounds the read (default 1 GiB)
 * @throws {@link LimitExceededError} for a graph over `maxGraphBytes`; the file system's error as thrown
 */
export async function decoderFingerprint(modelDir: string, manifest: Manifest, limits: ResolvedLimits = DEFAULT_LIMITS): Promise<string> {
  // An encoder-only model has no decoder: its encoder's bytes identify the latents it makes instead.
  const graph = (manifest.decoder ?? manifest.encoder)!;
  const path = join(resolve(modelDir), graph.file);
  const bytes = await readFileLimited(path, limits.maxGraphBytes, 'maxGraphBytes', `The ${manifest.decoder ? 'decoder' : 'encoder'} graph ${path}`);
  return createHash('sha256').update(bytes).digest('hex');
}
