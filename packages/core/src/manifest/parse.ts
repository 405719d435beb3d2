import { ManifestError, describe } from '../errors.js';
import { DEFAULT_LIMITS, checkJsonDepth, checkLimit } from '../limits.js';
import type { ResolvedLimits } from '../limits.js';
import { parseLikelihood } from '../likelihood/registry.js';
import { choice, deepFreeze, fail, fileName, finiteNumber, object, positiveInteger, shape, string } from './fields.js';
import { ENCODER_OUTPUT_KINDS, LAYOUTS } from './types.js';
import type { DecoderGraph, EncoderGraph, EncoderOutput, Manifest } from './types.js';

/** Manifest versions this release reads. */
export const MANIFEST_VERSIONS = Object.freeze([1] as const);

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

  if (root.encoder === undefined && root.decoder === undefined)
    fail('encoder', 'and "decoder" are both missing; a manifest names at least one graph (a decoder-only or an encoder-only model leaves the other out).');
  let encoder: EncoderGraph | undefined;
  if (root.encoder !== undefined) {
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
    encoder = { file: fileName(encoderJson, 'file', 'encoder'), input: string(encoderJson, 'input', 'encoder'), output };
  }

  let decoder: DecoderGraph | undefined;
  if (root.decoder !== undefined) {
    const decoderJson = object(root.decoder, 'decoder', ['file', 'input', 'output']);
    decoder = {
      file: fileName(decoderJson, 'file', 'decoder'),
      input: string(decoderJson, 'input', 'decoder'),
      output: string(decoderJson, 'output', 'decoder'),
    };
  }

  let float16: { encoder?: string; decoder?: string } | undefined;
  if (root.float16 !== undefined) {
    const float16Json = object(root.float16, 'float16', ['encoder', 'decoder']);
    float16 = {};
    for (const graph of ['encoder', 'decoder'] as const) {
      const present = graph === 'encoder' ? encoder !== undefined : decoder !== undefined;
      if (present) float16[graph] = fileName(float16Json, graph, 'float16');
      else if (float16Json[graph] !== undefined)
        fail(`float16.${graph}`, `names a float16 ${graph} but the manifest has no "${graph}"; remove it, or add the float32 ${graph}.`);
    }
  }

  const dataJson = object(root.data, 'data', ['shape', 'layout', 'range', 'image']);
  const dataShape = shape(dataJson, 'shape', 'data');
  const layout = choice(dataJson, 'layout', 'data', LAYOUTS);
  if (layout !== 'flat' && dataShape.length !== 3) fail('data.shape', `must have 3 entries for layout "${layout}" but has ${dataShape.length}.`);
  const rangeValue = dataJson.range;
  if (
    !Array.isArray(rangeValue) ||
    rangeValue.length !== 2 ||
    !rangeValue.every((v) => typeof v === 'number' && Number.isFinite(v)) ||
    !(rangeValue[0] < rangeValue[1])
  ) {
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
      fail(
        'data.image',
        `describes ${image.channels}x${image.height}x${image.width} = ${image.channels * image.height * image.width} values but data.shape is ${describe(dataShape)}.`,
      );
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
    fail(
      'latent.spatialFactor',
      `only applies to image models (layout NCHW or NHWC with a [C, h, w] latent); this model's data layout is "${layout}" and its latent shape ${describe(latent.shape)}.`,
    );
  }

  const likelihood = parseLikelihood(root.likelihood);

  return deepFreeze({
    format: 'onnx-vae',
    version: 1,
    name,
    ...(description === undefined ? {} : { description }),
    ...(encoder === undefined ? {} : { encoder }),
    ...(decoder === undefined ? {} : { decoder }),
    ...(float16 === undefined ? {} : { float16 }),
    data: { shape: dataShape, layout, range: [rangeValue[0], rangeValue[1]] as [number, number], ...(image ? { image } : {}) },
    latent,
    likelihood,
  });
}
