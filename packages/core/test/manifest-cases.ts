/** Manifests for the validation tests: a valid base, and a table of bad ones with the error each must give. */
export const base = {
  format: 'onnx-vae',
  version: 1,
  name: 'toy',
  encoder: { file: 'encoder.onnx', input: 'x', output: { kind: 'gaussian', mean: 'mean', logvar: 'logvar' } },
  decoder: { file: 'decoder.onnx', input: 'z', output: 'logits' },
  data: { shape: [784], layout: 'flat', range: [0, 1], image: { channels: 1, height: 28, width: 28 } },
  latent: { shape: [50] },
  likelihood: { kind: 'bernoulli', parameterization: 'logits' },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tables edit nested fields of the manifest freely
export type Json = Record<string, any>;
export function edit(change: (m: Json) => void): Json {
  const copy = JSON.parse(JSON.stringify(base));
  change(copy);
  return copy;
}

export interface BadManifest {
  name: string;
  input: unknown;
  code: string;
  field: string;
  message: string;
  /** Whether docs/manifest.schema.json rejects it too (false for cross-field rules only parseManifest checks). */
  schemaCatches: boolean;
}

/** Rules the JSON Schema cannot state; parseManifest checks them. */
const CROSS_FIELD = new Set(['not JSON', 'mean and logvar the same', 'an image of the wrong size', 'an inverted range']);

export const badManifests: BadManifest[] = (
  [
    ['not JSON', '{"format": ', 'MANIFEST_INVALID', '', 'Invalid manifest: not valid JSON'],
    ['an array', [], 'MANIFEST_INVALID', '', 'Invalid manifest: must be an object but is [].'],
    ['another format', edit((m) => (m.format = 'other')), 'MANIFEST_INVALID', 'format', 'Invalid manifest: "format" must be "onnx-vae" but is "other".'],
    ['version 2', edit((m) => (m.version = 2)), 'MANIFEST_VERSION', 'version', 'Manifest version 2 is not supported; this release reads version 1.'],
    ['a missing name', edit((m) => delete m.name), 'MANIFEST_INVALID', 'name', '"name" must be a non-empty string but is undefined.'],
    [
      'an unknown top-level field',
      edit((m) => (m.scaleFactor = 1)),
      'MANIFEST_INVALID',
      'scaleFactor',
      '"scaleFactor" is not a known field; the fields of the manifest are $schema, format, version, name, description, encoder, decoder, float16, data, latent, likelihood.',
    ],
    [
      'an unknown encoder kind',
      edit((m) => (m.encoder.output.kind = 'vq')),
      'MANIFEST_INVALID',
      'encoder.output.kind',
      '"encoder.output.kind" must be one of "gaussian", "moments", "deterministic" but is "vq".',
    ],
    [
      'gaussian without logvar',
      edit((m) => delete m.encoder.output.logvar),
      'MANIFEST_INVALID',
      'encoder.output.logvar',
      '"encoder.output.logvar" must be a non-empty string but is undefined.',
    ],
    [
      'moments with a mean field',
      edit((m) => (m.encoder.output = { kind: 'moments', name: 'p', mean: 'm' })),
      'MANIFEST_INVALID',
      'encoder.output.mean',
      '"encoder.output.mean" is not a known field; the fields of encoder.output are kind, name.',
    ],
    [
      'mean and logvar the same',
      edit((m) => (m.encoder.output.logvar = 'mean')),
      'MANIFEST_INVALID',
      'encoder.output.logvar',
      'must name another output than "mean".',
    ],
    [
      'an absolute file',
      edit((m) => (m.encoder.file = '/etc/passwd')),
      'MANIFEST_INVALID',
      'encoder.file',
      '"encoder.file" must be a path inside the model folder (no absolute paths, no "..") but is "/etc/passwd".',
    ],
    [
      'a file outside the folder',
      edit((m) => (m.decoder.file = '../x/decoder.onnx')),
      'MANIFEST_INVALID',
      'decoder.file',
      'must be a path inside the model folder',
    ],
    [
      'a float16 graph outside the folder',
      edit((m) => (m.float16 = { encoder: 'e16.onnx', decoder: '../d16.onnx' })),
      'MANIFEST_INVALID',
      'float16.decoder',
      '"float16.decoder" must be a path inside the model folder (no absolute paths, no "..") but is "../d16.onnx".',
    ],
    [
      'a float16 block without its decoder',
      edit((m) => (m.float16 = { encoder: 'e16.onnx' })),
      'MANIFEST_INVALID',
      'float16.decoder',
      '"float16.decoder" must be a non-empty string but is undefined.',
    ],
    [
      'an unknown float16 field',
      edit((m) => (m.float16 = { encoder: 'e.onnx', decoder: 'd.onnx', bf16: 'x' })),
      'MANIFEST_INVALID',
      'float16.bf16',
      '"float16.bf16" is not a known field; the fields of float16 are encoder, decoder.',
    ],
    [
      'a missing decoder output',
      edit((m) => delete m.decoder.output),
      'MANIFEST_INVALID',
      'decoder.output',
      '"decoder.output" must be a non-empty string but is undefined.',
    ],
    [
      'a zero dimension',
      edit((m) => (m.data.shape = [0])),
      'MANIFEST_INVALID',
      'data.shape',
      '"data.shape" must be a non-empty list of positive integers (or null for a size the input decides) but is [0].',
    ],
    [
      'an unknown layout',
      edit((m) => (m.data.layout = 'CHW')),
      'MANIFEST_INVALID',
      'data.layout',
      '"data.layout" must be one of "flat", "NCHW", "NHWC" but is "CHW".',
    ],
    [
      'NCHW with rank 1',
      edit((m) => (m.data.layout = 'NCHW')),
      'MANIFEST_INVALID',
      'data.shape',
      '"data.shape" must have 3 entries for layout "NCHW" but has 1.',
    ],
    [
      'an inverted range',
      edit((m) => (m.data.range = [1, 0])),
      'MANIFEST_INVALID',
      'data.range',
      '"data.range" must be [low, high] with low < high but is [1, 0].',
    ],
    [
      'an image of the wrong size',
      edit((m) => (m.data.image.height = 27)),
      'MANIFEST_INVALID',
      'data.image',
      '"data.image" describes 1x27x28 = 756 values but data.shape is [784].',
    ],
    [
      'a string scaling factor',
      edit((m) => (m.latent.scalingFactor = '0.18')),
      'MANIFEST_INVALID',
      'latent.scalingFactor',
      '"latent.scalingFactor" must be a finite number but is "0.18".',
    ],
    ['a zero scaling factor', edit((m) => (m.latent.scalingFactor = 0)), 'MANIFEST_INVALID', 'latent.scalingFactor', '"latent.scalingFactor" must not be 0.'],
    [
      'an unknown likelihood',
      edit((m) => (m.likelihood = { kind: 'poisson' })),
      'MANIFEST_INVALID',
      'likelihood.kind',
      '"likelihood.kind" must be one of "bernoulli", "gaussian", "laplace", "none" but is "poisson".',
    ],
    [
      'laplace without a scale',
      edit((m) => (m.likelihood = { kind: 'laplace' })),
      'MANIFEST_INVALID',
      'likelihood.scale',
      '"likelihood.scale" must be a finite number but is undefined.',
    ],
    [
      'laplace with a zero scale',
      edit((m) => (m.likelihood = { kind: 'laplace', scale: 0 })),
      'MANIFEST_INVALID',
      'likelihood.scale',
      '"likelihood.scale" must be > 0 but is 0.',
    ],
    [
      'bernoulli without parameterization',
      edit((m) => delete m.likelihood.parameterization),
      'MANIFEST_INVALID',
      'likelihood.parameterization',
      '"likelihood.parameterization" must be one of "logits", "probs" but is undefined.',
    ],
    [
      'gaussian with both scales',
      edit((m) => (m.likelihood = { kind: 'gaussian', scale: 1, logScaleOutput: 's' })),
      'MANIFEST_INVALID',
      'likelihood',
      'needs exactly one of "scale" (a fixed standard deviation) or "logScaleOutput"',
    ],
    [
      'gaussian with a negative scale',
      edit((m) => (m.likelihood = { kind: 'gaussian', scale: -1 })),
      'MANIFEST_INVALID',
      'likelihood.scale',
      '"likelihood.scale" must be > 0 but is -1.',
    ],
  ] as [string, unknown, string, string, string][]
).map(([name, input, code, field, message]) => ({ name, input, code, field, message, schemaCatches: !CROSS_FIELD.has(name) }));
