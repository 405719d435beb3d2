// The "add a backend" recipe of docs/architecture.md, tried: a backend and a model store written against the public
// APIs of @onnx-vae/core and @onnx-vae/ort-common only (here over onnxruntime-node; onnxruntime-react-native would
// change the import and where the bytes come from), passing the whole VAE contract suite. The lines between the
// markers are what a new backend package needs (see the line count in docs/architecture.md).
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describeVaeContract, testFixtures } from '@onnx-vae/core/testing';

// --- a new backend: begin ---
import { ModelFileError, loadModel } from '@onnx-vae/core';
import type { Backend, BackendSession, ModelSource, ModelStore, Vae, VaeOptions } from '@onnx-vae/core';
import { OrtSession, createOrtSession } from '@onnx-vae/ort-common';

class MinimalOrtBackend implements Backend {
  readonly specificationVersion = 'v1' as const;
  readonly name = `onnxruntime ${ort.env.versions.common} (minimal)`;
  constructor(private readonly options: ort.InferenceSession.SessionOptions = {}) {}

  async createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession> {
    const label = 'path' in source ? source.path : `${role} bytes`;
    const create = () => ('path' in source ? ort.InferenceSession.create(source.path, this.options) : ort.InferenceSession.create(source.bytes, this.options));
    return new OrtSession(await createOrtSession(create, 'onnxruntime', label), ort, { runtime: 'onnxruntime', role });
  }
}

function folderStore(dir: string): ModelStore {
  return {
    name: basename(dir),
    locate: (file) => join(dir, file),
    read: (file, what) =>
      readFile(join(dir, file)).catch((error: unknown) => {
        throw new ModelFileError('MODEL_FILE_NOT_FOUND', join(dir, file), `Cannot read the ${what} ${join(dir, file)}.`, { cause: error });
      }),
    exists: (file) =>
      stat(join(dir, file)).then(
        (s) => s.isFile(),
        () => false,
      ),
    list: () => readdir(dir).catch(() => []),
  };
}

function loadMinimal(dir: string, options: VaeOptions & { preset?: string } = {}): Promise<Vae> {
  return loadModel(folderStore(dir), { backend: new MinimalOrtBackend({ intraOpNumThreads: 1 }), ...options });
}
// --- a new backend: end ---

const fixtures = testFixtures(__dirname);

describeVaeContract({
  backend: 'a minimal backend on @onnx-vae/ort-common',
  load: (model, options) => loadMinimal(fixtures.model(model), options),
  golden: (model) => fixtures.golden(model, (path) => readFile(path, 'utf8')),
});
