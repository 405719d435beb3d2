/**
 * `onnx-vae info`: what a model folder holds.
 */
import {
  MANIFEST_FILE,
  OrtNodeBackend,
  VaeError,
  checkManifestAgainstGraphs,
  describeLikelihood,
  folderModelStore,
  graphSource,
  planModel,
  readOnnxSummary,
  sha256Hex,
} from '@onnx-vae/node';
import type { BackendSession, Manifest, OnnxOpset, TensorInfo } from '@onnx-vae/node';
import { backendOptions, limitsOption, modelFolder, presetOption } from '../context.js';
import type { Command, CommandContext } from '../context.js';

/** A file of the model folder. */
export interface ModelFileInfo {
  /** `manifest`, `encoder` or `decoder`. */
  readonly role: 'manifest' | 'encoder' | 'decoder' | 'float16 encoder' | 'float16 decoder';
  /** The name inside the folder. */
  readonly file: string;
  /** Size in bytes. */
  readonly bytes: number;
  /** SHA-256 of the contents, lower-case hex. */
  readonly sha256: string;
}

/** One graph of the model. */
export interface GraphSummary {
  /** The ONNX file's name. */
  readonly file: string;
  /** Sum of the element counts of the graph's initializers (weights in Constant nodes are not counted). */
  readonly parameters: number;
  /** Number of initializers. */
  readonly initializers: number;
  /** Number of nodes of the main graph. */
  readonly nodes: number;
  /** `ir_version` of the file. */
  readonly irVersion: number | null;
  /** `producer_name` and `producer_version`, e.g. `"pytorch 2.5.1"`. */
  readonly producer: string;
  /** Imported operator sets. */
  readonly opsets: readonly OnnxOpset[];
  /** Inputs as onnxruntime reports them. */
  readonly inputs: readonly TensorInfo[];
  /** Outputs as onnxruntime reports them. */
  readonly outputs: readonly TensorInfo[];
}

/** What `onnx-vae info --json` prints. */
export interface ModelInfo {
  /** The manifest's `name`. */
  readonly name: string;
  /** The manifest's `description`, or `null`. */
  readonly description: string | null;
  /** Absolute path of the model folder. */
  readonly folder: string;
  /** The validated manifest, defaults filled in. */
  readonly manifest: Manifest;
  /** vae.json and the graphs. */
  readonly files: readonly ModelFileInfo[];
  /** The graphs; `null` for the one a decoder-only (or encoder-only) model lacks. */
  readonly graphs: { readonly encoder: GraphSummary | null; readonly decoder: GraphSummary | null };
  /** Parameters of the graphs together. */
  readonly parameters: number;
  /** The backend that opened the graphs. */
  readonly backend: string;
  /** For an export without vae.json: the layout detected, the preset, and why; `null` with a vae.json. */
  readonly detection: { readonly layout: string; readonly preset: string | null; readonly reasons: readonly string[] } | null;
  /** Whether the manifest matches the graphs (names, ranks, types, sizes). */
  readonly check: { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };
}

/**
 * Gathers a model folder's summary: manifest, files with sizes and hashes, parameter counts, graph inputs and
 * outputs (by opening both graphs, once; an export without vae.json has its manifest detected from them), and
 * whether the manifest matches the graphs.
 *
 * @returns the summary, and the typed error of the manifest check (`null` when the manifest matches)
 * @throws {@link ModelFileError}, {@link ManifestError} and backend errors
 */
export async function modelInfo(context: CommandContext): Promise<{ info: ModelInfo; mismatch: VaeError | null }> {
  const folder = await modelFolder(context);
  const store = folderModelStore(folder);
  const limits = limitsOption(context);
  const plan = await planModel(store, { ...presetOption(context), limits });
  const graphLimit = { limit: 'maxGraphBytes', maximum: limits.maxGraphBytes } as const;
  const files: ModelFileInfo[] = [];
  if (plan.layout === null) {
    const manifestBytes = await store.read(MANIFEST_FILE, 'manifest', { limit: 'maxManifestBytes', maximum: limits.maxManifestBytes });
    files.push({ role: 'manifest', file: MANIFEST_FILE, bytes: manifestBytes.length, sha256: await sha256Hex(manifestBytes) });
  }
  const backend = new OrtNodeBackend(backendOptions(context));
  const sessions: Partial<Record<'encoder' | 'decoder', BackendSession>> = {};
  try {
    const graphs: Partial<Record<'encoder' | 'decoder', GraphSummary>> = {};
    for (const role of ['encoder', 'decoder'] as const) {
      const file = plan[role];
      if (file === undefined) continue;
      const bytes = await store.read(file, `${role} graph`, graphLimit);
      files.push({ role, file, bytes: bytes.length, sha256: await sha256Hex(bytes) });
      const summary = readOnnxSummary(bytes, store.locate(file));
      const session = await backend.createSession(await graphSource(store, file, role, limits), role);
      sessions[role] = session;
      graphs[role] = {
        file,
        parameters: summary.parameterCount,
        initializers: summary.initializers.length,
        nodes: summary.nodeCount,
        irVersion: summary.irVersion,
        producer: `${summary.producerName} ${summary.producerVersion}`.trim(),
        opsets: summary.opsets,
        inputs: session.inputs,
        outputs: session.outputs,
      };
    }
    const { encoder, decoder } = sessions;
    const detection = typeof plan.manifest === 'function' ? plan.manifest(sessions) : null;
    const manifest = detection?.manifest ?? (plan.manifest as Manifest);
    // The float16 graphs (onnxruntime-web on WebGPU with shader-f16) are listed and hashed; Node runs the float32 ones.
    for (const role of ['encoder', 'decoder'] as const) {
      const file = manifest.float16?.[role];
      if (file === undefined) continue;
      const bytes = await store.read(file, `float16 ${role} graph`, graphLimit);
      files.push({ role: `float16 ${role}`, file, bytes: bytes.length, sha256: await sha256Hex(bytes) });
    }
    let mismatch: VaeError | null = null;
    try {
      checkManifestAgainstGraphs(manifest, encoder ?? null, decoder ?? null);
    } catch (error) {
      if (!VaeError.isInstance(error)) throw error;
      mismatch = error;
    }
    const summaries = { encoder: graphs.encoder ?? null, decoder: graphs.decoder ?? null };
    const info: ModelInfo = {
      name: manifest.name,
      description: manifest.description ?? null,
      folder,
      manifest,
      files,
      graphs: summaries,
      parameters: (summaries.encoder?.parameters ?? 0) + (summaries.decoder?.parameters ?? 0),
      backend: backend.name,
      detection: detection === null ? null : { layout: detection.layout, preset: detection.preset, reasons: [...detection.reasons] },
      check: mismatch === null ? { ok: true } : { ok: false, code: mismatch.code, message: mismatch.message },
    };
    return { info, mismatch };
  } finally {
    await Promise.all(Object.values(sessions).map((s) => s.release()));
  }
}

function shapeText(shape: TensorInfo['shape']): string {
  return shape === undefined ? '?' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** What a model without each graph cannot do, for `info`. */
const MISSING = Object.freeze({
  encoder: 'a decoder-only model (decode and generate work; encode, reconstruct, score and compress need an encoder)',
  decoder: 'an encoder-only model (encode and encode-dataset work; decode, generate, reconstruct, score and decompress need a decoder)',
});

function formatInfo(info: ModelInfo): string {
  const m = info.manifest;
  const count = (n: number): string => n.toLocaleString('en-US');
  const image = m.data.image ? `, image ${m.data.image.width}x${m.data.image.height}x${m.data.image.channels}` : '';
  const lines = [
    `${info.name}${info.description ? `: ${info.description}` : ''}`,
    `folder      ${info.folder}`,
    `data        ${shapeText(m.data.shape)} ${m.data.layout}, range [${m.data.range.join(', ')}]${image}`,
    `latent      ${shapeText(m.latent.shape)}, spatial factor ${m.latent.spatialFactor ?? 'none'}, scaling factor ${m.latent.scalingFactor}, shift factor ${m.latent.shiftFactor}`,
    `likelihood  ${describeLikelihood(m.likelihood)}`,
  ];
  for (const role of ['encoder', 'decoder'] as const) {
    const graph = info.graphs[role];
    if (graph === null) {
      lines.push(`${role.padEnd(12)}none: ${MISSING[role]}`);
      continue;
    }
    const file = info.files.find((f) => f.role === role)!;
    const opset = graph.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    lines.push(
      `${role.padEnd(12)}${graph.file}, ${sizeText(file.bytes)}, ${count(graph.parameters)} parameters${opset ? `, opset ${opset.version}` : ''}${graph.producer ? `, ${graph.producer}` : ''}`,
    );
    const width = Math.max(...[...graph.inputs, ...graph.outputs].map((t) => t.name.length));
    for (const [side, list] of [
      ['in ', graph.inputs],
      ['out', graph.outputs],
    ] as const) {
      for (const t of list) lines.push(`  ${side}  ${t.name.padEnd(width)}  ${t.type ?? '?'} ${shapeText(t.shape)}`);
    }
  }
  if (m.float16)
    lines.push(
      `float16     ${[m.float16.encoder, m.float16.decoder].filter((f) => f !== undefined).join(', ')} (for WebGPU adapters with shader-f16, in @onnx-vae/web; Node runs the float32 graphs)`,
    );
  lines.push(`parameters  ${count(info.parameters)} in total`);
  const width = Math.max(...info.files.map((f) => f.file.length));
  info.files.forEach((f, i) => lines.push(`${i === 0 ? 'sha256      ' : '            '}${f.file.padEnd(width)}  ${f.sha256}  ${count(f.bytes)} bytes`));
  lines.push(`backend     ${info.backend}`);
  if (info.detection !== null) {
    lines.push(`detected    no vae.json: the "${info.detection.layout}" layout${info.detection.preset ? `, preset "${info.detection.preset}"` : ''}; because`);
    for (const reason of info.detection.reasons) lines.push(`              - ${reason}`);
  }
  lines.push(`check       ${info.check.ok ? 'the manifest matches the graphs' : `${info.check.code}: ${info.check.message}`}`);
  return `${lines.join('\n')}\n`;
}

/** `onnx-vae info <model> [--json]`. */
export const infoCommand: Command = {
  summary: 'manifest, graph inputs and outputs, parameter counts, file sizes and sha256 hashes',
  synopsis: 'onnx-vae info <model> [--json] [options]',
  details: [
    "Prints what the model folder holds: the manifest, each graph's inputs and outputs (names, element types, shapes,",
    "as onnxruntime reports them), parameter counts (the elements of each graph's initializers; weights stored in",
    'Constant nodes are not counted), file sizes and SHA-256 hashes. Exits with 2 when the manifest and the graphs',
    'disagree, after printing the summary.',
  ].join('\n'),
  options: { json: { type: 'boolean', description: 'print the summary as JSON' } },
  inputs: { min: 0, max: 0 },
  async run(context) {
    const { info, mismatch } = await modelInfo(context);
    context.io.stdout.write(context.values.json === true ? `${JSON.stringify(info, null, 2)}\n` : formatInfo(info));
    if (mismatch !== null) throw mismatch;
  },
};
