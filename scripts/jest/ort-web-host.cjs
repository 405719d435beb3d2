// `#ort` in jest: the onnxruntime-web module that ort-web-environment.cjs imported in the host realm.
if (!globalThis.__onnxVaeOrtWeb) {
  throw new Error('onnxruntime-web is not loaded: start this test file with /** @jest-environment ./scripts/jest/ort-web-environment.cjs */');
}
module.exports = globalThis.__onnxVaeOrtWeb;
