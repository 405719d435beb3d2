/**
 * A minimal reader of the ONNX protobuf (onnx/onnx.proto3): just enough of ModelProto, GraphProto and TensorProto to
 * summarise a model and count its parameters, without a protobuf library or the tensors' data.
 */
import { InvalidInputError, ModelFileError, describe } from '../errors.js';
import { isUint8Array } from '../tensor/float16.js';

/** One initializer (a stored weight tensor) of a graph. */
export interface OnnxInitializer {
  /** Tensor name. */
  readonly name: string;
  /** Dims; `[]` for a scalar. */
  readonly dims: readonly number[];
  /** `TensorProto.DataType` code (1 float, 10 float16, 7 int64, ...). */
  readonly dataType: number;
  /** Number of elements: the product of `dims` (1 for a scalar). */
  readonly elements: number;
}

/** An operator set the model imports. */
export interface OnnxOpset {
  /** Operator domain; `""` is the default ONNX domain. */
  readonly domain: string;
  /** Operator set version. */
  readonly version: number;
}

/** What {@link readOnnxSummary} reads from a model file. */
export interface OnnxModelSummary {
  /** `ModelProto.ir_version`; `null` when absent. */
  readonly irVersion: number | null;
  /** `ModelProto.producer_name`, e.g. `"pytorch"`. */
  readonly producerName: string;
  /** `ModelProto.producer_version`. */
  readonly producerVersion: string;
  /** `ModelProto.opset_import`. */
  readonly opsets: readonly OnnxOpset[];
  /** `GraphProto.name`. */
  readonly graphName: string;
  /** Number of nodes of the main graph (not counting subgraphs). */
  readonly nodeCount: number;
  /** The main graph's initializers. */
  readonly initializers: readonly OnnxInitializer[];
  /** Sum of the initializers' element counts. */
  readonly parameterCount: number;
}

/** @internal Protobuf wire types. */
export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
/** @internal */
export const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** Field numbers used here (onnx.proto3). */
const MODEL = Object.freeze({ irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8 });
const GRAPH = Object.freeze({ node: 1, name: 2, initializer: 5 });
const TENSOR = Object.freeze({ dims: 1, dataType: 2, name: 8 });
const OPSET = Object.freeze({ domain: 1, version: 2 });

/**
 * A protobuf reader over bytes in memory. `base` and `total` place those bytes in a larger file (a window of it read
 * by `readOnnxGraphInfo`), for messages.
 *
 * @internal
 */
export class ProtoReader {
  position: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
    private readonly file: string,
    private readonly what: string,
    private readonly base = 0,
    private readonly total = bytes.length,
  ) {
    this.position = start;
  }

  fail(detail: string, at = this.position): never {
    throw new ModelFileError(
      'MODEL_FILE_CORRUPT',
      this.file,
      `${this.file} is not a valid ONNX model: ${detail} (in ${this.what}, at byte ${this.base + at} of ${this.total}). The file may be truncated or not an ONNX file; re-export or re-download it.`,
    );
  }

  get done(): boolean {
    return this.position >= this.end;
  }

  /** An unsigned varint; values above 2^53 lose precision, negative int64 come out as 2^64 - |v|. */
  varint(): number {
    const start = this.position;
    let value = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      if (this.position >= this.end) this.fail('a number runs past the end of its field', start);
      const byte = this.bytes[this.position++]!;
      value += (byte & 0x7f) * factor;
      if (byte < 0x80) return value;
      factor *= 128;
    }
    return this.fail('a number is longer than 10 bytes', start);
  }

  /** A varint read as a signed int64. */
  int64(): number {
    const start = this.position;
    const value = this.varint();
    if (value < 2 ** 63) return value;
    let big = 0n;
    for (let i = this.position - 1; i >= start; i--) big = (big << 7n) | BigInt(this.bytes[i]! & 0x7f);
    return Number(BigInt.asIntN(64, big));
  }

  tag(): { field: number; wire: number } {
    const start = this.position;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) this.fail('a field number is 0', start);
    return { field, wire };
  }

  /** The bounds of a length-delimited field's payload; moves past it. */
  span(): [number, number] {
    const start = this.position;
    const length = this.varint();
    if (this.position + length > this.end) this.fail(`a field of ${length} bytes runs past the end of its message`, start);
    const bounds: [number, number] = [this.position, this.position + length];
    this.position += length;
    return bounds;
  }

  string(): string {
    const [start, end] = this.span();
    return utf8(this.bytes.subarray(start, end));
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LENGTH) this.span();
    else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      const size = wire === WIRE_FIXED64 ? 8 : 4;
      if (this.position + size > this.end) this.fail('a fixed-size field runs past the end of its message');
      this.position += size;
    } else this.fail(`unsupported wire type ${wire}`);
  }

  expect(wire: number, wanted: number, field: string): void {
    if (wire !== wanted) this.fail(`field ${field} has wire type ${wire}, expected ${wanted}`);
  }

  sub(bounds: [number, number], what: string): ProtoReader {
    return new ProtoReader(this.bytes, bounds[0], bounds[1], this.file, what, this.base, this.total);
  }
}

/** @internal UTF-8 text of protobuf string bytes. */
export function utf8(bytes: Uint8Array): string {
  if (bytes.every((b) => b < 0x80)) return Array.from(bytes, (b) => String.fromCharCode(b)).join('');
  try {
    return decodeURIComponent(Array.from(bytes, (b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
  } catch {
    return Array.from(bytes, (b) => (b < 0x80 ? String.fromCharCode(b) : '\ufffd')).join('');
  }
}

function readTensor(reader: ProtoReader): OnnxInitializer {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === TENSOR.dims) {
      if (wire === WIRE_LENGTH) {
        const packed = reader.sub(reader.span(), 'TensorProto.dims');
        while (!packed.done) dims.push(packed.int64());
      } else {
        reader.expect(wire, WIRE_VARINT, 'TensorProto.dims');
        dims.push(reader.int64());
      }
    } else if (field === TENSOR.dataType) {
      reader.expect(wire, WIRE_VARINT, 'TensorProto.data_type');
      dataType = reader.varint();
    } else if (field === TENSOR.name) {
      reader.expect(wire, WIRE_LENGTH, 'TensorProto.name');
      name = reader.string();
    } else reader.skip(wire);
  }
  let elements = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) reader.fail(`initializer "${name}" has dimension ${d}`);
    elements *= d;
  }
  return { name, dims, dataType, elements };
}

function readOpset(reader: ProtoReader): OnnxOpset {
  let domain = '';
  let version = 0;
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === OPSET.domain && wire === WIRE_LENGTH) domain = reader.string();
    else if (field === OPSET.version && wire === WIRE_VARINT) version = reader.int64();
    else reader.skip(wire);
  }
  return { domain, version };
}

/**
 * Reads a model's header fields and the main graph's initializers from the bytes of an `.onnx` file.
 *
 * Counts only `GraphProto.initializer` of the main graph: weights stored in `Constant` nodes, sparse initializers and
 * subgraphs (If/Loop bodies) are not counted. PyTorch's exporter stores every parameter as an initializer. Tensors
 * with external data count the same (their dims are in the file).
 *
 * @param bytes - the whole `.onnx` file
 * @param file - the file's name, for messages; default `"ONNX file"`
 * @throws {@link ModelFileError} `MODEL_FILE_CORRUPT` for bytes that are not a complete ONNX model;
 *   {@link InvalidInputError} `INVALID_INPUT` when `bytes` is not a Uint8Array
 * @example
 * const { parameterCount } = readOnnxSummary(await readFile('models/mnist-vae/encoder.onnx'), 'encoder.onnx');
 */
export function readOnnxSummary(bytes: Uint8Array, file = 'ONNX file'): OnnxModelSummary {
  if (!isUint8Array(bytes))
    throw new InvalidInputError('INVALID_INPUT', 'bytes', `Expected the bytes of an .onnx file (a Uint8Array) but received ${describe(bytes)}.`);
  const model = new ProtoReader(bytes, 0, bytes.length, file, 'ModelProto');
  if (bytes.length === 0) model.fail('the file is empty');
  let irVersion: number | null = null;
  let producerName = '';
  let producerVersion = '';
  let graphName = '';
  let nodeCount = 0;
  let sawGraph = false;
  const opsets: OnnxOpset[] = [];
  const initializers: OnnxInitializer[] = [];
  while (!model.done) {
    const { field, wire } = model.tag();
    if (field === MODEL.irVersion) {
      model.expect(wire, WIRE_VARINT, 'ModelProto.ir_version');
      irVersion = model.int64();
    } else if (field === MODEL.producerName) {
      model.expect(wire, WIRE_LENGTH, 'ModelProto.producer_name');
      producerName = model.string();
    } else if (field === MODEL.producerVersion) {
      model.expect(wire, WIRE_LENGTH, 'ModelProto.producer_version');
      producerVersion = model.string();
    } else if (field === MODEL.opsetImport) {
      model.expect(wire, WIRE_LENGTH, 'ModelProto.opset_import');
      opsets.push(readOpset(model.sub(model.span(), 'OperatorSetIdProto')));
    } else if (field === MODEL.graph) {
      model.expect(wire, WIRE_LENGTH, 'ModelProto.graph');
      sawGraph = true;
      const graph = model.sub(model.span(), 'GraphProto');
      while (!graph.done) {
        const tag = graph.tag();
        if (tag.field === GRAPH.initializer) {
          graph.expect(tag.wire, WIRE_LENGTH, 'GraphProto.initializer');
          initializers.push(readTensor(graph.sub(graph.span(), 'TensorProto')));
        } else if (tag.field === GRAPH.node) {
          graph.expect(tag.wire, WIRE_LENGTH, 'GraphProto.node');
          graph.span();
          nodeCount++;
        } else if (tag.field === GRAPH.name && tag.wire === WIRE_LENGTH) {
          graphName = graph.string();
        } else graph.skip(tag.wire);
      }
    } else model.skip(wire);
  }
  if (!sawGraph) model.fail('it has no graph (ModelProto field 7)');
  const parameterCount = initializers.reduce((sum, t) => sum + t.elements, 0);
  return { irVersion, producerName, producerVersion, opsets, graphName, nodeCount, initializers, parameterCount };
}

/**
 * Number of parameters of a model: the sum of the element counts of its main graph's initializers
 * (see {@link readOnnxSummary} for what is not counted).
 *
 * @param bytes - the whole `.onnx` file
 * @param file - the file's name, for messages
 * @throws {@link ModelFileError} `MODEL_FILE_CORRUPT` for bytes that are not a complete ONNX model
 */
export function countOnnxParameters(bytes: Uint8Array, file?: string): number {
  return readOnnxSummary(bytes, file).parameterCount;
}
