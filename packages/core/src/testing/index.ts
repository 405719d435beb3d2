/**
 * `@onnx-vae/core/testing`: the test kit. The VAE contract suite that every backend runs, golden-data and closeness
 * helpers, the one `errorOf`, the repository's fixture paths, and a pure-JS mock backend (a small linear VAE) that
 * runs the whole `Vae` API without a runtime. Imports no `fs` and no test runner: readers are passed in, and the
 * contract suite takes the runner's globals (jest, or the browser harness).
 *
 * @packageDocumentation
 */
export * from './closeness.js';
export * from './contract.js';
export * from './error-of.js';
export * from './fixtures.js';
export * from './golden.js';
export * from './test-api.js';
export * from './mock-backend.js';
export * from './wrap-backend.js';
