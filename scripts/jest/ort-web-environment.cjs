// The test environment of @onnx-vae/web's Node tests (select it with a `@jest-environment` docblock).
//
// onnxruntime-web's Node build loads its emscripten glue (ort-wasm-simd-threaded.mjs) with a dynamic import(), which
// jest's vm realm refuses without --experimental-vm-modules (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG). So this
// environment imports onnxruntime-web once in the host realm, where import() works, and hands the module to the test
// realm as a global; jest.config.ts maps the package's `#ort` import to ort-web-host.cjs, which returns it. The
// typed arrays are the host's too (the shared environment), so onnxruntime's `instanceof Float32Array` checks pass.
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const SharedTypedArrayEnvironment = require('./environment.cjs');

// onnxruntime-web is a dependency of packages/web, so it is resolved from there (its Node ESM build, as the
// package's own `#ort` import resolves it under Node).
const WEB = join(__dirname, '..', '..', 'packages', 'web');
const ORT_WEB = pathToFileURL(require.resolve('onnxruntime-web', { paths: [WEB] }).replace(/\.js$/, '.mjs')).href;

class OrtWebEnvironment extends SharedTypedArrayEnvironment {
  async setup() {
    await super.setup();
    this.global.__onnxVaeOrtWeb = await import(ORT_WEB);
  }
}

module.exports = OrtWebEnvironment;
