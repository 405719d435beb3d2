// VaeErrors rebuilt after crossing a thread boundary: same class, code, fields, message and stack.
import {
  BackendError,
  FileFormatError,
  InvalidInputError,
  InvalidOptionError,
  ManifestError,
  ModelFileError,
  ModelMismatchError,
  RequestError,
  VaeError,
} from '../src/errors';
import { deserializeError, serializeError } from '../src/error-transport';

describe('serializeError / deserializeError', () => {
  it.each([
    [new VaeError('UNSUPPORTED', 'base'), {}],
    [new InvalidInputError('SHAPE_MISMATCH', 'x', 'bad shape'), { argument: 'x' }],
    [new InvalidOptionError('samples', 'bad option'), { option: 'samples' }],
    [new FileFormatError('npy', 'a.npy', 'bad file'), { format: 'npy', file: 'a.npy' }],
    [new ManifestError('MANIFEST_INVALID', 'encoder.output', 'bad manifest'), { field: 'encoder.output' }],
    [new ModelMismatchError('decoder', 'mismatch'), { graph: 'decoder' }],
    [new ModelFileError('MODEL_FILE_CORRUPT', 'e.onnx', 'corrupt'), { file: 'e.onnx' }],
    [new BackendError('INFERENCE_FAILED', 'failed'), {}],
    [new RequestError('QUEUE_FULL', 'full'), {}],
  ])('rebuilds %s with its class, code and fields, through JSON too', (error, fields) => {
    const copy = deserializeError(JSON.parse(JSON.stringify(serializeError(error))));
    expect(copy).toBeInstanceOf(error.constructor);
    expect(VaeError.isInstance(copy)).toBe(true);
    expect(copy).toMatchObject({ name: error.name, code: error.code, message: error.message, ...fields });
    expect(copy.stack).toBe(error.stack);
  });

  it('keeps other errors as plain Errors with their name, message and cause', () => {
    const error = new TypeError('not a tensor', { cause: new RangeError('deep') });
    const copy = deserializeError(serializeError(error));
    expect(VaeError.isInstance(copy)).toBe(false);
    expect(copy).toMatchObject({ name: 'TypeError', message: 'not a tensor' });
    expect(copy.cause).toMatchObject({ name: 'RangeError', message: 'deep' });
    expect(deserializeError(serializeError('a string'))).toMatchObject({ name: 'Error', message: 'a string' });
  });
});
