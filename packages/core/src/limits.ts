/**
 * Resource limits: one frozen table of every bound onnx-vae puts on the memory and work a caller's input can cause,
 * with defaults that keep a default-configured process under about 2 GB on hostile input (docs/limits.md).
 */
import { InvalidOptionError, LimitExceededError, describe } from './errors.js';

/** One resource limit: its default, unit, what it bounds, and how to raise it. */
export interface LimitSpec {
  /** The default maximum. */
  readonly default: number;
  /** Unit of the value, e.g. `"pixels"`. */
  readonly unit: string;
  /** What the limit bounds, one line. */
  readonly bounds: string;
  /** The CLI flag that sets it, or `null` where the CLI has none. */
  readonly flag: string | null;
  /** What else fixes the problem besides raising the limit, or `null`. */
  readonly alternative: string | null;
}

/**
 * Every resource limit, by the name of its option (`limits: { maxInputPixels: ... }` on `loadVae` and per call).
 * Values are positive integers or `Infinity` (no limit).
 */
export const LIMITS = Object.freeze({
  maxInputPixels: Object.freeze({
    default: 16383 * 16383,
    unit: 'pixels',
    bounds:
      'width x height of one image input; checked on the header before any pixel is decoded (sharp `limitInputPixels`) and again on the decoded size. With tiling the image is read region by region, so memory does not grow with it.',
    flag: '--max-pixels',
    alternative: null,
  }),
  maxUntiledPixels: Object.freeze({
    default: 2048 * 2048,
    unit: 'pixels',
    bounds:
      'pixels (items x height x width) of image data that runs through a graph whole: the input of an encode, the output of a decode (latent size x spatialFactor^2, checked before the decoder runs), without tiling.',
    flag: '--max-untiled-pixels',
    alternative: 'tile it (`tiling: true`, CLI `--tile`)',
  }),
  maxOutputPixels: Object.freeze({
    default: 8192 * 8192,
    unit: 'pixels',
    bounds:
      'pixels (items x height x width) of any image tensor held whole: the output of one decode, tiled or not (12 bytes a pixel for RGB plus a 4-byte weight map while tiling), images read whole for a tiled encode where they cannot be streamed (CLI `encode`/`reconstruct --tile`, the browser), and the prior draws of `sample`/`generate`.',
    flag: '--max-output-pixels',
    alternative: null,
  }),
  maxBatchItems: Object.freeze({
    default: 65536,
    unit: 'items',
    bounds: 'items N of one input: a tensor batch, a list of images, a batch of latents.',
    flag: null,
    alternative: 'split the input over several calls',
  }),
  maxDraws: Object.freeze({
    default: 65536,
    unit: 'draws',
    bounds: 'draws of one call: `n` of `sample`/`generate` (CLI `generate -n`), `n` x items of `posterior.sample`, `steps` x items of `interpolate`.',
    flag: '--max-draws',
    alternative: 'draw in several calls',
  }),
  maxSamples: Object.freeze({
    default: 100000,
    unit: 'samples',
    bounds: 'importance samples k of one `score` call (CLI `score --samples`).',
    flag: '--max-samples',
    alternative: null,
  }),
  maxScoreRows: Object.freeze({
    default: 16777216,
    unit: 'rows',
    bounds: 'decoder rows k x N of one `score` call (16 bytes of log weights each, and that many decoder rows of work).',
    flag: null,
    alternative: 'score fewer items per call',
  }),
  maxManifestBytes: Object.freeze({
    default: 1024 * 1024,
    unit: 'bytes',
    bounds: "size of `vae.json` (and of an export's `config.json`).",
    flag: null,
    alternative: null,
  }),
  maxJsonDepth: Object.freeze({
    default: 64,
    unit: 'levels',
    bounds: 'nesting of arrays and objects in a manifest or `config.json`, and in the JSON header of a `.vlat` file (`.safetensors` headers: the default).',
    flag: null,
    alternative: null,
  }),
  maxGraphBytes: Object.freeze({
    default: 1024 * 1024 * 1024,
    unit: 'bytes',
    bounds: 'size of one ONNX graph file (read by onnxruntime, by `onnx-vae info`, or fetched in the browser).',
    flag: '--max-graph-bytes',
    alternative: null,
  }),
  maxFileBytes: Object.freeze({
    default: 256 * 1024 * 1024,
    unit: 'bytes',
    bounds: 'size of one data file read by path (an image, `.npy` or `.vlat`), and of a `.vlat` payload after decompression.',
    flag: '--max-file-bytes',
    alternative: null,
  }),
} as const satisfies Record<string, LimitSpec>);

/** One of {@link LIMITS}. */
export type LimitName = keyof typeof LIMITS;

/** Limits to set: any subset of {@link LIMITS}; the rest keep their defaults (or the model's, per call). */
export type ResourceLimits = { readonly [K in LimitName]?: number };

/** Every limit with its value. */
export type ResolvedLimits = { readonly [K in LimitName]: number };

/** The default of every limit. */
export const DEFAULT_LIMITS: ResolvedLimits = Object.freeze(
  Object.fromEntries(Object.entries(LIMITS).map(([name, spec]) => [name, spec.default])) as Record<LimitName, number>,
);

/**
 * Validates a `limits` option and fills in the rest from `base`.
 *
 * @param limits - the option, e.g. `{ maxInputPixels: 1e8 }`; `undefined` for none
 * @param base - the limits it overrides; default {@link DEFAULT_LIMITS}
 * @param option - the option's name, for messages; default `"limits"`
 * @throws {@link InvalidOptionError} for a value that is not an object of known names with positive integers or `Infinity`
 * @example
 * resolveLimits({ maxUntiledPixels: 4096 * 4096 }).maxUntiledPixels; // 16777216
 */
export function resolveLimits(limits: unknown, base: ResolvedLimits = DEFAULT_LIMITS, option = 'limits'): ResolvedLimits {
  if (limits === undefined) return base;
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    throw new InvalidOptionError(
      option,
      `Expected "${option}" to be an object of limits (${Object.keys(LIMITS).join(', ')}) but received ${describe(limits)}.`,
    );
  }
  const out: Record<string, number> = { ...base };
  for (const [name, value] of Object.entries(limits)) {
    if (!Object.hasOwn(LIMITS, name)) {
      throw new InvalidOptionError(`${option}.${name}`, `Unknown limit "${name}" in "${option}"; the limits are ${Object.keys(LIMITS).join(', ')}.`);
    }
    if (value === undefined) continue;
    if (!(value === Infinity || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1))) {
      throw new InvalidOptionError(`${option}.${name}`, `Expected "${option}.${name}" to be a positive integer or Infinity but received ${describe(value)}.`);
    }
    out[name] = value;
  }
  return Object.freeze(out) as ResolvedLimits;
}

/**
 * Throws {@link LimitExceededError} when `value` is over the limit `name`.
 *
 * @param limits - the limits in force
 * @param name - which limit
 * @param value - the amount asked for (may be past 2^53 or `Infinity`; compared as is)
 * @param what - what the value counts, e.g. `"The image photo.png (16383x16383)"`, or a function that makes it (called
 *   only when the limit is exceeded: the checks run on every call, and the message is not free to build)
 * @throws {@link LimitExceededError} naming the limit, the value, the maximum and the option that raises it
 */
export function checkLimit(limits: ResolvedLimits, name: LimitName, value: number, what: string | (() => string)): void {
  const maximum = limits[name];
  if (!(value <= maximum)) throw limitExceeded(name, value, maximum, typeof what === 'function' ? what() : what);
}

/** The {@link LimitExceededError} of limit `name`, with the standard message. */
export function limitExceeded(name: LimitName, value: number, maximum: number, what: string): LimitExceededError {
  const spec: LimitSpec = LIMITS[name];
  const shown = Number.isFinite(value) ? value.toLocaleString('en-US') : String(value);
  const raise = `raise it with the "limits.${name}" option${spec.flag === null ? '' : ` (CLI ${spec.flag})`}`;
  const fix = spec.alternative === null ? raise : `${spec.alternative}, or ${raise}`;
  return new LimitExceededError(
    name,
    value,
    maximum,
    `limits.${name}`,
    `${what} is ${shown} ${spec.unit}, over the limit ${name} of ${maximum.toLocaleString('en-US')}; ${fix}.`,
  );
}

/**
 * Nesting depth of JSON text (arrays and objects), scanned without parsing; stops early once `maximum` is passed.
 *
 * @returns the depth, or `maximum + 1` when it is deeper
 */
export function jsonDepth(text: string, maximum: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > maximum) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Checks JSON text against `maxJsonDepth` before it is parsed.
 *
 * @throws {@link LimitExceededError}
 */
export function checkJsonDepth(limits: ResolvedLimits, text: string, what: string): void {
  const depth = jsonDepth(text, limits.maxJsonDepth);
  if (depth > limits.maxJsonDepth) throw limitExceeded('maxJsonDepth', depth, limits.maxJsonDepth, `The nesting depth of ${what} (counted up to the limit)`);
}
