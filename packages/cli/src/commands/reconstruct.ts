/**
 * `onnx-vae reconstruct`: decode(encode(x)), written as .npy or as a PNG of originals above reconstructions.
 */
import { describe, imageGrid } from '@onnx-vae/node';
import type { PixelImage } from '@onnx-vae/node';
import { openModel, progressReporter, readModelManifest, requiredOutput } from '../context.js';
import type { Command } from '../context.js';
import { SAMPLE_OPTIONS, sampleSeed } from './encode.js';
import { IMAGE_INPUT_OPTIONS, imageReadOptions, readDataInputs } from '../inputs.js';
import { integerOption } from '../options.js';
import { checkImageOutput, checkOutputFolder, itemImages, npyFile, outputFormat, pngFile, writeOutputs } from '../outputs.js';

/**
 * The comparison grid's tiles: items in groups of `cols`; each group is a row of originals followed by a row of
 * their reconstructions; the last group's empty cells are `null`.
 */
export function comparisonTiles(originals: readonly PixelImage[], reconstructions: readonly PixelImage[], cols: number): (PixelImage | null)[] {
  const tiles: (PixelImage | null)[] = [];
  for (let start = 0; start < originals.length; start += cols) {
    for (const row of [originals, reconstructions]) {
      for (let i = start; i < start + cols; i++) tiles.push(row[i] ?? null);
    }
  }
  return tiles;
}

/** `onnx-vae reconstruct <model> <inputs...> -o <out.png|out.npy>`. */
export const reconstructCommand: Command = {
  summary: 'encode and decode inputs; write originals next to reconstructions (PNG) or the reconstructions (.npy)',
  synopsis: 'onnx-vae reconstruct <model> <inputs...> -o <out.png|out.npy> [--sample] [--seed N] [--cols C] [options]',
  details: [
    'Decodes the posterior mean of each input (with --sample, a posterior draw). Inputs as for "encode".',
    '.npy: the reconstructions, float32 [N, ...data], in input order.',
    '.png: a grid read in groups of C items (--cols, default ceil(sqrt(2N))): each group is one row of originals',
    'with the row of their reconstructions directly below it, so every reconstruction sits under its original.',
  ].join('\n'),
  options: {
    output: { type: 'string', short: 'o', value: 'FILE.png|FILE.npy', description: 'where to write the comparison grid or the reconstructions' },
    ...SAMPLE_OPTIONS,
    ...IMAGE_INPUT_OPTIONS,
    cols: { type: 'string', value: 'C', description: 'items per row of the PNG (default ceil(sqrt(2N)))' },
  },
  inputs: { min: 1, max: Infinity },
  async run(context) {
    const output = requiredOutput(context, 'out.png|out.npy');
    const format = outputFormat(output, '-o', ['png', 'npy']);
    await checkOutputFolder(output, '-o');
    const cols = integerOption(context.values, 'cols', 1);
    const seed = sampleSeed(context);
    const { manifest } = await readModelManifest(context);
    if (format === 'png') checkImageOutput(manifest, '-o');
    const { tensor } = await readDataInputs(context.inputs, manifest, imageReadOptions(context));
    const tiling = context.values.tile === true ? { tiling: true as const } : {};
    const vae = await openModel(context);
    try {
      const count = tensor.dims[0]!;
      const progress = progressReporter(context, 'reconstruct', 2 * count, vae.maxBatch);
      const sample = seed === null ? {} : { sample: true, seed };
      const reconstructions = await vae.reconstruct(tensor, { ...tiling, ...sample, onProgress: progress.onProgress }).finally(progress.finish);
      let wrote: string;
      if (format === 'npy') {
        await writeOutputs([npyFile(output, reconstructions)]);
        wrote = `${count} reconstructions ${describe([...reconstructions.dims])} float32`;
      } else {
        const columns = Math.min(count, cols ?? Math.ceil(Math.sqrt(2 * count)));
        const tiles = comparisonTiles(itemImages(tensor, manifest), itemImages(reconstructions, manifest), columns);
        const grid = imageGrid(tiles, columns);
        await writeOutputs([await pngFile(output, grid)]);
        wrote = `${count} originals with their reconstructions below, ${columns} per row, ${grid.width}x${grid.height}`;
      }
      if (seed !== null) context.io.stderr.write(`onnx-vae: sampled with --seed ${seed}\n`);
      context.io.stdout.write(`onnx-vae: wrote ${output}: ${wrote}\n`);
    } finally {
      await vae.dispose();
    }
  },
};
