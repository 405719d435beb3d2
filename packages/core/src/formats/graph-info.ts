/**
 * A graph's inputs and outputs read from its ONNX file without loading it: the file is walked field by field and
 * only the headers, the `input`/`output` value infos and the initializers' names are read; weights are skipped by
 * seeking, so a 200 MB decoder costs a few hundred small reads and no memory.
 */
import type { GraphInfo, TensorInfo } from '../manifest/types.js';
import { ProtoReader, WIRE_LENGTH, WIRE_VARINT, utf8 } from './onnx-proto.js';

/** Random access to a file's bytes (an open file in Node, bytes in memory anywhere). */
export interface RandomAccessFile {
  /** Size in bytes. */
  readonly size: number;
  /** Up to `length` bytes from `position` (fewer only at the end of the file). */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Releases the file. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * A {@link RandomAccessFile} over bytes in memory.
 *
 * @param bytes - the whole file
 */
export function bytesFile(bytes: Uint8Array): RandomAccessFile {
  return {
    size: bytes.length,
    read: (position, length) => Promise.resolve(bytes.subarray(position, Math.min(bytes.length, position + length))),
    close: () => Promise.resolve(),
  };
}

/** Field numbers used here (onnx.proto3). */
const MODEL_GRAPH = 7;
const GRAPH = Object.freeze({ initializer: 5, input: 11, output: 12 });
const TENSOR_NAME = 8;
const VALUE_INFO = Object.freeze({ name: 1, type: 2 });
const TYPE_TENSOR = 1;
const TENSOR_TYPE = Object.freeze({ elemType: 1, shape: 2 });
const SHAPE_DIM = 1;
const DIM = Object.freeze({ value: 1, param: 2 });

/** `TensorProto.DataType` codes as onnxruntime's JavaScript API names the types. */
const ELEMENT_TYPES: Readonly<Record<number, string>> = Object.freeze({
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
});

/** A field's place in the file: its number, wire type, and for length-delimited fields the payload's bounds. */
interface Field {
  readonly field: number;
  readonly wire: number;
  readonly start: number;
  readonly end: number;
}

const WINDOW = 16 * 1024;

/** Reads a file through one cached window, and walks the fields of a message in it. */
class FileWalker {
  private windowStart = 0;
  private window: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly file: RandomAccessFile,
    private readonly name: string,
  ) {}

  /** Bytes [position, min(position + length, end)). */
  async bytes(position: number, length: number, end: number): Promise<Uint8Array> {
    const want = Math.min(length, end - position);
    if (position < this.windowStart || position + want > this.windowStart + this.window.length) {
      this.window = await this.file.read(position, Math.max(want, WINDOW));
      this.windowStart = position;
    }
    return this.window.subarray(position - this.windowStart, position - this.windowStart + want);
  }

  reader(bytes: Uint8Array, position: number, what: string): ProtoReader {
    return new ProtoReader(bytes, 0, bytes.length, this.name, what, position, this.file.size);
  }

  /** The fields of the message in [start, end), one at a time; payloads are not read. */
  async *fields(start: number, end: number, what: string): AsyncGenerator<Field> {
    let position = start;
    while (position < end) {
      // A tag and a length fit in 20 bytes; fixed-size fields in 8 more.
      const head = this.reader(await this.bytes(position, 32, end), position, what);
      const { field, wire } = head.tag();
      if (wire === WIRE_LENGTH) {
        const length = head.varint();
        const payload = position + head.position;
        if (payload + length > end) head.fail(`a field of ${length} bytes runs past the end of its message`);
        yield { field, wire, start: payload, end: payload + length };
        position = payload + length;
      } else {
        head.skip(wire);
        yield { field, wire, start: position, end: position + head.position };
        position += head.position;
      }
    }
  }

  /** A small message in [start, end), read whole. */
  async message(start: number, end: number, what: string): Promise<ProtoReader> {
    return this.reader(await this.bytes(start, end - start, end), start, what);
  }
}

function readDimension(reader: ProtoReader): number | string | null {
  let dim: number | string | null = null;
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === DIM.value && wire === WIRE_VARINT) dim = reader.int64();
    else if (field === DIM.param && wire === WIRE_LENGTH) dim = reader.string();
    else reader.skip(wire);
  }
  return dim;
}

function readTensorType(reader: ProtoReader): { type: string; shape: (number | string | null)[] | undefined } {
  let type = 'unknown';
  let shape: (number | string | null)[] | undefined;
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === TENSOR_TYPE.elemType && wire === WIRE_VARINT) {
      const code = reader.varint();
      type = ELEMENT_TYPES[code] ?? `onnx type ${code}`;
    } else if (field === TENSOR_TYPE.shape && wire === WIRE_LENGTH) {
      const dims = reader.sub(reader.span(), 'TensorShapeProto');
      shape = [];
      while (!dims.done) {
        const tag = dims.tag();
        if (tag.field === SHAPE_DIM && tag.wire === WIRE_LENGTH) shape.push(readDimension(dims.sub(dims.span(), 'TensorShapeProto.Dimension')));
        else dims.skip(tag.wire);
      }
    } else reader.skip(wire);
  }
  return { type, shape };
}

/** A `ValueInfoProto` as onnxruntime reports it: tensors with type and shape, anything else `'non-tensor'`. */
function readValueInfo(reader: ProtoReader): TensorInfo {
  let name = '';
  let tensor: ReturnType<typeof readTensorType> | null = null;
  let typed = false;
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === VALUE_INFO.name && wire === WIRE_LENGTH) name = reader.string();
    else if (field === VALUE_INFO.type && wire === WIRE_LENGTH) {
      typed = true;
      const type = reader.sub(reader.span(), 'TypeProto');
      while (!type.done) {
        const tag = type.tag();
        if (tag.field === TYPE_TENSOR && tag.wire === WIRE_LENGTH) tensor = readTensorType(type.sub(type.span(), 'TypeProto.Tensor'));
        else type.skip(tag.wire);
      }
    } else reader.skip(wire);
  }
  if (tensor === null) return typed ? { name, type: 'non-tensor' } : { name };
  // onnxruntime gives unknown dims (neither a value nor a name) as -1 and a tensor without a shape as [].
  return { name, type: tensor.type, shape: (tensor.shape ?? []).map((d) => (d === null ? -1 : d)) };
}

/**
 * The inputs and outputs of a graph, as a session would report them (graph inputs that are initializers left out, as
 * onnxruntime leaves them out), read from the ONNX file without loading its weights.
 *
 * @param file - the graph's file; not closed here
 * @param name - the file's name, for messages
 * @throws {@link ModelFileError} `MODEL_FILE_CORRUPT` for a file that is not a complete ONNX model
 * @example
 * const info = await readOnnxGraphInfo(bytesFile(bytes), 'decoder.onnx');
 * info.inputs; // [{ name: 'latent_sample', type: 'float32', shape: ['batch', 4, 'latent_height', 'latent_width'] }]
 */
export async function readOnnxGraphInfo(file: RandomAccessFile, name: string): Promise<GraphInfo> {
  const walker = new FileWalker(file, name);
  if (file.size === 0) walker.reader(new Uint8Array(0), 0, 'ModelProto').fail('the file is empty');
  let graph: Field | null = null;
  for await (const field of walker.fields(0, file.size, 'ModelProto')) {
    if (field.field !== MODEL_GRAPH) continue;
    if (field.wire !== WIRE_LENGTH)
      (await walker.message(field.start, field.end, 'ModelProto')).fail(`field ModelProto.graph has wire type ${field.wire}, expected ${WIRE_LENGTH}`, 0);
    graph = field;
  }
  if (graph === null) return walker.reader(new Uint8Array(0), 0, 'ModelProto').fail('it has no graph (ModelProto field 7)');
  const inputs: TensorInfo[] = [];
  const outputs: TensorInfo[] = [];
  const initializers = new Set<string>();
  for await (const field of walker.fields(graph.start, graph.end, 'GraphProto')) {
    if (field.wire !== WIRE_LENGTH) continue;
    if (field.field === GRAPH.input || field.field === GRAPH.output) {
      const info = readValueInfo(await walker.message(field.start, field.end, 'ValueInfoProto'));
      (field.field === GRAPH.input ? inputs : outputs).push(info);
    } else if (field.field === GRAPH.initializer) {
      for await (const part of walker.fields(field.start, field.end, 'TensorProto')) {
        if (part.field !== TENSOR_NAME || part.wire !== WIRE_LENGTH) continue;
        initializers.add(utf8(await walker.bytes(part.start, part.end - part.start, part.end)));
        break;
      }
    }
  }
  return { inputs: inputs.filter((input) => !initializers.has(input.name)), outputs };
}
