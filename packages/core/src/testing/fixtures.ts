/**
 * Where the repository's models and test fixtures are, from a test file's folder: one helper instead of the path to
 * `models/` rebuilt in every test. Pure string work (no `node:path`, no `fs`), so it runs anywhere; reading is the
 * caller's, through a {@link TextReader} (Node: `(path) => readFile(path, 'utf8')`; browsers: fetch).
 */
import type { Golden } from './golden.js';

/** Reads a text file by path or URL. */
export type TextReader = (path: string) => Promise<string>;

/** Paths of the repository's model folders. */
export interface Fixtures {
  /** The repository's root folder. */
  readonly root: string;
  /** `models/` (shipped models and fixtures). */
  readonly models: string;
  /** `../shared/models/` beside the repository (large third-party models, present on some machines only). */
  readonly sharedModels: string;
  /** A path inside `models/`: `model('fixtures/mlp-probs', 'vae.json')`. */
  model(name: string, ...file: string[]): string;
  /** Reads and parses `models/<name>/golden.json`. */
  golden(name: string, read: TextReader): Promise<Golden>;
  /** Reads and parses `models/<name>/vae.json` (not validated). */
  manifest(name: string, read: TextReader): Promise<Record<string, unknown>>;
}

/** The shipped fixtures (scripts/make-fixtures.py), one per manifest variant, each with PyTorch golden data. */
export const MODEL_FIXTURES = Object.freeze({
  convMoments: 'fixtures/conv-moments',
  learnedScale: 'fixtures/mlp-learned-scale',
  probs: 'fixtures/mlp-probs',
  deterministic: 'fixtures/mlp-deterministic-probs',
  none: 'fixtures/mlp-none',
} as const);

function join(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/');
}

/**
 * The repository's model paths, found from a folder inside it: a package's test folder (`packages/NAME/test/...`), a
 * package's sources, or `scripts/`.
 *
 * @param from - the caller's folder, e.g. `__dirname`
 * @throws Error when `from` is not inside the repository's `packages/` or `scripts/`
 * @example
 * const fixtures = testFixtures(__dirname);
 * const golden = await fixtures.golden('fixtures/mlp-probs', (p) => readFile(p, 'utf8'));
 */
export function testFixtures(from: string): Fixtures {
  const normalised = from.replace(/\\/g, '/');
  const match = /^(.*)\/(?:packages\/[^/]+|scripts)(?:\/.*)?$/.exec(normalised);
  if (match === null) throw new Error(`testFixtures: ${from} is not inside the repository's packages/ or scripts/.`);
  const root = match[1] || '/';
  const models = join(root, 'models');
  return {
    root,
    models,
    sharedModels: join(root, '..', 'shared', 'models'),
    model: (name, ...file) => join(models, name, ...file),
    golden: async (name, read) => JSON.parse(await read(join(models, name, 'golden.json'))) as Golden,
    manifest: async (name, read) => JSON.parse(await read(join(models, name, 'vae.json'))) as Record<string, unknown>,
  };
}
