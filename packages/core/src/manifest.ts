import { ManifestError, ModelMismatchError, describe } from './errors.js';
import { DEFAULT_LIMITS, checkJsonDepth, checkLimit } from './limits.js';
import type { ResolvedLimits } from './limits.js';

/** Data layouts a manifest may declare. */
export const LAYOUTS = Object.freeze({
  /** One vector per item. */
  flat: 'flat',
  /** Items are `[C, H, W]`. */
  NCHW: 'NCHW',
  /** Items are `[H, W, C]`. */
  NHWC: 'NHWC',
} as const);
/** One of {@link LAYOUTS}. */
export type Layout = keyof typeof LAYOUTS;

/** Forms of the encoder's output. */
export const ENCODER_OUTPUT_KINDS = Object.freeze({
  /** Two outputs: mean and logvar. */
  gaussian: 'gaussian',
  /** One output of 2C channels along axis 1: mean then logvar (optimum's `latent_parameters`). */
  moments: 'moments',
  /** One output: the latent itself (std 0). */
  deterministic: 'deterministic',
} as const);
/** One of {@link ENCODER_OUTPUT_KINDS}. */
export type EncoderOutputKind = keyof typeof ENCODER_OUTPUT_KINDS;

/** Observation models of the decoder. */
export const LIKELIHOOD_KINDS = Object.freeze({
  bernoulli: 'bernoulli',
  gaussian: 'gaussian',
  none: 'none',
} as const);
/** One of {@link LIKELIHOOD_KINDS}. */
export type LikelihoodKind = keyof typeof LIKELIHOOD_KINDS;

/** Parameterisations of a Bernoulli decoder. */
export const BERNOULLI_PARAMETERIZATIONS = Object.freeze({ logits: 'logits', probs: 'probs' } as const);
/** One of {@link BERNOULLI_PARAMETERIZATIONS}. */
export type BernoulliParameterization = keyof typeof BERNOULLI_PARAMETERIZATIONS;

/** The encoder's output, per {@link ENCODER_OUTPUT_KINDS}. */
export type EncoderOutput =
  | { readonly kind: 'gaussian'; readonly mean: string; readonly logvar: string }
  | { readonly kind: 'moments'; readonly name: string }
  | { readonly kind: 'deterministic'; readonly name: string };

/** The decoder's observation model. */
export type Likelihood =
  | { readonly kind: 'bernoulli'; readonly parameterization: BernoulliParameterization }
  | { readonly kind: 'gaussian'; readonly scale: number; readonly logScaleOutput?: undefined }
  | { readonly kind: 'gaussian'; readonly scale?: undefined; readonly logScaleOutput: string }
  | { readonly kind: 'none' };

/** A dimension of an item shape: a size, or `null` for a size the input decides. */
export type Dim = number | null;

/** A validated manifest with defaults filled in (docs/manifest.md). */
export interface Manifest {
  readonly format: 'onnx-vae';
  readonly version: 1;
  readonly name: string;
  readonly description?: string;
  readonly encoder: { readonly file: string; readonly input: string; readonly output: EncoderOutput };
  readonly decoder: { readonly file: string; readonly input: string; readonly output: string };
  /**
   * Optional float16 graphs (same tensor names; float16 or float32 at inputs and outputs), used by runtimes that
   * can run them well: onnxruntime-web on a WebGPU adapter with `shader-f16`.
   */
  readonly float16?: { readonly encoder: string; readonly decoder: string };
  readonly data: {
    readonly shape: readonly Dim[];
    readonly layout: Layout;
    readonly range: readonly [number, number];
    readonly image?: { readonly channels: number; readonly height: number; readonly width: number };
  };
  readonly latent: {
    readonly shape: readonly Dim[];
    readonly scalingFactor: number;
    readonly shiftFactor: number;
    /** Data height (and width) over latent height (and width) for image models, e.g. 8; images are padded to it. */
    readonly spatialFactor?: number;
  };
  readonly likelihood: Likelihood;
}

/** Manifest versions this release reads. */
export const MANIFEST_VERSIONS = Object.freeze([1] as const);

type Json = Record<string, unknown>;

function fail(field: string, message: string): never {
  throw new ManifestError('MANIFEST_INVALID', field, `Invalid manifest: ${field ? `"${field}" ` : ''}${message}`);
}

function object(value: unknown, field: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, `must be an object but is ${describe(value)}.`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      fail(field ? `${field}.${key}` : key, `is not a known field; the fields of ${field || 'the manifest'} are ${allowed.join(', ')}.`);
    }
  }
  return value as Json;
}

function string(parent: Json, key: string, field: string): string {
  const value = parent[key];
  if (typeof value !== 'string' || value.length === 0) fail(`${field}.${key}`.replace(/^\./, ''), `must be a non-empty string but is ${describe(value)}.`);
  return value;
}

function fileName(parent: Json, key: string, field: string): string {
  const value = string(parent, key, field);
  if (value.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(value) || value.split(/[\\/]/).includes('..')) {
    fail(`${field}.${key}`, `must be a path inside the model folder (no absolute paths, no "..") but is ${describe(value)}.`);
  }
  return value;
}

function choice<T extends string>(parent: Json, key: string, field: string, table: Readonly<Record<T, string>>, fallback?: T): T {
  const value = parent[key] ?? fallback;
  const options = Object.keys(table);
  if (typeof value !== 'string' || !options.includes(value)) {
    fail(`${field}.${key}`, `must be one of ${options.map((o) => `"${o}"`).join(', ')} but is ${describe(value)}.`);
  }
  return value as T;
}

function finiteNumber(parent: Json, key: string, field: string, fallback?: number): number {
  const value = parent[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${field}.${key}`, `must be a finite number but is ${describe(value)}.`);
  return value;
}

function positiveInteger(parent: Json, key: string, field: string): number {
  const value = parent[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) fail(`${field}.${key}`, `must be a positive integer but is ${describe(value)}.`);
  return value;
}

function shape(parent: Json, key: string, field: string): Dim[] {
  const value = parent[key];
  if (!Array.isArray(value) || value.length === 0 || !value.every((d) => d === null || (Number.isInteger(d) && d > 0))) {
    fail(`${field}.${key}`, `must be a non-empty list of positive integers (or null for a size the input decides) but is ${describe(value)}.`);
  }
  return value as Dim[];
}

/**
 * Validates a manifest (parsed JSON or its text) and fills in defaults.
 *
 * @param input - the manifest object, or the text of `vae.json`
 * @param limits - `maxManifestBytes` and `maxJsonDepth` for text (default {@link DEFAULT_LIMITS})
 * @returns the validated manifest, frozen
 * @throws {@link ManifestError} `MANIFEST_INVALID` naming the field, or `MANIFEST_VERSION`; {@link LimitExceededError}
 *   for text over `maxManifestBytes` (counted in UTF-16 units) or nested deeper than `maxJsonDepth`
 * @example
 * const manifest = parseManifest(await readFile('models/mnist-vae/vae.json', 'utf8'));
 */
export function parseManifest(input: unknown, limits: ResolvedLimits = DEFAULT_LIMITS): Manifest {
  let value = input;
  if (typeof input === 'string') {
    checkLimit(limits, 'maxManifestBytes', input.length, 'The manifest text');
    checkJsonDepth(limits, input, 'the manifest');
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new ManifestError('MANIFEST_INVALID', '', `Invalid manifest: not valid JSON (${(error as Error).message}).`, { cause: error });
    }
  }
  const root = object(value, '', ['$schema', 'format', 'version', 'name', 'description', 'encoder', 'decoder', 'float16', 'data', 'latent', 'likelihood']);
  if (root.format !== 'onnx-vae') fail('format', `must be "onnx-vae" but is ${describe(root.format)}.`);
  if (!MANIFEST_VERSIONS.includes(root.version as 1)) {
    throw new ManifestError(
      'MANIFEST_VERSION',
      'version',
      `Manifest version ${describe(root.version)} is not supported; this release reads version ${MANIFEST_VERSIONS.join(', ')}. Upgrade onnx-vae or rewrite the manifest.`,
    );
  }
  const name = string(root, 'name', '');
  const description = root.description === undefined ? undefined : string(root, 'description', '');

  const encoderJson = object(root.encoder, 'encoder', ['file', 'input', 'output']);
  const outputJson = object(encoderJson.output, 'encoder.output', ['kind', 'mean', 'logvar', 'name']);
  const kind = choice(outputJson, 'kind', 'encoder.output', ENCODER_OUTPUT_KINDS);
  let output: EncoderOutput;
  if (kind === 'gaussian') {
    object(outputJson, 'encoder.output', ['kind', 'mean', 'logvar']);
    output = { kind, mean: string(outputJson, 'mean', 'encoder.output'), logvar: string(outputJson, 'logvar', 'encoder.output') };
    if (output.mean === output.logvar) fail('encoder.output.logvar', 'must name another output than "mean".');
  } else {
    object(outputJson, 'encoder.output', ['kind', 'name']);
    output = { kind, name: string(outputJson, 'name', 'encoder.output') };
  }
  const encoder = { file: fileName(encoderJson, 'file', 'encoder'), input: string(encoderJson, 'input', 'encoder'), output };

  const decoderJson = object(root.decoder, 'decoder', ['file', 'input', 'output']);
  const decoder = { file: fileName(decoderJson, 'file', 'decoder'), input: string(decoderJson, 'input', 'decoder'), output: string(decoderJson, 'output', 'decoder') };

  let float16: { encoder: string; decoder: string } | undefined;
  if (root.float16 !== undefined) {
    const float16Json = object(root.float16, 'float16', ['encoder', 'decoder']);
    float16 = { encoder: fileName(float16Json, 'encoder', 'float16'), decoder: fileName(float16Json, 'decoder', 'float16') };
  }

  const dataJson = object(root.data, 'data', ['shape', 'layout', 'range', 'image']);
  const dataShape = shape(dataJson, 'shape', 'data');
  const layout = choice(dataJson, 'layout', 'data', LAYOUTS);
  if (layout !== 'flat' && dataShape.length !== 3) fail('data.shape', `must have 3 entries for layout "${layout}" but has ${dataShape.length}.`);
  const rangeValue = dataJson.range;
  if (!Array.isArray(rangeValue) || rangeValue.length !== 2 || !rangeValue.every((v) => typeof v === 'number' && Number.isFinite(v)) || !(rangeValue[0] < rangeValue[1])) {
    fail('data.range', `must be [low, high] with low < high but is ${describe(rangeValue)}.`);
  }
  let image: Manifest['data']['image'];
  if (dataJson.image !== undefined) {
    const imageJson = object(dataJson.image, 'data.image', ['channels', 'height', 'width']);
    image = {
      channels: positiveInteger(imageJson, 'channels', 'data.image'),
      height: positiveInteger(imageJson, 'height', 'data.image'),
      width: positiveInteger(imageJson, 'width', 'data.image'),
    };
    if (layout === 'flat' && dataShape.length === 1 && dataShape[0] !== null && dataShape[0] !== image.channels * image.height * image.width) {
      fail('data.image', `describes ${image.channels}x${image.height}x${image.width} = ${image.channels * image.height * image.width} values but data.shape is ${describe(dataShape)}.`);
    }
  }

  const latentJson = object(root.latent, 'latent', ['shape', 'scalingFactor', 'shiftFactor', 'spatialFactor']);
  const latent = {
    shape: shape(latentJson, 'shape', 'latent'),
    scalingFactor: finiteNumber(latentJson, 'scalingFactor', 'latent', 1),
    shiftFactor: finiteNumber(latentJson, 'shiftFactor', 'latent', 0),
    ...(latentJson.spatialFactor === undefined ? {} : { spatialFactor: positiveInteger(latentJson, 'spatialFactor', 'latent') }),
  };
  if (latent.scalingFactor === 0) fail('latent.scalingFactor', 'must not be 0.');
  if (latent.spatialFactor !== undefined && (layout === 'flat' || latent.shape.length !== 3)) {
    fail('latent.spatialFactor', `only applies to image models (layout NCHW or NHWC with a [C, h, w] latent); this model's data layout is "${layout}" and its latent shape ${describe(latent.shape)}.`);
  }

  const likelihoodJson = object(root.likelihood, 'likelihood', ['kind', 'parameterization', 'scale', 'logScaleOutput']);
  const likelihoodKind = choice(likelihoodJson, 'kind', 'likelihood', LIKELIHOOD_KINDS);
  let likelihood: Likelihood;
  if (likelihoodKind === 'bernoulli') {
    object(likelihoodJson, 'likelihood', ['kind', 'parameterization']);
    likelihood = { kind: 'bernoulli', parameterization: choice(likelihoodJson, 'parameterization', 'likelihood', BERNOULLI_PARAMETERIZATIONS) };
  } else if (likelihoodKind === 'gaussian') {
    object(likelihoodJson, 'likelihood', ['kind', 'scale', 'logScaleOutput']);
    if ((likelihoodJson.scale === undefined) === (likelihoodJson.logScaleOutput === undefined)) {
      fail('likelihood', 'of kind "gaussian" needs exactly one of "scale" (a fixed standard deviation) or "logScaleOutput" (a decoder output holding log std).');
    }
    if (likelihoodJson.scale !== undefined) {
      const scale = finiteNumber(likelihoodJson, 'scale', 'likelihood');
      if (scale <= 0) fail('likelihood.scale', `must be > 0 but is ${scale}.`);
      likelihood = { kind: 'gaussian', scale };
    } else {
      likelihood = { kind: 'gaussian', logScaleOutput: string(likelihoodJson, 'logScaleOutput', 'likelihood') };
    }
  } else {
    object(likelihoodJson, 'likelihood', ['kind']);
    likelihood = { kind: 'none' };
  }

  return deepFreeze({
    format: 'onnx-vae',
    version: 1,
    name,
    ...(description === undefined ? {} : { description }),
    encoder,
    decoder,
    ...(float16 === undefined ? {} : { float16 }),
    data: { shape: dataShape, layout, range: [rangeValue[0], rangeValue[1]] as [number, number], ...(image ? { image } : {}) },
    latent,
    likelihood,
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** What a backend reports about one graph input or output. */
export interface TensorInfo {
  readonly name: string;
  /** Element type as onnxruntime names it (`float32`, `float16`, `int64`, ...); undefined when unknown. */
  readonly type?: string;
  /** Dims with symbolic names as strings; undefined when unknown. */
  readonly shape?: readonly (number | string | null)[];
}

/** What a backend reports about a graph's inputs and outputs. */
export interface GraphInfo {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
}

/** Names of the decoder outputs a manifest uses, in order. */
export function decoderOutputNames(manifest: Manifest): string[] {
  const names = [manifest.decoder.output];
  if (manifest.likelihood.kind === 'gaussian' && manifest.likelihood.logScaleOutput !== undefined) names.push(manifest.likelihood.logScaleOutput);
  return names;
}

/** Names of the encoder outputs a manifest uses, in order. */
export function encoderOutputNames(manifest: Manifest): string[] {
  const output = manifest.encoder.output;
  return output.kind === 'gaussian' ? [output.mean, output.logvar] : [output.name];
}

/**
 * Checks a manifest against the real inputs and outputs of both graphs: names, ranks, element types (float32 or
 * float16) and
 * every size both sides state.
 *
 * @throws {@link ModelMismatchError} `MODEL_MISMATCH` naming both sides
 */
export function checkManifestAgainstGraphs(manifest: Manifest, encoder: GraphInfo, decoder: GraphInfo): void {
  const latentChannels = manifest.latent.shape[0] ?? null;
  const encoderOutput = manifest.encoder.output;
  const encoderExpected: Expectation[] = encoderOutputNames(manifest).map((name) => ({
    name,
    itemShape: encoderOutput.kind === 'moments' ? [latentChannels === null ? null : 2 * latentChannels, ...manifest.latent.shape.slice(1)] : manifest.latent.shape,
    what: encoderOutput.kind === 'moments' ? `moments (2 x latent.shape[0] channels)` : 'latent',
  }));
  checkGraph('encoder', manifest.encoder.file, encoder, [{ name: manifest.encoder.input, itemShape: manifest.data.shape, what: 'data' }], encoderExpected);
  const decoderExpected: Expectation[] = [{ name: manifest.decoder.output, itemShape: manifest.data.shape, what: 'data' }];
  if (manifest.likelihood.kind === 'gaussian' && manifest.likelihood.logScaleOutput !== undefined) {
    decoderExpected.push({ name: manifest.likelihood.logScaleOutput, itemShape: undefined, what: 'log scale' });
  }
  checkGraph('decoder', manifest.decoder.file, decoder, [{ name: manifest.decoder.input, itemShape: manifest.latent.shape, what: 'latent' }], decoderExpected);
}

interface Expectation {
  name: string;
  /** Item shape (without batch); undefined: only the name and type are checked. */
  itemShape: readonly Dim[] | undefined;
  what: string;
}

function checkGraph(graph: 'encoder' | 'decoder', file: string, info: GraphInfo, inputs: Expectation[], outputs: Expectation[]): void {
  if (info.inputs.length !== inputs.length) {
    throw new ModelMismatchError(
      graph,
      `${file}: manifest describes ${inputs.length} input (${inputs.map((e) => `"${e.name}"`).join(', ')}) but the graph has ${info.inputs.length}: ${describe(info.inputs.map((i) => i.name))}.`,
    );
  }
  for (const [side, expectations, actual] of [['input', inputs, info.inputs], ['output', outputs, info.outputs]] as const) {
    for (const expected of expectations) {
      const found = actual.find((t) => t.name === expected.name);
      if (!found) {
        throw new ModelMismatchError(
          graph,
          `${file}: manifest says ${side} "${expected.name}" (${expected.what}) but the graph's ${side}s are ${describe(actual.map((t) => t.name))}.`,
        );
      }
      if (found.type !== undefined && found.type !== 'float32' && found.type !== 'float16') {
        throw new ModelMismatchError(graph, `${file}: ${side} "${found.name}" is ${found.type} in the graph but onnx-vae needs float32 (or float16, converted at the graph's edge); export the model in float32.`);
      }
      if (expected.itemShape === undefined || found.shape === undefined) continue;
      const want = expected.itemShape;
      if (found.shape.length !== want.length + 1) {
        throw new ModelMismatchError(
          graph,
          `${file}: ${side} "${found.name}" has rank ${found.shape.length} (${describe(found.shape)}) in the graph but the manifest's ${expected.what} shape ${describe(want)} means rank ${want.length + 1} with the batch axis.`,
        );
      }
      for (let axis = 0; axis < want.length; axis++) {
        const graphDim = found.shape[axis + 1];
        const manifestDim = want[axis];
        if (typeof graphDim === 'number' && graphDim > 0 && manifestDim !== null && manifestDim !== undefined && graphDim !== manifestDim) {
          throw new ModelMismatchError(
            graph,
            `${file}: ${side} "${found.name}" has shape ${describe(found.shape)} in the graph but the manifest's ${expected.what} shape ${describe(want)} says ${manifestDim} at axis ${axis + 1}.`,
          );
        }
      }
    }
  }
}
