// Decoder-only and encoder-only models on the mock backend: the methods that can run do, the others throw
// GRAPH_MISSING naming the graph and the method; manifests and detection without one graph.
import { errorOf } from '@onnx-vae/core/testing';
import { createMockVae } from '../src/testing/mock-backend';
import { GraphMissingError, VaeTensor, deserializeError, detectManifest, matchLayout, parseManifest, serializeError } from '../src/index';
import type { GraphInfo } from '../src/index';

const z = () => new VaeTensor(new Float32Array(4).fill(0.1), [2, 2]);
const x = () => new VaeTensor(new Float32Array(12).fill(0.5), [2, 6]);

describe('a decoder-only model', () => {
  it('decodes, generates and interpolates, and holds no encoder session', async () => {
    const { vae, backend } = await createMockVae('mock/linear-probs', { graphs: ['decoder'] });
    expect(vae.has('encoder')).toBe(false);
    expect(vae.has('decoder')).toBe(true);
    expect(vae.manifest.encoder).toBeUndefined();
    expect((await vae.decode(z())).dims).toEqual([2, 6]);
    expect((await vae.generate({ n: 3, seed: 1 })).dims).toEqual([3, 6]);
    expect((await vae.interpolate(z(), z(), { steps: 3 })).dims).toEqual([6, 6]);
    expect(vae.toDiffusionLatent(z()).dims).toEqual([2, 2]);
    expect(backend.openSessions).toBe(1);
    expect(backend.runs.every((run) => run.graph === 'decoder')).toBe(true);
    await vae.dispose();
    expect(backend.openSessions).toBe(0);
  });

  it.each([
    ['encode', (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) => vae.encode(x())],
    ['encodeToDevice', (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) => vae.encodeToDevice(x())],
    ['reconstruct', (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) => vae.reconstruct(x())],
    ['score', (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) => vae.score(x(), { seed: 0 })],
  ])('%s throws GRAPH_MISSING naming the encoder and the method', async (method, call) => {
    const { vae, backend } = await createMockVae('mock/linear-probs', { graphs: ['decoder'] });
    const caught = await errorOf(call(vae));
    const error = caught?.error as GraphMissingError;
    expect(error).toBeInstanceOf(GraphMissingError);
    expect(caught?.code).toBe('GRAPH_MISSING');
    expect([error.graph, error.method]).toEqual(['encoder', method]);
    expect(caught?.message).toBe(
      `${method}() needs the encoder, but the model "linear-probs" has no encoder (a decoder-only model: its manifest or export has no encoder graph). ` +
        `Load a model that has the encoder (the "encoder" section of vae.json, or optimum's vae_encoder/model.onnx) to call ${method}(); decode(), generate(), interpolate(), decodeImages() and toImages() work without it.`,
    );
    expect(backend.runs).toEqual([]);
    await vae.dispose();
  });
});

describe('an encoder-only model', () => {
  it('encodes (the posterior and the device path), and holds no decoder session', async () => {
    const { vae, backend } = await createMockVae('mock/linear-moments', { graphs: ['encoder'] });
    expect(vae.has('decoder')).toBe(false);
    const q = await vae.encode(new VaeTensor(new Float32Array(8).fill(0.2), [2, 4]));
    expect(q.mean.dims).toEqual([2, 3]);
    const latent = await vae.encodeToDevice(new VaeTensor(new Float32Array(4).fill(0.2), [1, 4]));
    expect(latent.dims).toEqual([1, 3]);
    latent.dispose();
    expect(backend.openSessions).toBe(1);
    await vae.dispose();
  });

  it.each([
    ['decode', (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) => vae.decode(new VaeTensor(new Float32Array(3), [1, 3]))],
    ['generate', (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) => vae.generate({ seed: 0 })],
    [
      'interpolate',
      (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) =>
        vae.interpolate(new VaeTensor(new Float32Array(3), [1, 3]), new VaeTensor(new Float32Array(3), [1, 3])),
    ],
    ['decodeImages', (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) => vae.decodeImages(new VaeTensor(new Float32Array(3), [1, 3]))],
    ['reconstruct', (vae: Awaited<ReturnType<typeof createMockVae>>['vae']) => vae.reconstruct(new VaeTensor(new Float32Array(4), [1, 4]))],
  ])('%s throws GRAPH_MISSING naming the decoder', async (method, call) => {
    const { vae } = await createMockVae('mock/linear-moments', { graphs: ['encoder'] });
    const caught = await errorOf(call(vae));
    expect(caught?.code).toBe('GRAPH_MISSING');
    expect([(caught?.error as GraphMissingError).graph, (caught?.error as GraphMissingError).method]).toEqual(['decoder', method]);
    expect(caught?.message).toMatch(
      new RegExp(
        `^${method}\\(\\) needs the decoder, but the model "linear-moments" has no decoder \\(an encoder-only model.+; encode\\(\\), encodeToDevice\\(\\) and toDiffusionLatent\\(\\) work without it\\.$`,
      ),
    );
    await vae.dispose();
  });
});

describe('GraphMissingError', () => {
  it('crosses threads with its fields', () => {
    const error = deserializeError(serializeError(new GraphMissingError('encoder', 'encode', 'no encoder')));
    expect(error).toBeInstanceOf(GraphMissingError);
    expect([(error as GraphMissingError).graph, (error as GraphMissingError).method, error.message]).toEqual(['encoder', 'encode', 'no encoder']);
  });
});

describe('manifests with one graph', () => {
  const full = {
    format: 'onnx-vae',
    version: 1,
    name: 'm',
    encoder: { file: 'encoder.onnx', input: 'x', output: { kind: 'moments', name: 'moments' } },
    decoder: { file: 'decoder.onnx', input: 'z', output: 'y' },
    data: { shape: [6], layout: 'flat', range: [0, 1] },
    latent: { shape: [2] },
    likelihood: { kind: 'none' },
  };
  it('parses without an encoder or without a decoder', () => {
    const { encoder: _e, ...decoderOnly } = full;
    const { decoder: _d, ...encoderOnly } = full;
    expect(parseManifest(decoderOnly).encoder).toBeUndefined();
    expect(parseManifest(encoderOnly).decoder).toBeUndefined();
  });

  it.each([
    [
      'neither graph',
      (() => {
        const { encoder: _e, decoder: _d, ...rest } = full;
        return rest;
      })(),
      'encoder',
      'Invalid manifest: "encoder" and "decoder" are both missing; a manifest names at least one graph (a decoder-only or an encoder-only model leaves the other out).',
    ],
    [
      'a float16 encoder without an encoder',
      (() => {
        const { encoder: _e, ...rest } = full;
        return { ...rest, float16: { encoder: 'e16.onnx', decoder: 'd16.onnx' } };
      })(),
      'float16.encoder',
      'Invalid manifest: "float16.encoder" names a float16 encoder but the manifest has no "encoder"; remove it, or add the float32 encoder.',
    ],
  ])('refuses %s', (_name, manifest, field, message) => {
    const caught = errorOf(() => parseManifest(manifest));
    expect(caught).toEqual({ code: 'MANIFEST_INVALID', message });
    expect((caught?.error as { field?: string }).field).toBe(field);
  });
});

describe('detection of one graph', () => {
  const decoderInfo: GraphInfo = {
    inputs: [{ name: 'latent_sample', type: 'float32', shape: ['batch', 4, 'h', 'w'] }],
    outputs: [{ name: 'sample', type: 'float32', shape: ['batch', 3, 'H', 'W'] }],
  };
  const encoderInfo: GraphInfo = {
    inputs: [{ name: 'sample', type: 'float32', shape: ['batch', 3, 'H', 'W'] }],
    outputs: [{ name: 'latent_parameters', type: 'float32', shape: ['batch', 8, 'h', 'w'] }],
  };

  it.each([
    [
      ['vae_decoder/model.onnx', 'vae_decoder/config.json'],
      { layout: 'optimum', decoder: 'vae_decoder/model.onnx', name: 'vae', config: 'vae_decoder/config.json' },
    ],
    [['taesd_decoder.onnx'], { layout: 'encoder-decoder-pair', decoder: 'taesd_decoder.onnx', name: 'taesd' }],
    [['taesd_encoder.onnx'], { layout: 'encoder-decoder-pair', encoder: 'taesd_encoder.onnx', name: 'taesd' }],
    [['decoder.onnx', 'config.json'], { layout: 'plain', decoder: 'decoder.onnx', name: 'vae', config: 'config.json' }],
    [['decoder.onnx'], null],
    [['a_decoder.onnx', 'b_decoder.onnx'], null],
  ])('matchLayout(%j)', (names, expected) => {
    expect(matchLayout(names)).toEqual(expected);
  });

  it('detects a decoder-only manifest', () => {
    const { manifest, reasons } = detectManifest({ name: 'sd', layout: 'optimum', decoder: { file: 'vae_decoder/model.onnx', info: decoderInfo } });
    expect(manifest.encoder).toBeUndefined();
    expect(manifest.decoder).toEqual({ file: 'vae_decoder/model.onnx', input: 'latent_sample', output: 'sample' });
    expect(manifest.latent.shape).toEqual([4, null, null]);
    expect(reasons[0]).toBe('layout "optimum": no encoder (decoder-only), decoder vae_decoder/model.onnx');
  });

  it('detects an encoder-only manifest (latent channels from the moments output)', () => {
    const { manifest } = detectManifest({ name: 'sd', layout: 'optimum', encoder: { file: 'vae_encoder/model.onnx', info: encoderInfo } });
    expect(manifest.decoder).toBeUndefined();
    expect(manifest.encoder?.output).toEqual({ kind: 'moments', name: 'latent_parameters' });
    expect(manifest.latent.shape).toEqual([4, null, null]);
  });
});
