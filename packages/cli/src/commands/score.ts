/**
 * `onnx-vae score`: per-item ELBO, IWAE log-likelihood, bits per dimension, KL and reconstruction error.
 */
import { randomSeed } from '@onnx-vae/node';
import type { ScoreResult } from '@onnx-vae/node';
import { openModel, progressReporter, readModelManifest, seedOption } from '../context.js';
import type { Command } from '../context.js';
import { IMAGE_INPUT_OPTIONS, imageReadOptions, readDataInputs } from '../inputs.js';
import { UsageError, integerOption } from '../options.js';

/** The per-item columns of the score table, in order. */
export const SCORE_COLUMNS = Object.freeze(['elbo', 'logLikelihood', 'bitsPerDim', 'kl', 'reconstructionError'] as const);
/** One of {@link SCORE_COLUMNS}. */
export type ScoreColumn = (typeof SCORE_COLUMNS)[number];

/** What `onnx-vae score --json` prints. */
export interface ScoreReport {
  /** The model's name. */
  readonly model: string;
  /** Importance samples k. */
  readonly samples: number;
  /** The seed used. */
  readonly seed: number | null;
  /** One name per item: the path, or `file.npy[i]`. */
  readonly inputs: readonly string[];
  /** Per-item ELBO in nats; `null` when the model cannot give it (see `notes`), as for the fields below. */
  readonly elbo: number[] | null;
  /** Per-item IWAE estimate of log p(x) with k samples, nats. */
  readonly logLikelihood: number[] | null;
  /** Per-item E_q log p(x|z), nats. */
  readonly reconstruction: number[] | null;
  /** Per-item KL(q(z|x) || N(0, I)), nats. */
  readonly kl: number[] | null;
  /** Per-item -logLikelihood / (D ln 2). */
  readonly bitsPerDim: number[] | null;
  /** Per-item mean squared error of decode(mean), data space. */
  readonly reconstructionError: number[];
  /** Means over the items of each column. */
  readonly mean: Readonly<Record<ScoreColumn | 'reconstruction', number | null>>;
  /** Latent elements whose posterior mean varies across the items (variance > 0.01); `null` for one item. */
  readonly activeUnits: number | null;
  /** Why a number is `null`, and other caveats, from `vae.score`. */
  readonly notes: readonly string[];
}

function list(values: Float64Array | null): number[] | null {
  return values === null ? null : Array.from(values);
}

function mean(values: Float64Array | null): number | null {
  if (values === null || values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Turns a {@link ScoreResult} into the JSON report. */
export function scoreReport(model: string, names: readonly string[], result: ScoreResult): ScoreReport {
  return {
    model,
    samples: result.samples,
    seed: result.seed,
    inputs: names,
    elbo: list(result.elbo),
    logLikelihood: list(result.logLikelihood),
    reconstruction: list(result.reconstruction),
    kl: list(result.kl),
    bitsPerDim: list(result.bitsPerDim),
    reconstructionError: Array.from(result.reconstructionError),
    mean: {
      elbo: mean(result.elbo),
      logLikelihood: mean(result.logLikelihood),
      reconstruction: mean(result.reconstruction),
      kl: mean(result.kl),
      bitsPerDim: mean(result.bitsPerDim),
      reconstructionError: mean(result.reconstructionError),
    },
    activeUnits: result.activeUnits,
    notes: result.notes,
  };
}

function cell(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined) return 'n/a';
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The report as an aligned text table with a mean row. */
export function formatScoreTable(report: ScoreReport): string {
  const digits: Record<ScoreColumn, number> = { elbo: 4, logLikelihood: 4, bitsPerDim: 5, kl: 4, reconstructionError: 6 };
  const rows = report.inputs.map((name, i) => [name, ...SCORE_COLUMNS.map((c) => cell(report[c]?.[i], digits[c]))]);
  rows.push(['mean', ...SCORE_COLUMNS.map((c) => cell(report.mean[c], digits[c]))]);
  const header = ['input', ...SCORE_COLUMNS];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  const line = (r: readonly string[]): string => r.map((v, col) => (col === 0 ? v.padEnd(widths[col]!) : v.padStart(widths[col]!))).join('  ');
  const footer = `samples (k): ${report.samples}, seed: ${report.seed}, items: ${report.inputs.length}, active units: ${report.activeUnits ?? 'n/a'}`;
  return `${[line(header), ...rows.slice(0, -1).map(line), '-'.repeat(widths.reduce((a, b) => a + b + 2, -2)), line(rows.at(-1)!), footer].join('\n')}\n`;
}

/** The report as CSV: a header and one row per item (no mean row); values at full precision, empty when null. */
export function formatScoreCsv(report: ScoreReport): string {
  const lines = [['input', ...SCORE_COLUMNS].join(',')];
  report.inputs.forEach((name, i) => {
    lines.push([csvField(name), ...SCORE_COLUMNS.map((c) => String(report[c]?.[i] ?? ''))].join(','));
  });
  return `${lines.join('\n')}\n`;
}

/** `onnx-vae score <model> <inputs...> [--samples k] [--seed s] [--json | --csv]`. */
export const scoreCommand: Command = {
  summary: 'per-item ELBO, IWAE log-likelihood, bits/dim, KL and reconstruction error',
  synopsis: 'onnx-vae score <model> <inputs...> [--samples k] [--seed s] [--json | --csv] [options]',
  details: [
    'Scores every input item (inputs as for "encode") with vae.score(): elbo, logLikelihood (the IWAE estimate',
    'with k samples), bitsPerDim, kl and reconstructionError, in nats where it applies. Prints a table with a mean',
    'row and the k and seed used; notes go to stderr. --json prints the whole result (per-item arrays, means,',
    'activeUnits, notes, seed, samples); --csv prints one row per item. All items are scored in one API call, so the',
    'numbers equal vae.score(x, { samples, seed }) whatever --max-batch is (it only sets the graph batch size).',
  ].join('\n'),
  options: {
    samples: { type: 'string', value: 'k', description: 'importance samples per item (default 1)' },
    seed: { type: 'string', value: 'N', description: 'seed of the normal-v1 generator (default: random, reported)' },
    json: { type: 'boolean', description: 'print the result as JSON' },
    csv: { type: 'boolean', description: 'print the result as CSV' },
    fit: IMAGE_INPUT_OPTIONS.fit,
    alpha: IMAGE_INPUT_OPTIONS.alpha,
  },
  inputs: { min: 1, max: Infinity },
  async run(context) {
    if (context.values.json === true && context.values.csv === true) throw new UsageError(context.command, '--json and --csv cannot be combined.');
    const samples = integerOption(context.values, 'samples', 1, 1);
    const seed = seedOption(context, randomSeed());
    const { manifest } = await readModelManifest(context);
    const { tensor, names } = await readDataInputs(context.inputs, manifest, imageReadOptions(context));
    const vae = await openModel(context);
    try {
      const stderr = context.io.stderr;
      const progress = progressReporter(context, `score (k = ${samples})`, names.length * samples, vae.maxBatch);
      const result = await vae.score(tensor, { samples, seed, onProgress: progress.onProgress }).finally(progress.finish);
      const report = scoreReport(manifest.name, names, result);
      if (context.values.json === true) {
        context.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      context.io.stdout.write(context.values.csv === true ? formatScoreCsv(report) : formatScoreTable(report));
      if (context.values.csv === true) stderr.write(`onnx-vae: samples (k): ${report.samples}, seed: ${report.seed}\n`);
      for (const note of report.notes) stderr.write(`onnx-vae: note: ${note}\n`);
    } finally {
      await vae.dispose();
    }
  },
};
