/**
 * `onnx-vae decode`: latents to data (PNG grid, PNG files, or .npy).
 */
import type { VaeTensor } from '@onnx-vae/node';
import type { NodeVae as Vae } from '@onnx-vae/node';
import { limitsOption, openModel, progressReporter, readModelManifest } from '../context.js';
import type { Command, CommandContext } from '../context.js';
import { readLatentInputs } from '../inputs.js';
import { dataTargets, writeData } from '../outputs.js';

/** Options of the commands that write decoded data (`decode`, `generate`). */
export const DATA_OUTPUT_OPTIONS = Object.freeze({
  output: { type: 'string', short: 'o', value: 'FILE.png|FILE.npy', description: '.png: one grid of all items; .npy: the data, float32 [N, ...data]' },
  'out-dir': { type: 'string', value: 'DIR', description: 'also write one PNG per item: DIR/0000.png, DIR/0001.png, ...' },
  cols: { type: 'string', value: 'C', description: 'columns of the PNG grid (default ceil(sqrt(N)))' },
  tile: { type: 'boolean', description: 'decode in overlapping tiles (image models; bounded memory for large images)' },
} as const);

/** `vae.decode(latents)` with `--tile` and a progress bar. */
export async function decodeWithProgress(context: CommandContext, vae: Vae, latents: VaeTensor): Promise<VaeTensor> {
  const progress = progressReporter(context, context.command, latents.dims[0]!, vae.maxBatch);
  const tiling = context.values.tile === true ? { tiling: true } : {};
  return vae.decode(latents, { ...tiling, onProgress: progress.onProgress }).finally(progress.finish);
}

/** `onnx-vae decode <model> <latents.npy...> -o <out.png|out.npy>`. */
export const decodeCommand: Command = {
  summary: 'decode latents from .npy; write a PNG grid, PNG files or .npy',
  synopsis: 'onnx-vae decode <model> <latents.npy...> -o <out.png|out.npy> [--out-dir DIR] [--cols C] [options]',
  details: [
    'Latents are .npy arrays (float32 or float64) of shape [N, ...latent] or one latent, as "onnx-vae encode" writes',
    "them. Decoded values are in the data space (probabilities for a Bernoulli decoder); PNGs map the manifest's",
    'data range to 0..255. Give -o, --out-dir or both.',
  ].join('\n'),
  options: DATA_OUTPUT_OPTIONS,
  inputs: { min: 1, max: Infinity },
  async run(context) {
    const { manifest } = await readModelManifest(context);
    const targets = await dataTargets(context, manifest);
    const { tensor } = await readLatentInputs(context.inputs, manifest, limitsOption(context));
    const vae = await openModel(context);
    try {
      const wrote = await writeData(targets, await decodeWithProgress(context, vae, tensor), manifest);
      context.io.stdout.write(`onnx-vae: wrote ${wrote}\n`);
    } finally {
      await vae.dispose();
    }
  },
};
