import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Manifest } from '@onnx-vae/core';

/**
 * The fingerprint a latent file records for the model that can decode it: the SHA-256 (hex) of the decoder graph's
 * bytes.
 *
 * @param modelDir - the model folder
 * @param manifest - its manifest (loaded or detected)
 */
export async function decoderFingerprint(modelDir: string, manifest: Manifest): Promise<string> {
  // An encoder-only model has no decoder: its encoder's bytes identify the latents it makes instead.
  const bytes = await readFile(join(resolve(modelDir), (manifest.decoder ?? manifest.encoder)!.file));
  return createHash('sha256').update(bytes).digest('hex');
}
