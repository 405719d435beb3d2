import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { countOnnxParameters, readOnnxSummary } from '../src/index';
import { ModelFileError } from '../src/index';
import { errorOf } from '@onnx-vae/core/testing';

const MODELS = resolve(__dirname, '../../../models');
const PYTHON = '/usr/bin/python3';

/** Every .onnx file of the shipped model and the fixtures that exists now. */
function onnxFiles(): string[] {
  const folders = [join(MODELS, 'mnist-vae')];
  const fixtures = join(MODELS, 'fixtures');
  if (existsSync(fixtures)) for (const name of readdirSync(fixtures).sort()) folders.push(join(fixtures, name));
  return folders.flatMap((folder) => ['encoder.onnx', 'decoder.onnx'].map((file) => join(folder, file))).filter((path) => existsSync(path));
}

// ---- a tiny protobuf writer for hand-made models
function varint(value: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(value));
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number): number[] => varint(field * 8 + wire);
const bytesField = (field: number, payload: number[]): number[] => [...key(field, 2), ...varint(payload.length), ...payload];
const varintField = (field: number, value: number): number[] => [...key(field, 0), ...varint(value)];
const text = (s: string): number[] => Array.from(Buffer.from(s, 'utf8'));

function tensor(name: string, dims: number[], packed: boolean): number[] {
  const dimBytes = packed ? bytesField(1, dims.flatMap(varint)) : dims.flatMap((d) => varintField(1, d));
  return [...dimBytes, ...varintField(2, 1), ...bytesField(8, text(name)), ...bytesField(9, [0, 0, 0, 0])];
}

function model(graph: number[]): Uint8Array {
  return Uint8Array.from([
    ...varintField(1, 8),
    ...bytesField(2, text('hand')),
    ...bytesField(3, text('1.0')),
    ...bytesField(7, graph),
    ...bytesField(8, [...bytesField(1, []), ...varintField(2, 17)]),
  ]);
}

function corrupt(fn: () => unknown): ModelFileError {
  const error = errorOf(fn)?.error;
  expect(error).toBeInstanceOf(ModelFileError);
  return error as ModelFileError;
}

describe('readOnnxSummary on hand-made models', () => {
  it('reads packed and unpacked dims, scalars, names, opsets and counts nodes', () => {
    const graph = [
      ...bytesField(1, bytesField(4, text('Gemm'))),
      ...bytesField(1, bytesField(4, text('Relu'))),
      ...bytesField(2, text('g')),
      ...bytesField(5, tensor('w', [3, 4], true)),
      ...bytesField(5, tensor('b', [300], false)),
      ...bytesField(5, tensor('s', [], true)),
      ...bytesField(5, tensor('ü', [2, 0], false)),
    ];
    const summary = readOnnxSummary(model(graph), 'hand.onnx');
    expect(summary).toEqual({
      irVersion: 8,
      producerName: 'hand',
      producerVersion: '1.0',
      opsets: [{ domain: '', version: 17 }],
      graphName: 'g',
      nodeCount: 2,
      initializers: [
        { name: 'w', dims: [3, 4], dataType: 1, elements: 12 },
        { name: 'b', dims: [300], dataType: 1, elements: 300 },
        { name: 's', dims: [], dataType: 1, elements: 1 },
        { name: 'ü', dims: [2, 0], dataType: 1, elements: 0 },
      ],
      parameterCount: 313,
    });
    expect(countOnnxParameters(model(graph))).toBe(313);
  });

  it('rejects a truncated file with MODEL_FILE_CORRUPT, naming the file and the byte', () => {
    const bytes = model(bytesField(5, tensor('w', [3, 4], true)));
    // ir_version (2 bytes), producer_name (6), producer_version (5), then the graph: tag at byte 13, its length (17)
    // at byte 14, so cutting the file at 20 bytes cuts the graph.
    const error = corrupt(() => readOnnxSummary(bytes.subarray(0, 20), 'enc.onnx'));
    expect(error.code).toBe('MODEL_FILE_CORRUPT');
    expect(error.file).toBe('enc.onnx');
    expect(error.message).toBe(
      'enc.onnx is not a valid ONNX model: a field of 17 bytes runs past the end of its message (in ModelProto, at byte 14 of 20). The file may be truncated or not an ONNX file; re-export or re-download it.',
    );
  });

  it('rejects an empty file, a file without a graph, bad wire types and negative dims', () => {
    expect(corrupt(() => readOnnxSummary(new Uint8Array(0), 'x.onnx')).message).toBe(
      'x.onnx is not a valid ONNX model: the file is empty (in ModelProto, at byte 0 of 0). The file may be truncated or not an ONNX file; re-export or re-download it.',
    );
    expect(corrupt(() => readOnnxSummary(Uint8Array.from(varintField(1, 8)))).message).toMatch(
      /^ONNX file is not a valid ONNX model: it has no graph \(ModelProto field 7\)/,
    );
    expect(corrupt(() => readOnnxSummary(Uint8Array.from([...key(7, 0), 1]))).message).toMatch(/field ModelProto.graph has wire type 0, expected 2/);
    expect(corrupt(() => readOnnxSummary(Uint8Array.from([...key(9, 7)]))).message).toMatch(/unsupported wire type 7/);
    expect(corrupt(() => readOnnxSummary(model(bytesField(5, tensor('w', [-1, 4], false))))).message).toMatch(/initializer "w" has dimension -1/);
    expect(corrupt(() => readOnnxSummary(Buffer.from('\x89PNG\r\n\x1a\n not onnx at all'))).code).toBe('MODEL_FILE_CORRUPT');
  });
});

const files = onnxFiles();
const python = spawnSync(PYTHON, ['-c', 'import onnx, numpy'], { encoding: 'utf8' });
const pythonOnnx = python.status === 0;
if (!pythonOnnx) {
  console.warn(
    `onnx-proto.test: skipping the comparison with python onnx: "${PYTHON} -c 'import onnx, numpy'" failed (${python.error?.message ?? python.stderr.trim()}). Install python3-onnx to run it.`,
  );
}
if (files.length === 0) {
  console.warn(`onnx-proto.test: skipping the comparison with python onnx: no .onnx files under ${MODELS}.`);
}

(pythonOnnx && files.length > 0 ? describe : describe.skip)('readOnnxSummary against python onnx on the shipped models', () => {
  // One python run for every file: parameter count, initializers, nodes, ir_version, producer, opsets.
  const script = [
    'import json, sys, onnx, numpy',
    'out = []',
    'for p in sys.argv[1:]:',
    '    m = onnx.load(p, load_external_data=False)',
    '    out.append({"parameterCount": sum(int(numpy.prod(t.dims)) for t in m.graph.initializer),',
    '                "initializers": [[t.name, list(t.dims), t.data_type] for t in m.graph.initializer],',
    '                "nodeCount": len(m.graph.node), "irVersion": m.ir_version, "producerName": m.producer_name,',
    '                "producerVersion": m.producer_version, "opsets": [[o.domain, o.version] for o in m.opset_import]})',
    'print(json.dumps(out))',
  ].join('\n');
  let reference: Record<string, unknown>[] = [];

  beforeAll(() => {
    const run = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`python onnx failed: ${run.stderr}`);
    reference = JSON.parse(run.stdout) as Record<string, unknown>[];
  });

  it.each(files.map((f) => [f.slice(MODELS.length + 1), f]))('%s', (_name, path) => {
    const expected = reference[files.indexOf(path)]!;
    const summary = readOnnxSummary(readFileSync(path), path);
    expect(summary.parameterCount).toBe(expected.parameterCount);
    expect(summary.parameterCount).toBeGreaterThan(0);
    expect(summary.initializers.map((t) => [t.name, t.dims, t.dataType])).toEqual(expected.initializers);
    expect(summary.nodeCount).toBe(expected.nodeCount);
    expect(summary.irVersion).toBe(expected.irVersion);
    expect(summary.producerName).toBe(expected.producerName);
    expect(summary.producerVersion).toBe(expected.producerVersion);
    expect(summary.opsets.map((o) => [o.domain, o.version])).toEqual(expected.opsets);
  });

  it.each(files.map((f) => [f.slice(MODELS.length + 1), f]))('%s truncated to half is rejected with MODEL_FILE_CORRUPT', (_name, path) => {
    const bytes = readFileSync(path);
    const error = corrupt(() => readOnnxSummary(bytes.subarray(0, Math.floor(bytes.length / 2)), path));
    expect(error.code).toBe('MODEL_FILE_CORRUPT');
    expect(error.message.startsWith(`${path} is not a valid ONNX model: `)).toBe(true);
  });
});
