import { readFile } from 'node:fs/promises';
import { loadVae } from '../src/index';
import { describeVaeContract, testFixtures } from '@onnx-vae/core/testing';

const fixtures = testFixtures(__dirname);
const read = (path: string) => readFile(path, 'utf8');

describeVaeContract({
  backend: 'onnxruntime-node (cpu)',
  load: (model, options) => loadVae(fixtures.model(model), { intraOpNumThreads: 1, ...options }),
  golden: (model) => fixtures.golden(model, read),
});
