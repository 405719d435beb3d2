import { parseManifest, checkManifestAgainstGraphs, ManifestError, ModelMismatchError, VaeError } from '../src/index';
import type { GraphInfo } from '../src/index';
import { base, edit, badManifests } from './manifest-cases';
import { errorOf } from '@onnx-vae/core/testing';

describe('parseManifest', () => {
  it('accepts a valid manifest, fills defaults and freezes it', () => {
    const manifest = parseManifest(JSON.stringify(base));
    expect(manifest.latent).toEqual({ shape: [50], scalingFactor: 1, shiftFactor: 0 });
    expect(manifest.data.range).toEqual([0, 1]);
    expect(Object.isFrozen(manifest.encoder!.output)).toBe(true);
  });

  it('accepts moments, deterministic, Gaussian and none variants', () => {
    expect(parseManifest(edit((m) => (m.encoder.output = { kind: 'moments', name: 'latent_parameters' }))).encoder?.output).toEqual({
      kind: 'moments',
      name: 'latent_parameters',
    });
    expect(parseManifest(edit((m) => (m.encoder.output = { kind: 'deterministic', name: 'z' }))).encoder?.output.kind).toBe('deterministic');
    expect(parseManifest(edit((m) => (m.likelihood = { kind: 'gaussian', scale: 0.1 }))).likelihood).toEqual({ kind: 'gaussian', scale: 0.1 });
    expect(parseManifest(edit((m) => (m.likelihood = { kind: 'gaussian', logScaleOutput: 'ls' }))).likelihood).toEqual({
      kind: 'gaussian',
      logScaleOutput: 'ls',
    });
    expect(parseManifest(edit((m) => (m.likelihood = { kind: 'none' }))).likelihood).toEqual({ kind: 'none' });
    const image = parseManifest(
      edit((m) => {
        m.data = { shape: [3, null, null], layout: 'NCHW', range: [-1, 1] };
        m.latent = { shape: [4, null, null], scalingFactor: 0.18215, shiftFactor: 0 };
      }),
    );
    expect(image.data.shape).toEqual([3, null, null]);
    expect(image.latent.scalingFactor).toBe(0.18215);
    expect(parseManifest(edit((m) => (m.float16 = { encoder: 'fp16/encoder.onnx', decoder: 'fp16/decoder.onnx' }))).float16).toEqual({
      encoder: 'fp16/encoder.onnx',
      decoder: 'fp16/decoder.onnx',
    });
    expect(parseManifest(JSON.stringify(base)).float16).toBeUndefined();
  });

  it.each(badManifests.map((c) => [c.name, c.input, c.code, c.field, c.message] as const))('rejects %s', (_name, input, code, field, message) => {
    const caught = errorOf(() => parseManifest(input))?.error;
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
    outputs: [
      { name: 'mean', type: 'float32', shape: ['batch', 50] },
      { name: 'logvar', type: 'float32', shape: ['batch', 50] },
    ],
  };
  const decoder: GraphInfo = {
    inputs: [{ name: 'z', type: 'float32', shape: ['batch', 50] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 784] }],
  };

  it('accepts graphs that agree', () => {
    expect(() => checkManifestAgainstGraphs(manifest, encoder, decoder)).not.toThrow();
  });

  const mismatch: [string, GraphInfo, GraphInfo, string][] = [
    [
      'a renamed input',
      { ...encoder, inputs: [{ name: 'image', type: 'float32', shape: ['batch', 784] }] },
      decoder,
      'encoder.onnx: manifest says input "x" (data) but the graph\'s inputs are [image].',
    ],
    [
      'a missing output',
      encoder,
      { ...decoder, outputs: [{ name: 'probs', type: 'float32', shape: ['batch', 784] }] },
      'decoder.onnx: manifest says output "logits" (data) but the graph\'s outputs are [probs].',
    ],
    [
      'a float64 input',
      { ...encoder, inputs: [{ name: 'x', type: 'float64', shape: ['batch', 784] }] },
      decoder,
      'encoder.onnx: input "x" is float64 in the graph but onnx-vae needs float32 (or float16, converted at the graph\'s edge); export the model in float32.',
    ],
    [
      'a rank mismatch',
      encoder,
      { ...decoder, inputs: [{ name: 'z', type: 'float32', shape: ['batch', 50, 1, 1] }] },
      'decoder.onnx: input "z" has rank 4 ([batch, 50, 1, 1]) in the graph but the manifest\'s latent shape [50] means rank 2 with the batch axis.',
    ],
    [
      'a size mismatch',
      { ...encoder, outputs: [{ name: 'mean', type: 'float32', shape: ['batch', 32] }, encoder.outputs[1]!] },
      decoder,
      'encoder.onnx: output "mean" has shape [batch, 32] in the graph but the manifest\'s latent shape [50] says 50 at axis 1.',
    ],
    [
      'two inputs',
      { ...encoder, inputs: [...encoder.inputs, { name: 'mask', type: 'float32', shape: ['batch', 784] }] },
      decoder,
      'encoder.onnx: manifest describes 1 input ("x") but the graph has 2: [x, mask].',
    ],
  ];

  it.each(mismatch)('rejects %s with MODEL_MISMATCH naming both sides', (_name, enc, dec, message) => {
    expect(() => checkManifestAgainstGraphs(manifest, enc, dec)).toThrow(ModelMismatchError);
    expect(() => checkManifestAgainstGraphs(manifest, enc, dec)).toThrow(message);
  });

  it('checks that a moments output has 2C channels', () => {
    const moments = parseManifest(
      edit((m) => {
        m.encoder.output = { kind: 'moments', name: 'latent_parameters' };
        m.data = { shape: [3, null, null], layout: 'NCHW', range: [-1, 1] };
        m.latent = { shape: [4, null, null] };
        m.decoder.output = 'sample';
        m.likelihood = { kind: 'none' };
      }),
    );
    const enc: GraphInfo = {
      inputs: [{ name: 'x', type: 'float32', shape: ['b', 3, 'h', 'w'] }],
      outputs: [{ name: 'latent_parameters', type: 'float32', shape: ['b', 4, 'h8', 'w8'] }],
    };
    const dec: GraphInfo = {
      inputs: [{ name: 'z', type: 'float32', shape: ['b', 4, 'h', 'w'] }],
      outputs: [{ name: 'sample', type: 'float32', shape: ['b', 3, 'H', 'W'] }],
    };
    expect(() => checkManifestAgainstGraphs(moments, enc, dec)).toThrow(
      'encoder.onnx: output "latent_parameters" has shape [b, 4, h8, w8] in the graph but the manifest\'s moments (2 x latent.shape[0] channels) shape [8, null, null] says 8 at axis 1.',
    );
    const ok: GraphInfo = { ...enc, outputs: [{ name: 'latent_parameters', type: 'float32', shape: ['b', 8, 'h8', 'w8'] }] };
    expect(() => checkManifestAgainstGraphs(moments, ok, dec)).not.toThrow();
  });
});
