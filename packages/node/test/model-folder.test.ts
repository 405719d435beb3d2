// The Node loader's boundary (issue 10): arguments of the wrong type give typed errors.
import { findLayout, folderModelStore, loadVae, readManifest } from '../src/index';
import { MODEL_FIXTURES, errorOf, testFixtures } from '@onnx-vae/core/testing';

const fixtures = testFixtures(__dirname);
const PROBS = fixtures.model(MODEL_FIXTURES.probs);

describe('loadVae given arguments of the wrong type', () => {
  it.each([
    ['a number', 123, '123'],
    ['null', null, 'null'],
    ['an empty string', '', '""'],
    ['an object', { dir: PROBS }, 'an object'],
  ])('refuses a model folder that is %s with INVALID_OPTION', async (_name, dir, received) => {
    const expected = { code: 'INVALID_OPTION', message: `Expected "modelDir" to be the path of a model folder (a non-empty string) but received ${received}.` };
    expect(await errorOf(loadVae(dir as never))).toEqual(expected);
    expect(await errorOf(readManifest(dir as never))).toEqual(expected);
    expect(await errorOf(findLayout(dir as never))).toEqual(expected);
    expect(errorOf(() => folderModelStore(dir as never))).toEqual(expected);
  });

  it.each([
    ['null', null, 'null'],
    ['a string', 'cpu', '"cpu"'],
  ])('refuses options that are %s with INVALID_OPTION', async (_name, options, received) => {
    expect(await errorOf(loadVae(PROBS, options as never))).toEqual({ code: 'INVALID_OPTION', message: `Expected "options" to be an object (or undefined) for loadVae() but received ${received}.` });
  });
});
