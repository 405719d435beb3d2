import { parseManifest, checkManifestAgainstGraphs, ManifestError, ModelMismatchError, VaeError } from '../src/index';
import type { GraphInfo } from '../src/index';

const base = {
  format: 'onnx-vae',
  version: 1,
  name: 'toy',
  encoder: { file: 'encoder.onnx', input: 'x', output: { kind: 'gaussian', mean: 'mean', logvar: 'logvar' } },
  decoder: { file: 'decoder.onnx', input: 'z', output: 'logits' },
  data: { shape: [784], layout: 'flat', range: [0, 1], image: { channels: 1, height: 28, width: 28 } },
  latent: { shape: [50] },
  likelihood: { kind: 'bernoulli', parameterization: 'logits' },
};

type Json = Record<string, any>;
function edit(change: (m: Json) => void): Json {
  const copy = JSON.parse(JSON.stringify(base));
  change(copy);
  return copy;
}

describe('parseManifest', () => {
  it('accepts a valid manifest, fills defaults and freezes it', () => {
    const manifest = parseManifest(JSON.stringify(base));
    expect(manifest.latent).toEqual({ shape: [50], scalingFactor: 1, shiftFactor: 0 });
    expect(manifest.data.range).toEqual([0, 1]);
    expect(Object.isFrozen(manifest.encoder.output)).toBe(true);
  });

  it('accepts moments, deterministic, Gaussian and none variants', () => {
    expect(parseManifest(edit((m) => (m.encoder.output = { kind: 'moments', name: 'latent_parameters' }))).encoder.output).toEqual({ kind: 'moments', name: 'latent_parameters' });
    expect(parseManifest(edit((m) => (m.encoder.output = { kind: 'deterministic', name: 'z' }))).encoder.output.kind).toBe('deterministic');
    expect(parseManifest(edit((m) => (m.likelihood = { kind: 'gaussian', scale: 0.1 }))).likelihood).toEqual({ kind: 'gaussian', scale: 0.1 });
    expect(parseManifest(edit((m) => (m.likelihood = { kind: 'gaussian', logScaleOutput: 'ls' }))).likelihood).toEqual({ kind: 'gaussian', logScaleOutput: 'ls' });
    expect(parseManifest(edit((m) => (m.likelihood = { kind: 'none' }))).likelihood).toEqual({ kind: 'none' });
    const image = parseManifest(edit((m) => {
      m.data = { shape: [3, null, null], layout: 'NCHW', range: [-1, 1] };
      m.latent = { shape: [4, null, null], scalingFactor: 0.18215, shiftFactor: 0 };
    }));
    expect(image.data.shape).toEqual([3, null, null]);
    expect(image.latent.scalingFactor).toBe(0.18215);
  });

  const cases: [string, unknown, string, string, string][] = [
    ['not JSON', '{"format": ', 'MANIFEST_INVALID', '', 'Invalid manifest: not valid JSON'],
    ['an array', [], 'MANIFEST_INVALID', '', 'Invalid manifest: must be an object but is [].'],
    ['another format', edit((m) => (m.format = 'other')), 'MANIFEST_INVALID', 'format', 'Invalid manifest: "format" must be "onnx-vae" but is "other".'],
    ['version 2', edit((m) => (m.version = 2)), 'MANIFEST_VERSION', 'version', 'Manifest version 2 is not supported; this release reads version 1.'],
    ['a missing name', edit((m) => delete m.name), 'MANIFEST_INVALID', 'name', '"name" must be a non-empty string but is undefined.'],
    ['an unknown top-level field', edit((m) => (m.scaleFactor = 1)), 'MANIFEST_INVALID', 'scaleFactor', '"scaleFactor" is not a known field; the fields of the manifest are $schema, format, version, name, description, encoder, decoder, data, latent, likelihood.'],
    ['an unknown encoder kind', edit((m) => (m.encoder.output.kind = 'vq')), 'MANIFEST_INVALID', 'encoder.output.kind', '"encoder.output.kind" must be one of "gaussian", "moments", "deterministic" but is "vq".'],
    ['gaussian without logvar', edit((m) => delete m.encoder.output.logvar), 'MANIFEST_INVALID', 'encoder.output.logvar', '"encoder.output.logvar" must be a non-empty string but is undefined.'],
    ['moments with a mean field', edit((m) => (m.encoder.output = { kind: 'moments', name: 'p', mean: 'm' })), 'MANIFEST_INVALID', 'encoder.output.mean', '"encoder.output.mean" is not a known field; the fields of encoder.output are kind, name.'],
    ['mean and logvar the same', edit((m) => (m.encoder.output.logvar = 'mean')), 'MANIFEST_INVALID', 'encoder.output.logvar', 'must name another output than "mean".'],
    ['an absolute file', edit((m) => (m.encoder.file = '/etc/passwd')), 'MANIFEST_INVALID', 'encoder.file', '"encoder.file" must be a path inside the model folder (no absolute paths, no "..") but is "/etc/passwd".'],
    ['a file outside the folder', edit((m) => (m.decoder.file = '../x/decoder.onnx')), 'MANIFEST_INVALID', 'decoder.file', 'must be a path inside the model folder'],
    ['a missing decoder output', edit((m) => delete m.decoder.output), 'MANIFEST_INVALID', 'decoder.output', '"decoder.output" must be a non-empty string but is undefined.'],
    ['a zero dimension', edit((m) => (m.data.shape = [0])), 'MANIFEST_INVALID', 'data.shape', '"data.shape" must be a non-empty list of positive integers (or null for a size the input decides) but is [0].'],
    ['an unknown layout', edit((m) => (m.data.layout = 'CHW')), 'MANIFEST_INVALID', 'data.layout', '"data.layout" must be one of "flat", "NCHW", "NHWC" but is "CHW".'],
    ['NCHW with rank 1', edit((m) => (m.data.layout = 'NCHW')), 'MANIFEST_INVALID', 'data.shape', '"data.shape" must have 3 entries for layout "NCHW" but has 1.'],
    ['an inverted range', edit((m) => (m.data.range = [1, 0])), 'MANIFEST_INVALID', 'data.range', '"data.range" must be [low, high] with low < high but is [1, 0].'],
    ['an image of the wrong size', edit((m) => (m.data.image.height = 27)), 'MANIFEST_INVALID', 'data.image', '"data.image" describes 1x27x28 = 756 values but data.shape is [784].'],
    ['a string scaling factor', edit((m) => (m.latent.scalingFactor = '0.18')), 'MANIFEST_INVALID', 'latent.scalingFactor', '"latent.scalingFactor" must be a finite number but is "0.18".'],
    ['a zero scaling factor', edit((m) => (m.latent.scalingFactor = 0)), 'MANIFEST_INVALID', 'latent.scalingFactor', '"latent.scalingFactor" must not be 0.'],
    ['an unknown likelihood', edit((m) => (m.likelihood = { kind: 'laplace' })), 'MANIFEST_INVALID', 'likelihood.kind', '"likelihood.kind" must be one of "bernoulli", "gaussian", "none" but is "laplace".'],
    ['bernoulli without parameterization', edit((m) => delete m.likelihood.parameterization), 'MANIFEST_INVALID', 'likelihood.parameterization', '"likelihood.parameterization" must be one of "logits", "probs" but is undefined.'],
    ['gaussian with both scales', edit((m) => (m.likelihood = { kind: 'gaussian', scale: 1, logScaleOutput: 's' })), 'MANIFEST_INVALID', 'likelihood', 'needs exactly one of "scale" (a fixed standard deviation) or "logScaleOutput"'],
    ['gaussian with a negative scale', edit((m) => (m.likelihood = { kind: 'gaussian', scale: -1 })), 'MANIFEST_INVALID', 'likelihood.scale', '"likelihood.scale" must be > 0 but is -1.'],
  ];

  it.each(cases)('rejects %s', (_name, input, code, field, message) => {
    let caught: unknown;
    try {
      parseManifest(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ManifestError);
    expect(VaeError.isInstance(caught)).toBe(true);
    expect((caught as ManifestError).code).toBe(code);
    expect((caught as ManifestError).field).toBe(field);
    expect((caught as Error).message).toContain(message);
  });
});

describe('checkManifestAgainstGraphs', () => {
  const manifest = parseManifest(base);
  const encoder: GraphInfo = {
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 784] }],
    outputs: [{ name: 'mean', type: 'float32', shape: ['batch', 50] }, { name: 'logvar', type: 'float32', shape: ['batch', 50] }],
  };
  const decoder: GraphInfo = { inputs: [{ name: 'z', type: 'float32', shape: ['batch', 50] }], outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 784] }] };

  it('accepts graphs that agree', () => {
    expect(() => checkManifestAgainstGraphs(manifest, encoder, decoder)).not.toThrow();
  });

  const mismatch: [string, GraphInfo, GraphInfo, string][] = [
    ['a renamed input', { ...encoder, inputs: [{ name: 'image', type: 'float32', shape: ['batch', 784] }] }, decoder, 'encoder.onnx: manifest says input "x" (data) but the graph\'s inputs are [image].'],
    ['a missing output', encoder, { ...decoder, outputs: [{ name: 'probs', type: 'float32', shape: ['batch', 784] }] }, 'decoder.onnx: manifest says output "logits" (data) but the graph\'s outputs are [probs].'],
    ['a float16 input', { ...encoder, inputs: [{ name: 'x', type: 'float16', shape: ['batch', 784] }] }, decoder, 'encoder.onnx: input "x" is float16 in the graph but onnx-vae needs float32; export the model in float32.'],
    ['a rank mismatch', encoder, { ...decoder, inputs: [{ name: 'z', type: 'float32', shape: ['batch', 50, 1, 1] }] }, 'decoder.onnx: input "z" has rank 4 ([batch, 50, 1, 1]) in the graph but the manifest\'s latent shape [50] means rank 2 with the batch axis.'],
    ['a size mismatch', { ...encoder, outputs: [{ name: 'mean', type: 'float32', shape: ['batch', 32] }, encoder.outputs[1]!] }, decoder, 'encoder.onnx: output "mean" has shape [batch, 32] in the graph but the manifest\'s latent shape [50] says 50 at axis 1.'],
    ['two inputs', { ...encoder, inputs: [...encoder.inputs, { name: 'mask', type: 'float32', shape: ['batch', 784] }] }, decoder, 'encoder.onnx: manifest describes 1 input ("x") but the graph has 2: [x, mask].'],
  ];

  it.each(mismatch)('rejects %s with MODEL_MISMATCH naming both sides', (_name, enc, dec, message) => {
    expect(() => checkManifestAgainstGraphs(manifest, enc, dec)).toThrow(ModelMismatchError);
    expect(() => checkManifestAgainstGraphs(manifest, enc, dec)).toThrow(message);
  });

  it('checks that a moments output has 2C channels', () => {
    const moments = parseManifest(edit((m) => {
      m.encoder.output = { kind: 'moments', name: 'latent_parameters' };
      m.data = { shape: [3, null, null], layout: 'NCHW', range: [-1, 1] };
      m.latent = { shape: [4, null, null] };
      m.decoder.output = 'sample';
      m.likelihood = { kind: 'none' };
    }));
    const enc: GraphInfo = { inputs: [{ name: 'x', type: 'float32', shape: ['b', 3, 'h', 'w'] }], outputs: [{ name: 'latent_parameters', type: 'float32', shape: ['b', 4, 'h8', 'w8'] }] };
    const dec: GraphInfo = { inputs: [{ name: 'z', type: 'float32', shape: ['b', 4, 'h', 'w'] }], outputs: [{ name: 'sample', type: 'float32', shape: ['b', 3, 'H', 'W'] }] };
    expect(() => checkManifestAgainstGraphs(moments, enc, dec)).toThrow('encoder.onnx: output "latent_parameters" has shape [b, 4, h8, w8] in the graph but the manifest\'s moments (2 x latent.shape[0] channels) shape [8, null, null] says 8 at axis 1.');
    const ok: GraphInfo = { ...enc, outputs: [{ name: 'latent_parameters', type: 'float32', shape: ['b', 8, 'h8', 'w8'] }] };
    expect(() => checkManifestAgainstGraphs(moments, ok, dec)).not.toThrow();
  });
});
