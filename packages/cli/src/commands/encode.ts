/**
 * `onnx-vae encode`: inputs to latents.
 */
import { describe, randomSeed } from '@onnx-vae/node';
import { openModel, progressReporter, readModelManifest, requiredOutput, seedOption } from '../context.js';
import type { Command } from '../context.js';
import { IMAGE_INPUT_OPTIONS, imageReadOptions, readDataInputs } from '../inputs.js';
import { checkOutputFolder, npyFile, outputFormat, writeOutputs } from '../outputs.js';
import type { OutputFile } from '../outputs.js';

/** Options of the commands that may draw from the posterior (`encode`, `reconstruct`). */
export const SAMPLE_OPTIONS = Object.freeze({
  sample: { type: 'boolean', description: 'draw z = mean + std * eps from the posterior instead of taking the mean' },
  seed: { type: 'string', value: 'N', description: 'seed of the normal-v1 generator for --sample (default: random, printed)' },
} as const);

/**
 * The seed for `--sample`: `--seed`, or a random one; `null` without `--sample` (with a warning when `--seed` is given
 * anyway).
 */
export function sampleSeed(context: Parameters<Command['run']>[0]): number | null {
  if (context.values.sample !== true) {
    if (context.values.seed !== undefined) context.io.stderr.write('onnx-vae: warning: --seed has no effect without --sample.\n');
    return null;
  }
  return seedOption(context, randomSeed());
}

/** `onnx-vae encode <model> <inputs...> -o <out.npy>`. */
export const encodeCommand: Command = {
  summary: 'encode images or arrays; write the posterior mean (or a sample) as .npy',
  synopsis: 'onnx-vae encode <model> <inputs...> -o <out.npy> [--sample] [--seed N] [--logvar <file.npy>] [options]',
  details: [
    "Inputs are PNG/JPEG images (one item each; converted to the model's channels and range, never resized) and",
    '.npy arrays of shape [N, ...item] or one item (float32, float64, or uint8 pixel values scaled to the data range).',
    'Writes the posterior mean, float32 [N, ...latent], in the order of the inputs; with --sample, a draw from the',
    "posterior (the same numbers as the API's posterior.sample({ seed }) over all inputs).",
  ].join('\n'),
  options: {
    output: { type: 'string', short: 'o', value: 'FILE.npy', description: 'where to write the latents' },
    ...SAMPLE_OPTIONS,
    logvar: { type: 'string', value: 'FILE.npy', description: 'also write the log-variance, clamped to [-30, 20]' },
    ...IMAGE_INPUT_OPTIONS,
  },
  inputs: { min: 1, max: Infinity },
  async run(context) {
    const output = requiredOutput(context, 'out.npy');
    outputFormat(output, '-o', ['npy']);
    await checkOutputFolder(output, '-o');
    const logvarPath = typeof context.values.logvar === 'string' ? context.values.logvar : null;
    if (logvarPath !== null) {
      outputFormat(logvarPath, '--logvar', ['npy']);
      await checkOutputFolder(logvarPath, '--logvar');
    }
    const seed = sampleSeed(context);
    const { manifest } = await readModelManifest(context);
    const { tensor } = await readDataInputs(context.inputs, manifest, imageReadOptions(context));
    const tiling = context.values.tile === true ? { tiling: true as const } : {};
    const vae = await openModel(context);
    try {
      const progress = progressReporter(context, 'encode', tensor.dims[0]!, vae.maxBatch);
      const posterior = await vae.encode(tensor, { ...tiling, onProgress: progress.onProgress }).finally(progress.finish);
      const latents = seed === null ? posterior.mean : posterior.sample({ seed });
      const files: OutputFile[] = [npyFile(output, latents)];
      if (logvarPath !== null) files.push(npyFile(logvarPath, posterior.logvar));
      await writeOutputs(files);
      if (seed !== null) context.io.stderr.write(`onnx-vae: sampled with --seed ${seed}\n`);
      const what = seed === null ? 'posterior means' : 'posterior samples';
      context.io.stdout.write(
        `onnx-vae: wrote ${output}: ${latents.dims[0]} ${what} ${describe([...latents.dims])} float32${logvarPath === null ? '' : `, and their log-variances to ${logvarPath}`}\n`,
      );
    } finally {
      await vae.dispose();
    }
  },
};
