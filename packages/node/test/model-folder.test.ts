// The Node loader's boundary (issue 10): arguments of the wrong type give typed errors (item 5); a graph swapped in
// from another model with the same tensor names is refused by its behaviour, and model files must be regular files
// inside the folder after resolving symlinks (item 4).
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLayout, folderModelStore, loadVae, planModel, readManifest } from '../src/index';
import { MODEL_FIXTURES, errorOf, testFixtures } from '@onnx-vae/core/testing';

const fixtures = testFixtures(__dirname);
const PROBS = fixtures.model(MODEL_FIXTURES.probs);
const KL_F8 = fixtures.model('kl-f8');
const CONV_MOMENTS = fixtures.model(MODEL_FIXTURES.convMoments);

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'onnx-vae-folder-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A copy of kl-f8 in a new folder, with `encoder.onnx` made by `encoder(path)`. */
async function klF8With(name: string, encoder: (path: string) => Promise<void>): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir);
  await copyFile(join(KL_F8, 'vae.json'), join(dir, 'vae.json'));
  await copyFile(join(KL_F8, 'decoder.onnx'), join(dir, 'decoder.onnx'));
  await encoder(join(dir, 'encoder.onnx'));
  return dir;
}

// A preloaded graph is checked at load; a graph whose session is created by its first use (the CPU default) is checked
// as that session is created, before any run uses it, so decode-only use still never opens the encoder.
describe('graphs checked by their behaviour, at load or as their session is created', () => {
  const X = { data: new Float32Array(3 * 16 * 16), dims: [1, 3, 16, 16] };
  it('refuses the kl-f8 folder with the conv-moments encoder renamed in (same tensor names, another spatial factor)', async () => {
    const dir = await klF8With('swapped', (path) => copyFile(join(CONV_MOMENTS, 'encoder.onnx'), path));
    const lazy = await loadVae(dir);
    const atFirstUse = await errorOf(lazy.encode(X));
    await lazy.dispose();
    expect(atFirstUse).toEqual(await errorOf(loadVae(dir, { preload: ['encoder', 'decoder'] })));
    expect(atFirstUse).toEqual({
      code: 'MODEL_MISMATCH',
      message:
        'The encoder encoder.onnx of "kl-f8" gives moments of dims [1, 8, 4, 4] for data of dims [1, 3, 16, 16], but the manifest (latent shape [4, null, null], data shape [3, null, null], spatialFactor 8) implies [1, 8, 2, 2]; the graph does not belong to this manifest (a file from another model?), or the manifest\'s factors are wrong.',
    });
  });

  it('refuses the kl-f8 folder with the conv-moments decoder renamed in', async () => {
    const dir = await klF8With('swapped-decoder', (path) => copyFile(join(KL_F8, 'encoder.onnx'), path));
    await copyFile(join(CONV_MOMENTS, 'decoder.onnx'), join(dir, 'decoder.onnx'));
    const lazy = await loadVae(dir);
    const atFirstUse = await errorOf(lazy.decode({ data: new Float32Array(4 * 2 * 2), dims: [1, 4, 2, 2] }));
    await lazy.dispose();
    expect(atFirstUse).toEqual(await errorOf(loadVae(dir, { preload: ['decoder'] })));
    expect(atFirstUse).toEqual({
      code: 'MODEL_MISMATCH',
      message:
        'The decoder decoder.onnx of "kl-f8" gives data of dims [1, 3, 8, 8] for latent of dims [1, 4, 2, 2], but the manifest (latent shape [4, null, null], data shape [3, null, null], spatialFactor 8) implies [1, 3, 16, 16]; the graph does not belong to this manifest (a file from another model?), or the manifest\'s factors are wrong.',
    });
  });
});

describe('symlinks in a model folder', () => {
  it('refuses a graph linked to /dev/zero, without reading it (loadVae and planModel + read, as onnx-vae info reads)', async () => {
    const dir = await klF8With('dev-zero', (path) => symlink('/dev/zero', path));
    const path = join(dir, 'encoder.onnx');
    const outside = {
      code: 'MODEL_FILE_REFUSED',
      message: `The encoder graph ${path} leads outside the model folder (to /dev/zero); model files must be regular files inside the folder after resolving symlinks. Copy the file in, or pass allowOutsideLinks: true to follow links out of the folder.`,
    };
    expect(await errorOf(loadVae(dir))).toEqual(outside);
    const store = folderModelStore(dir);
    const plan = await planModel(store);
    expect(await errorOf(store.read(plan.encoder!, 'encoder graph'))).toEqual(outside);
    // Allowing outside links still refuses what is not a regular file.
    const notAFile = {
      code: 'MODEL_FILE_REFUSED',
      message: `The encoder graph ${path} is not a regular file (it leads to /dev/zero); model files must be regular files.`,
    };
    expect(await errorOf(loadVae(dir, { allowOutsideLinks: true }))).toEqual(notAFile);
    expect(await errorOf(folderModelStore(dir, { allowOutsideLinks: true }).read('encoder.onnx', 'encoder graph'))).toEqual(notAFile);
  });

  it('refuses a link to a graph outside the folder unless allowOutsideLinks, and follows links inside it', async () => {
    const outsideDir = await klF8With('outside', (path) => symlink(join(KL_F8, 'encoder.onnx'), path));
    expect((await errorOf(loadVae(outsideDir)))?.code).toBe('MODEL_FILE_REFUSED');
    const vae = await loadVae(outsideDir, { allowOutsideLinks: true });
    await vae.dispose();
    const insideDir = await klF8With('inside', async (path) => {
      await mkdir(join(scratch, 'inside', 'graphs'));
      await copyFile(join(KL_F8, 'encoder.onnx'), join(scratch, 'inside', 'graphs', 'kl-f8-encoder.onnx'));
      await symlink(join('graphs', 'kl-f8-encoder.onnx'), path);
    });
    const inside = await loadVae(insideDir);
    await inside.dispose();
  });

  it('refuses a vae.json linked to a device', async () => {
    const dir = join(scratch, 'manifest-link');
    await mkdir(dir);
    await symlink('/dev/zero', join(dir, 'vae.json'));
    expect(await errorOf(loadVae(dir, { allowOutsideLinks: true }))).toEqual({
      code: 'MODEL_FILE_REFUSED',
      message: `The manifest ${join(dir, 'vae.json')} is not a regular file (it leads to /dev/zero); model files must be regular files.`,
    });
  });
});

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
    expect(await errorOf(loadVae(PROBS, options as never))).toEqual({
      code: 'INVALID_OPTION',
      message: `Expected "options" to be an object (or undefined) for loadVae() but received ${received}.`,
    });
  });
});
