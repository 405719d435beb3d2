// The .npy encoder and parser live in @onnx-vae/core (formats/npy.ts); re-exported here for the CLI's imports.
export { NPY_DTYPES, NPY_MAGIC, encodeNpy, isNpy, parseNpy, readNpy } from '@onnx-vae/core';
export type { NpyArray, NpyDtype } from '@onnx-vae/core';
