// Typed errors at the public boundary (issue 10, item 5): every public method given options that are not an object
// (null, a number, a string, an array) throws INVALID_OPTION in the one message format, never a TypeError.
import { Posterior, VaeTensor, createVae, loadModel, memoryModelStore, planModel } from '../src/index';
import { createMockVae, errorOf, goldenTensor, mockGolden } from '@onnx-vae/core/testing';
import type { Vae } from '../src/index';

const BAD_OPTIONS: readonly [string, unknown, string][] = [
  ['null', null, 'null'],
  ['a number', 42, '42'],
  ['a string', 'fast', '"fast"'],
  ['an array', [1], '[1]'],
];

const message = (method: string, received: string) => `Expected "options" to be an object (or undefined) for ${method} but received ${received}.`;

/** Every public method of a Vae (and a posterior), with valid arguments before its options. */
const METHODS: readonly [string, (vae: Vae, options: never) => unknown][] = [
  ['vae.encode()', (vae, options) => vae.encode(x(), options)],
  ['vae.encodeToDevice()', (vae, options) => vae.encodeToDevice(x(), options)],
  ['vae.decode()', (vae, options) => vae.decode(z(), options)],
  ['vae.reconstruct()', (vae, options) => vae.reconstruct(x(), options)],
  ['vae.score()', (vae, options) => vae.score(x(), options)],
  ['vae.sample()', (vae, options) => vae.sample(options)],
  ['vae.sample(posterior, options)', (vae, options) => vae.sample(new Posterior(z(), null), options)],
  ['posterior.sample()', (_vae, options) => new Posterior(z(), null).sample(options)],
  ['vae.generate()', (vae, options) => vae.generate(options)],
  ['vae.interpolate()', (vae, options) => vae.interpolate(z(), z(), options)],
  ['vae.toImages()', (vae, options) => vae.toImages(x(), options)],
  ['vae.decodeImages()', (vae, options) => vae.decodeImages(z(), options)],
];

const x = () => goldenTensor(mockGolden('mock/linear-probs', 2), 'x');
const z = () => new VaeTensor(new Float32Array(4), [2, 2]);

describe('options that are not an object', () => {
  let vae: Vae;
  beforeAll(async () => {
    vae = (await createMockVae('mock/linear-probs')).vae;
  });
  afterAll(() => vae.dispose());

  describe.each(METHODS)('%s', (method, call) => {
    it.each(BAD_OPTIONS)('refuses %s with INVALID_OPTION', async (_name, options, received) => {
      expect(await errorOf(() => call(vae, options as never))).toEqual({ code: 'INVALID_OPTION', message: message(method, received) });
    });
  });

  it('takes undefined and {} as the defaults', async () => {
    expect((await vae.encode(x(), undefined)).mean.dims).toEqual([2, 2]);
    expect((await vae.decode(z(), {})).dims).toEqual([2, 6]);
    expect(vae.sample(undefined).dims).toEqual([1, 2]);
  });
});

describe('loaders given arguments of the wrong type', () => {
  const store = memoryModelStore({});
  it.each(BAD_OPTIONS)('planModel refuses options that are %s', async (_name, options, received) => {
    expect(await errorOf(planModel(store, options as never))).toEqual({ code: 'INVALID_OPTION', message: message('planModel()', received) });
  });

  it.each([...BAD_OPTIONS, ['undefined', undefined, 'undefined'] as const])(
    'loadModel and createVae refuse options that are %s',
    async (_name, options, received) => {
      expect(await errorOf(loadModel(store, options as never))).toEqual({
        code: 'INVALID_OPTION',
        message: `Expected "options" to be an object with "backend" for loadModel() but received ${received}.`,
      });
      expect(await errorOf(createVae(options as never))).toEqual({
        code: 'INVALID_OPTION',
        message: `Expected "options" to be an object with "manifest", "backend", "encoder" and "decoder" for createVae() but received ${received}.`,
      });
    },
  );
});
