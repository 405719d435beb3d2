import { readFile } from 'node:fs/promises';
import { loadVae } from '../src/index';
import { describeVaeContract, testFixtures } from '@onnx-vae/core/testing';

const fixtures = testFixtures(__dirname);
const read = (path: string) => readFile(path, 'utf8');

// The same suite through the worker pool: sessions in two piscina worker threads (WorkerPoolBackend).
describeVaeContract({
  backend: 'onnxruntime-node (cpu) in 2 worker threads',
  load: (model, options) => loadVae(fixtures.model(model), { workers: 2, intraOpNumThreads: 1, ...options }),
  golden: (model) => fixtures.golden(model, read),
});
