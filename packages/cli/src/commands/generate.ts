/**
 * `onnx-vae generate`: decodes draws from the prior.
 */
import { InvalidOptionError } from '@onnx-vae/node';
import { openModel, readModelManifest, seedOption } from '../context.js';
import type { Command } from '../context.js';
import { DATA_OUTPUT_OPTIONS, decodeWithProgress } from './decode.js';
import { integerOption } from '../options.js';
import { dataTargets, writeData } from '../outputs.js';

function latentShape(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  const dims = String(value)
    .split(',')
    .map((d) => d.trim());
  if (!dims.every((d) => /^\d+$/.test(d) && Number(d) > 0)) {
    throw new InvalidOptionError(
      'latent-shape',
      `Expected --latent-shape to be positive integers separated by commas (e.g. 4,32,32) but received ${JSON.stringify(value)}.`,
    );
  }
  return dims.map(Number);
}

/** `onnx-vae generate <model> [-n 64] [--seed 0] -o <grid.png|out.npy>`. */
export const generateCommand: Command = {
  summary: 'decode draws z ~ N(0, I) from the prior; write a PNG grid, PNG files or .npy',
  synopsis: 'onnx-vae generate <model> -o <grid.png|out.npy> [-n 64] [--seed 0] [--cols C] [--out-dir DIR] [options]',
  details: ["Draws n latents from the prior with the normal-v1 generator and decodes them: the same numbers as the API's", 'vae.generate({ n, seed }).'].join(
    '\n',
  ),
  options: {
    count: { type: 'string', short: 'n', value: 'N', description: 'number of draws (default 64)' },
    seed: { type: 'string', value: 'N', description: 'seed of the normal-v1 generator (default 0)' },
    ...DATA_OUTPUT_OPTIONS,
    'latent-shape': { type: 'string', value: 'D,D,...', description: 'latent item shape, for models that leave latent sizes open' },
  },
  inputs: { min: 0, max: 0 },
  async run(context) {
    const count = integerOption(context.values, 'count', 1, 64);
    const seed = seedOption(context, 0);
    const shape = latentShape(context.values['latent-shape']);
    const { manifest } = await readModelManifest(context);
    const targets = await dataTargets(context, manifest);
    const vae = await openModel(context);
    try {
      const z = vae.sample({ n: count, seed, ...(shape === undefined ? {} : { latentShape: shape }) });
      const wrote = await writeData(targets, await decodeWithProgress(context, vae, z), manifest);
      context.io.stdout.write(`onnx-vae: wrote ${wrote}\n`);
    } finally {
      await vae.dispose();
    }
  },
};
