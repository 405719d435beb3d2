// Jest runs each test file in its own vm realm, whose Float32Array is not the host's. onnxruntime-node checks
// tensor data with `instanceof Float32Array` against the host realm, so a tensor built in a test fails with
// "A float32 tensor's data must be type of function Float32Array()" (jest #11864, onnxruntime #16622).
// This environment hands the test realm the host's typed-array constructors, once, for every test file.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArrayEnvironment;
