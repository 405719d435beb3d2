#!/usr/bin/env node
// The `onnx-vae` executable: a committed shim, so package managers can link the bin before `tsc -b` has built dist/.
import '../dist/main.js';
