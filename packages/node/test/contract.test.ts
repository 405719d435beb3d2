import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadVae } from '../src/index';
import { describeVaeContract } from '../../core/test/contract/vae-contract';

const MODELS = join(__dirname, '..', '..', '..', 'models');

describeVaeContract({
  backend: 'onnxruntime-node (cpu)',
  load: (model, options) => loadVae(join(MODELS, model), { intraOpNumThreads: 1, ...options }),
  golden: async (model) => JSON.parse(await readFile(join(MODELS, model, 'golden.json'), 'utf8')),
});
