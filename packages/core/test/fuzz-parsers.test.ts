/**
 * Fuzzing of core's parsers with fast-check: random bytes and mutations of valid files (byte flips, truncation,
 * insertion, splicing) for the manifest, the ONNX reader, `.vlat` and `.safetensors`. Every outcome must be a value
 * or a typed VaeError: never a TypeError, RangeError or other untyped error, and never a hang (each property has a
 * time budget). Runs are counted so the file takes a few seconds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { mutations } from './fuzz-mutations';
import {
  VaeError,
  VaeTensor,
  decodeLatentFile,
  decodeSafetensors,
  encodeLatentFile,
  encodeSafetensors,
  latentFileInfo,
  parseManifest,
  readOnnxSummary,
} from '../src/index';

const MODELS = join(__dirname, '..', '..', '..', 'models');
const MANIFEST_TEXT = readFileSync(join(MODELS, 'kl-f8', 'vae.json'), 'utf8');
const ONNX = new Uint8Array(readFileSync(join(MODELS, 'fixtures', 'mlp-probs', 'encoder.onnx')));
const FINGERPRINT = 'a'.repeat(64);
const VLAT = encodeLatentFile(
  new VaeTensor(
    Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i)),
    [1, 4, 8, 8],
  ),
  { modelFingerprint: FINGERPRINT, imageSize: { height: 60, width: 61 } },
);
const VLAT_RAW = encodeLatentFile(
  new VaeTensor(
    Float32Array.from({ length: 2 * 3 }, (_, i) => i),
    [2, 3],
  ),
  { modelFingerprint: FINGERPRINT, dtype: 'uint8-affine', compression: 'none' },
);
const SAFETENSORS = encodeSafetensors(
  { mean: new VaeTensor(new Float32Array([1, 2, 3, 4]), [2, 2]), logvar: new VaeTensor(new Float32Array([0, -1]), [2]) },
  { model: 'x' },
);

/** Runs `parse`; passes when it returns or throws a VaeError, and records anything else. */
function typedOnly(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (error) {
    if (VaeError.isInstance(error)) return true;
    throw new Error(`untyped error: ${String(error)}`, { cause: error });
  }
}

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc.uint8Array({ minLength: 4, maxLength: 64 }).map((b) => b),
);
const budget = { numRuns: 1000, interruptAfterTimeLimit: 4000 };

describe('fuzzing the parsers: typed errors only', () => {
  it('parseManifest: random JSON values, random text and mutations of a valid vae.json', () => {
    const text = new TextEncoder().encode(MANIFEST_TEXT);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => typedOnly(() => parseManifest(value))),
      budget,
    );
    fc.assert(
      fc.property(fc.string(), (value) => typedOnly(() => parseManifest(value))),
      budget,
    );
    fc.assert(
      fc.property(mutations(text), (mutated) => typedOnly(() => parseManifest(new TextDecoder().decode(mutated)))),
      budget,
    );
    // A valid manifest with one field replaced by anything.
    const valid = JSON.parse(MANIFEST_TEXT) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(valid), 'float16'), fc.anything(), (key, value) => typedOnly(() => parseManifest({ ...valid, [key]: value }))),
      budget,
    );
  });

  it('readOnnxSummary: random bytes and mutations of a real graph', () => {
    fc.assert(
      fc.property(bytes, (b) => typedOnly(() => readOnnxSummary(b))),
      budget,
    );
    fc.assert(
      fc.property(mutations(ONNX), (b) => typedOnly(() => readOnnxSummary(b))),
      budget,
    );
  });

  it('decodeLatentFile and latentFileInfo: random bytes and mutations of valid files', () => {
    fc.assert(
      fc.property(bytes, (b) => typedOnly(() => decodeLatentFile(b)) && typedOnly(() => latentFileInfo(b))),
      budget,
    );
    for (const valid of [VLAT, VLAT_RAW]) {
      fc.assert(
        fc.property(mutations(valid), (b) => typedOnly(() => decodeLatentFile(b, { expectedFingerprint: FINGERPRINT })) && typedOnly(() => latentFileInfo(b))),
        budget,
      );
    }
  });

  it('decodeSafetensors: random bytes and mutations of a valid file', () => {
    fc.assert(
      fc.property(bytes, (b) => typedOnly(() => decodeSafetensors(b))),
      budget,
    );
    fc.assert(
      fc.property(mutations(SAFETENSORS), (b) => typedOnly(() => decodeSafetensors(b))),
      budget,
    );
  });

  it('the parsers refuse non-bytes with typed errors', () => {
    fc.assert(
      fc.property(
        fc.anything(),
        (value) =>
          typedOnly(() => decodeLatentFile(value as Uint8Array)) &&
          typedOnly(() => decodeSafetensors(value as Uint8Array)) &&
          typedOnly(() => latentFileInfo(value as Uint8Array)) &&
          typedOnly(() => readOnnxSummary(value as Uint8Array)),
      ),
      budget,
    );
  });
});
