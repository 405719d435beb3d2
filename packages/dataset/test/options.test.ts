/**
 * The dataset job's option checks at the public boundary (code and message), keys of paths, WebDataset member names,
 * and the progress line.
 */
import { errorOf } from '@onnx-vae/core/testing';
import { ProgressTracker, formatProgress, keyOfPath, queueLocation, resolveSettings, splitMemberName, tensorNames } from '../src/index';

describe('resolveSettings', () => {
  it('fills in the defaults', () => {
    expect(resolveSettings({}, 8)).toEqual({
      size: 256,
      fit: 'crop',
      minSize: 1,
      flip: false,
      kind: 'mean',
      seed: 0,
      space: 'raw',
      dtype: 'float16',
      format: 'safetensors',
      shardSize: 1000,
      batch: 8,
    });
    expect(tensorNames({ kind: 'moments', flip: true })).toEqual(['mean', 'logvar', 'mean_flip', 'logvar_flip']);
  });

  it.each([
    [
      'a size off the spatial factor',
      { size: 100 },
      'INVALID_OPTION',
      'Expected "size" to be a multiple of the model\'s spatial factor 8 but received 100; use 104.',
    ],
    ['an unknown fit', { fit: 'cover' }, 'INVALID_OPTION', 'Expected "fit" to be one of "crop", "resize", "pad" but received "cover".'],
    ['an unknown dtype', { dtype: 'bfloat16' }, 'INVALID_OPTION', 'Expected "dtype" to be one of "float16", "float32" but received "bfloat16".'],
    ['an unknown format', { format: 'npz' }, 'INVALID_OPTION', 'Expected "format" to be one of "safetensors", "wds" but received "npz".'],
    ['a shard size of 0', { shardSize: 0 }, 'INVALID_OPTION', 'Expected "shardSize" to be an integer >= 1 but received 0.'],
    [
      'moments in the diffusion space',
      { kind: 'moments', space: 'diffusion' },
      'INVALID_OPTION',
      'Moments (mean and log-variance) are stored in the raw latent space; scale the samples drawn from them with vae.toDiffusionLatent instead.',
    ],
  ])('refuses %s', (_, options, code, message) => {
    expect(errorOf(() => resolveSettings(options as never, 8))).toEqual({ code, message });
  });
});

describe('queueLocation', () => {
  it('takes redis:// URLs with a database and a queue name', () => {
    expect(queueLocation('redis://10.0.0.5:6379/2', 'photos')).toEqual({
      connection: { url: 'redis://10.0.0.5:6379/2', maxRetriesPerRequest: null },
      name: 'photos',
      prefix: 'onnx-vae',
    });
  });

  it.each([
    ['not a URL', '127.0.0.1 6379', undefined, 'Expected --queue to be a Redis URL like redis://127.0.0.1:6379/0 but received "127.0.0.1 6379".'],
    ['another scheme', 'http://127.0.0.1:6379', undefined, 'Expected --queue to be a Redis URL (redis:// or rediss://) but received "http://127.0.0.1:6379".'],
    ['a name with a colon', 'redis://127.0.0.1:6379', 'a:b', 'Expected --name to be letters, digits, "-", "_" and "." but received "a:b".'],
  ])('refuses %s', (_, url, name, message) => {
    expect(errorOf(() => queueLocation(url, name))).toEqual({ code: 'INVALID_OPTION', message });
  });
});

describe('keys', () => {
  it.each([
    ['photos/a.png', 'photos/a'],
    ['./a.b.c.jpg', 'a_b_c'],
    ['/abs/x.webp', 'abs/x'],
    ['../up/y.png', 'up/y'],
  ])('keyOfPath(%s) is %s', (path, key) => expect(keyOfPath(path)).toBe(key));

  it.each([
    ['a/000001.jpg', { key: 'a/000001', extension: 'jpg' }],
    ['a.b/000001.latent.npy', { key: 'a.b/000001', extension: 'latent.npy' }],
    ['noext', null],
    ['dir/.hidden', null],
  ])('splitMemberName(%s)', (name, expected) => expect(splitMemberName(name)).toEqual(expected));
});

describe('progress', () => {
  it('sums shards, leaves skipped shards out of the rate, and prints items/s and the ETA', () => {
    const tracker = new ProgressTracker(3000, 3);
    tracker.finish('shard-00000', 1000, 0, true);
    tracker.update('shard-00001', 500, 2);
    tracker.update('shard-00001', 400, 1); // a retried shard starting again never moves progress back
    const p = tracker.snapshot();
    expect(p).toMatchObject({ done: 1500, errors: 2, total: 3000, shardsDone: 1, shards: 3 });
    expect(p.itemsPerSecond).toBeCloseTo(500 / p.seconds, 3);
    expect(formatProgress({ ...p, itemsPerSecond: 50, etaSeconds: 30, seconds: 10 })).toBe(
      '[##########----------] 1500/3000 items, 2 errors, shards 1/3, 50.0 items/s, ETA 30s',
    );
    expect(formatProgress({ ...p, itemsPerSecond: 0, etaSeconds: null })).toContain('ETA --');
  });
});
