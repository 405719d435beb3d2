import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parseManifest } from '../src/index';
import { base, badManifests } from './manifest-cases';
import { testFixtures } from '@onnx-vae/core/testing';

// docs/manifest.schema.json and parseManifest must agree: every shipped manifest passes both, and every bad
// manifest the schema can describe fails both.
const { root: ROOT, models: MODELS } = testFixtures(__dirname);
const schema = JSON.parse(readFileSync(join(ROOT, 'docs', 'manifest.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

function shippedManifests(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === 'vae.json') found.push(join(dir, entry.name));
    }
  };
  walk(MODELS);
  return found;
}

describe('docs/manifest.schema.json', () => {
  it('accepts the base manifest, and it without encoder or without decoder (with float16 for the graph left)', () => {
    expect(validate(base)).toBe(true);
    const { encoder: _encoder, ...decoderOnly } = base as Record<string, unknown>;
    const { decoder: _decoder, ...encoderOnly } = base as Record<string, unknown>;
    expect(validate(decoderOnly)).toBe(true);
    expect(validate(encoderOnly)).toBe(true);
    expect(validate({ ...decoderOnly, float16: { decoder: 'd16.onnx' } })).toBe(true);
    expect(validate({ ...decoderOnly, float16: { encoder: 'e16.onnx', decoder: 'd16.onnx' } })).toBe(false);
    const { encoder: _e, decoder: _d, ...neither } = base as Record<string, unknown>;
    expect(validate(neither)).toBe(false);
  });

  const shipped = shippedManifests();
  it('finds the shipped manifests', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(5);
    expect(existsSync(join(MODELS, 'fixtures', 'conv-moments', 'vae.json'))).toBe(true);
  });

  it.each(shipped.map((p) => [p.slice(ROOT.length + 1), p]))('accepts %s, as parseManifest does', (_name, path) => {
    const json = JSON.parse(readFileSync(path, 'utf8'));
    expect(validate(json) ? [] : validate.errors).toEqual([]);
    expect(() => parseManifest(json)).not.toThrow();
  });

  it.each(badManifests.filter((c) => c.schemaCatches && typeof c.input !== 'string').map((c) => [c.name, c.input]))(
    'rejects %s, as parseManifest does',
    (_name, input) => {
      expect(validate(input)).toBe(false);
      expect(() => parseManifest(input)).toThrow();
    },
  );
});
