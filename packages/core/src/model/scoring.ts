/**
 * `vae.score`: ELBO, the importance-weighted log-likelihood estimate (IWAE, Burda et al. 2015), E_q log p(x|z), KL,
 * bits per dimension, reconstruction error and active units, per item.
 */
import type { RunOptions } from '../backend.js';
import { likelihoodModel, toDataSpace } from '../likelihood/registry.js';
import type { DecoderRows } from '../likelihood/types.js';
import { logSumExp, standardNormalLogDensity } from '../math.js';
import { NormalV1, assertSeed, randomSeed } from '../rng.js';
import { ModelMismatchError } from '../errors.js';
import { VaeTensor } from '../tensor/tensor.js';
import { functionOption, positiveIntegerOption } from '../validate.js';
import type { GraphRunner } from './graph-runner.js';
import { noise } from './noise.js';
import type { Posterior } from './posterior.js';
import type { ScoreOptions, ScoreResult } from './types.js';

/** Latent elements count as active when the variance of their posterior mean across the batch exceeds this. */
const ACTIVE_UNIT_THRESHOLD = 0.01;

/**
 * Scores prepared data (already checked and not padded) with a model's graphs.
 *
 * @internal
 */
export async function scoreData(runner: GraphRunner, data: VaeTensor, options: ScoreOptions, run: RunOptions = {}): Promise<ScoreResult> {
  const manifest = runner.manifest;
  const samples = positiveIntegerOption(options.samples, 'samples', 1);
  const onProgress = functionOption(options.onProgress, 'onProgress');
  const likelihood = manifest.likelihood;
  const model = likelihoodModel(likelihood);
  model.checkData?.(likelihood, data.data, manifest.name);
  const seed = options.eps === undefined ? (options.seed ?? randomSeed()) : null;
  if (seed !== null) assertSeed(seed);
  const posterior = await runner.encode(data, undefined, run);
  const batch = posterior.batch;
  const latentSize = posterior.latentSize;
  const itemSize = data.size / batch;
  const notes: string[] = [];

  const meanDecoded = await runner.decodeRows(posterior.mean, undefined, run);
  checkDecodedSize(meanDecoded, itemSize);
  const reconstructionError = meanSquaredError(data.data, toDataSpace(likelihood, meanDecoded.output), batch, itemSize);
  const activeUnits = countActiveUnits(posterior);
  if (activeUnits === null) notes.push('activeUnits needs at least 2 items; it is null for a batch of 1.');

  const empty = { samples, seed, reconstructionError, activeUnits };
  const logLikelihoodOf = model.logLikelihood?.bind(model);
  if (logLikelihoodOf === undefined) {
    notes.push(...(model.scoreNotes?.(likelihood, manifest.name) ?? []));
    const kl = posterior.deterministic ? null : posterior.kl();
    if (kl === null) notes.push('The encoder is deterministic (std 0): the KL to N(0, I) is infinite, so kl is null.');
    return { ...empty, elbo: null, logLikelihood: null, reconstruction: null, kl, bitsPerDim: null, notes };
  }
  const logPxOf = (x: Float32Array, xOffset: number, decoded: DecoderRows, row: number): number =>
    logLikelihoodOf(likelihood, x, xOffset, decoded, row, itemSize);
  if (posterior.deterministic) {
    notes.push('The encoder is deterministic (std 0): KL, ELBO and the IWAE estimate are not defined; reconstruction is log p(x|z) at the encoded latent.');
    const reconstruction = new Float64Array(batch);
    for (let i = 0; i < batch; i++) reconstruction[i] = logPxOf(data.data, i * itemSize, meanDecoded, i);
    return { ...empty, elbo: null, logLikelihood: null, reconstruction, kl: null, bitsPerDim: null, notes };
  }

  // k * N rows in (sample, item) order; noise streamed in that order, so chunking never changes the draws.
  const rows = samples * batch;
  const latentDims = posterior.mean.dims.slice(1);
  const epsTensor = options.eps === undefined ? null : noise([samples, batch, ...latentDims], options);
  const rng = seed === null ? null : new NormalV1(seed);
  const logPx = new Float64Array(rows);
  const logWeight = new Float64Array(rows);
  const mean = posterior.mean.data;
  const logvar = posterior.logvar.data;
  const std = posterior.std.data;
  const chunkRows = Math.min(rows, runner.maxBatch === Infinity ? rows : runner.maxBatch);
  const epsChunk = new Float32Array(chunkRows * latentSize);
  const z = new Float32Array(chunkRows * latentSize);
  // log q(z|x) at z = mean + std * eps is sum(-eps^2/2 - logvar/2) - L log(2 pi)/2: exact, where recomputing
  // (z - mean) / std from the float32 z would lose everything when std is tiny (logvar near -30).
  const logvarSums = new Float64Array(batch);
  for (let i = 0; i < batch; i++) {
    let sum = 0;
    for (let j = i * latentSize; j < (i + 1) * latentSize; j++) sum += logvar[j]!;
    logvarSums[i] = sum;
  }
  for (let start = 0; start < rows; start += chunkRows) {
    const count = Math.min(chunkRows, rows - start);
    const eps = epsChunk.subarray(0, count * latentSize);
    const chunk = z.subarray(0, count * latentSize);
    if (epsTensor) eps.set(epsTensor.data.subarray(start * latentSize, (start + count) * latentSize));
    else rng!.fill(eps);
    for (let r = 0; r < count; r++) {
      const base = ((start + r) % batch) * latentSize;
      const offset = r * latentSize;
      for (let j = 0; j < latentSize; j++) chunk[offset + j] = mean[base + j]! + Math.fround(std[base + j]! * eps[offset + j]!);
    }
    const decoded = await runner.decodeRows(new VaeTensor(chunk, [count, ...latentDims]), undefined, run);
    checkDecodedSize(decoded, itemSize);
    for (let r = 0; r < count; r++) {
      const row = start + r;
      const item = row % batch;
      const lpx = logPxOf(data.data, item * itemSize, decoded, r);
      const lpz = standardNormalLogDensity(chunk, r * latentSize, latentSize);
      const lqz = standardNormalLogDensity(eps, r * latentSize, latentSize) - 0.5 * logvarSums[item]!;
      logPx[row] = lpx;
      logWeight[row] = lpx + lpz - lqz;
    }
    onProgress?.(start + count, rows);
  }
  const kl = posterior.kl();
  const reconstruction = new Float64Array(batch);
  const elbo = new Float64Array(batch);
  const logLikelihood = new Float64Array(batch);
  const bitsPerDim = new Float64Array(batch);
  const weights = new Float64Array(samples);
  const logK = Math.log(samples);
  for (let i = 0; i < batch; i++) {
    let sum = 0;
    for (let s = 0; s < samples; s++) {
      sum += logPx[s * batch + i]!;
      weights[s] = logWeight[s * batch + i]!;
    }
    reconstruction[i] = sum / samples;
    elbo[i] = reconstruction[i]! - kl[i]!;
    logLikelihood[i] = logSumExp(weights) - logK;
    bitsPerDim[i] = -logLikelihood[i]! / (itemSize * Math.LN2);
  }
  notes.push(...(model.scoreNotes?.(likelihood, manifest.name) ?? []));
  return { ...empty, elbo, logLikelihood, reconstruction, kl, bitsPerDim, notes };
}

function checkDecodedSize(decoded: DecoderRows, itemSize: number): void {
  if (decoded.output.length !== decoded.rows * itemSize) {
    throw new ModelMismatchError('decoder', `The decoder produced ${decoded.output.length / decoded.rows} values per item but the data has ${itemSize}.`);
  }
}

/** Mean squared error per item between `x` and `y`, `batch` items of `size` values. @internal */
export function meanSquaredError(x: Float32Array, y: Float32Array, batch: number, size: number): Float64Array {
  const out = new Float64Array(batch);
  for (let i = 0; i < batch; i++) {
    let sum = 0;
    for (let j = i * size; j < (i + 1) * size; j++) {
      const d = x[j]! - y[j]!;
      sum += d * d;
    }
    out[i] = sum / size;
  }
  return out;
}

/** Latent elements whose posterior mean varies across the batch by more than 0.01; `null` for one item. @internal */
export function countActiveUnits(posterior: Posterior): number | null {
  const batch = posterior.batch;
  if (batch < 2) return null;
  const size = posterior.latentSize;
  const mean = posterior.mean.data;
  let active = 0;
  for (let j = 0; j < size; j++) {
    let sum = 0;
    for (let i = 0; i < batch; i++) sum += mean[i * size + j]!;
    const average = sum / batch;
    let variance = 0;
    for (let i = 0; i < batch; i++) {
      const d = mean[i * size + j]! - average;
      variance += d * d;
    }
    if (variance / batch > ACTIVE_UNIT_THRESHOLD) active++;
  }
  return active;
}
