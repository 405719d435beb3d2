/**
 * The parts of onnxruntime's API (onnxruntime-common's `InferenceSession` and `Tensor`, which onnxruntime-node,
 * onnxruntime-web and onnxruntime-react-native share) that the session base uses, written out structurally: this
 * package's declarations then load no onnxruntime types, whose DOM references (ImageData, WebGL) break a strict
 * Node consumer's type-check. `compatibility.ts` checks at build time that onnxruntime-common's types fit them.
 */

/** What onnxruntime reports about one graph input or output (`InferenceSession.ValueMetadata`). */
export interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

/** An onnxruntime tensor, as the session base reads it (`Tensor`). */
export interface OrtTensor {
  /** Element type, e.g. `'float32'`. */
  readonly type: string;
  /** The data in CPU memory (`location === 'cpu'`). */
  readonly data: unknown;
  readonly dims: readonly number[];
  /** `'cpu'`, or e.g. `'gpu-buffer'` for an output left in device memory. */
  readonly location: string;
  /** Downloads the data to CPU memory (and, with `releaseData`, frees the device copy). */
  getData(releaseData?: boolean): Promise<unknown>;
}

/** A runtime's `Tensor` class, as the session base constructs CPU feeds with it. */
export interface OrtTensorConstructor {
  new (type: 'float32' | 'float16', data: Float32Array | Uint16Array, dims: readonly number[]): OrtTensor;
}

/** An onnxruntime `InferenceSession`, as the session base runs it. */
export interface OrtInferenceSession {
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly OrtValueMetadata[];
  readonly outputMetadata: readonly OrtValueMetadata[];
  /** Runs with every output fetched. */
  run(feeds: Record<string, OrtTensor>): Promise<Readonly<Record<string, OrtTensor>>>;
  /** Runs with the named outputs fetched. */
  run(feeds: Record<string, OrtTensor>, fetches: readonly string[]): Promise<Readonly<Record<string, OrtTensor>>>;
  release(): Promise<void>;
}
