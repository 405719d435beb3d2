/**
 * `onnx-vae encode`: inputs to latents.
 */
import { NormalV1, concatBatches, randomSeed } from '@onnx-vae/node';
import type { VaeTensor } from '@onnx-vae/node';
import { inBatches, openModel, readModelManifest, requiredOutput, seedOption } from '../context.js';
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

/** Posterior draws for consecutive batches: the same numbers as one `posterior.sample({ seed })` over all items. */
export function posteriorNoise(seed: number | null): ((dims: readonly number[], size: number) => { data: Float32Array; dims: readonly number[] }) | null {
  if (seed === null) return null;
  const rng = new NormalV1(seed);
  return (dims, size) => ({ data: rng.fill(new Float32Array(size)), dims });
}

/** `onnx-vae encode <model> <inputs...> -o <out.npy>`. */
export const encodeCommand: Command = {
  summary: 'encode images or arrays; write the posterior mean (or a sample) as .npy',
  synopsis: 'onnx-vae encode <model> <inputs...> -o <out.npy> [--sample] [--seed N] [--logvar <file.npy>] [options]',
  details: [
    'Inputs are PNG/JPEG images (one item each; converted to the model\'s channels and range, never resized) and',
    '.npy arrays of shape [N, ...item] or one item (float32, float64, or uint8 pixel values scaled to the data range).',
    'Writes the posterior mean, float32 [N, ...latent], in the order of the inputs; with --sample, a draw from the',
    'posterior (the same numbers as the API\'s posterior.sample({ seed }) over all inputs).',
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
      const noise = posteriorNoise(seed);
      const latents: VaeTensor[] = [];
      const logvars: VaeTensor[] = [];
      await inBatches(context, 'encode', tensor.dims[0]!, async (start, end) => {
        const posterior = await vae.encode(tensor.slice(start, end), tiling);
        latents.push(noise ? posterior.sample({ eps: noise(posterior.mean.dims, posterior.mean.size) }) : posterior.mean);
        if (logvarPath !== null) logvars.push(posterior.logvar);
      });
      const files: OutputFile[] = [npyFile(output, concatBatches(latents))];
      if (logvarPath !== null) files.push(npyFile(logvarPath, concatBatches(logvars)));
      await writeOutputs(files);
      if (seed !== null) context.io.stderr.write(`onnx-vae: sampled with --seed ${seed}\n`);
    } finally {
      await vae.dispose();
    }
  },
};
