/**
 * `onnx-vae decode`: latents to data (PNG grid, PNG files, or .npy).
 */
import { concatBatches } from '@onnx-vae/node';
import type { VaeTensor } from '@onnx-vae/node';
import type { NodeVae as Vae } from '@onnx-vae/node';
import { inBatches, limitsOption, openModel, readModelManifest } from '../context.js';
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

/** Decodes latents in batches of `--max-batch`, with a progress bar. */
export async function decodeInBatches(context: CommandContext, vae: Vae, latents: VaeTensor): Promise<VaeTensor> {
  const parts: VaeTensor[] = [];
  await inBatches(context, context.command, latents.dims[0]!, async (start, end) => {
    parts.push(await vae.decode(latents.slice(start, end), context.values.tile === true ? { tiling: true } : {}));
  });
  return concatBatches(parts);
}

/** `onnx-vae decode <model> <latents.npy...> -o <out.png|out.npy>`. */
export const decodeCommand: Command = {
  summary: 'decode latents from .npy; write a PNG grid, PNG files or .npy',
  synopsis: 'onnx-vae decode <model> <latents.npy...> -o <out.png|out.npy> [--out-dir DIR] [--cols C] [options]',
  details: [
    'Latents are .npy arrays (float32 or float64) of shape [N, ...latent] or one latent, as "onnx-vae encode" writes',
    'them. Decoded values are in the data space (probabilities for a Bernoulli decoder); PNGs map the manifest\'s',
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
      await writeData(targets, await decodeInBatches(context, vae, tensor), manifest);
    } finally {
      await vae.dispose();
    }
  },
};
