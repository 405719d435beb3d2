/**
 * The onnxruntime session that every adapter runs: float32 feeds (rounded for float16 inputs), outputs brought to
 * core's float32 {@link VaeTensor}s, graph info, release; and session creation with corrupt-model errors. An adapter
 * hands in its runtime's `Tensor` constructor and overrides the hooks it needs (one call at a time, device outputs).
 */
import { BackendError, ModelFileError, VaeTensor } from '@onnx-vae/core';
import type { BackendSession, DeviceTensor, TensorInfo } from '@onnx-vae/core';
import { float16Inputs, ortFeedData, ortOutputData, tensorInfoFromOrt } from './convert.js';
import type { OrtInferenceSession, OrtTensor, OrtTensorConstructor } from './types.js';

/** The part of an onnxruntime module (`onnxruntime-node`, `onnxruntime-web`, `onnxruntime-react-native`) the session uses. */
export interface OrtModule {
  /** The module's own `Tensor` (each runtime bundle has its own class, which its sessions check). */
  readonly Tensor: OrtTensorConstructor;
}

/** How a session names itself in messages. */
export interface OrtSessionLabels {
  /** The runtime, e.g. `'onnxruntime'` or `'onnxruntime-web'`. */
  readonly runtime: string;
  /** Which graph of the pair. */
  readonly role: 'encoder' | 'decoder';
}

/**
 * Whether onnxruntime's error on creating a session says the model bytes are bad (not an execution provider that
 * failed to load), so the adapter reports `MODEL_FILE_CORRUPT`.
 */
export function isCorruptModelMessage(message: string): boolean {
  return /protobuf|parsing|Load model|invalid model|ModelProto|opset/i.test(message) && !/providers|shared library|Cuda/i.test(message);
}

/**
 * Creates an onnxruntime session, reporting a damaged model as `MODEL_FILE_CORRUPT`; other errors pass through for
 * the adapter to map (e.g. an execution provider that failed to load).
 *
 * @param create - calls the runtime's `InferenceSession.create`
 * @param runtime - the runtime's name for the message, e.g. `'onnxruntime'`
 * @param file - the graph's path, or e.g. `'encoder bytes'`
 * @param what - how the message names the graph; default `file`
 * @throws {@link ModelFileError} `MODEL_FILE_CORRUPT`
 */
export async function createOrtSession<S extends OrtInferenceSession>(create: () => Promise<S>, runtime: string, file: string, what = file): Promise<S> {
  try {
    return await create();
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    if (isCorruptModelMessage(message)) {
      throw new ModelFileError(
        'MODEL_FILE_CORRUPT',
        file,
        `${runtime} could not load ${what}: ${message.split('\n')[0]}. Check that the file is a complete ONNX model (re-export or re-download it).`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * A {@link BackendSession} over an onnxruntime `InferenceSession` of any runtime. Subclasses override
 * {@link OrtSession.schedule} (to serialise calls), {@link OrtSession.output} (to check outputs) and
 * {@link OrtSession.deviceOutput} (to keep outputs in device memory for `runDevice`).
 */
export class OrtSession implements BackendSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** Inputs of element type float16, fed rounded float32 values. */
  protected readonly halfInputs: ReadonlySet<string>;
  private session: OrtInferenceSession | null;
  private readonly outputCount: number;

  /**
   * @param session - the created session (see {@link createOrtSession})
   * @param ort - the runtime's module
   * @param labels - names for messages
   */
  constructor(
    session: OrtInferenceSession,
    protected readonly ort: OrtModule,
    protected readonly labels: OrtSessionLabels,
  ) {
    this.session = session;
    this.outputCount = session.outputNames.length;
    this.inputs = tensorInfoFromOrt(session.inputMetadata);
    this.outputs = tensorInfoFromOrt(session.outputMetadata);
    this.halfInputs = float16Inputs(this.inputs);
  }

  async run(feeds: Readonly<Record<string, VaeTensor>>, outputs: readonly string[]): Promise<Record<string, VaeTensor>> {
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const name in feeds) ortFeeds[name] = this.feed(name, feeds[name]!);
    return (await this.execute(ortFeeds, outputs, false)) as Record<string, VaeTensor>;
  }

  async release(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await this.schedule(() => session.release());
  }

  /** A CPU feed in the graph input's element type (float16 inputs get rounded binary16). */
  protected feed(name: string, tensor: VaeTensor): OrtTensor {
    const { type, data } = ortFeedData(tensor, this.halfInputs.has(name));
    return new this.ort.Tensor(type, data, [...tensor.dims]);
  }

  /**
   * Runs the session (through {@link OrtSession.schedule}). Outputs come to the CPU as float32, except, with
   * `keepOnDevice`, those {@link OrtSession.deviceOutput} keeps.
   *
   * @throws {@link BackendError} `DISPOSED` after `release`, `INFERENCE_FAILED` for a missing output
   */
  protected async execute(
    feeds: Record<string, OrtTensor>,
    outputs: readonly string[],
    keepOnDevice: boolean,
  ): Promise<Record<string, VaeTensor | DeviceTensor>> {
    const session = this.live();
    return this.schedule(async () => {
      // Asking for every output by name costs onnxruntime-common a fetch table per call; without names it returns all.
      const results = outputs.length === this.outputCount ? await session.run(feeds) : await session.run(feeds, [...outputs]);
      const out: Record<string, VaeTensor | DeviceTensor> = {};
      for (const name of outputs) {
        const tensor = results[name];
        if (tensor === undefined) throw new BackendError('INFERENCE_FAILED', `${this.labels.runtime} returned no output "${name}".`);
        out[name] = (keepOnDevice ? this.deviceOutput(tensor) : null) ?? (await this.output(name, tensor));
      }
      return out;
    });
  }

  /** An output brought to CPU memory as float32 (downloaded when the session left it in device memory). */
  protected async output(name: string, tensor: OrtTensor): Promise<VaeTensor> {
    // Outputs live in device memory only when the session asked for it (preferredOutputLocation); the default is the CPU.
    const data = tensor.location === 'cpu' ? tensor.data : await tensor.getData(true);
    return new VaeTensor(ortOutputData(name, tensor.type, data), tensor.dims);
  }

  /** An output to leave in device memory for `runDevice`, or `null` to bring it to the CPU. Default: `null`. */
  protected deviceOutput(_tensor: OrtTensor): DeviceTensor | null {
    return null;
  }

  /** Runs a call into the runtime; the default runs it at once. */
  protected schedule<T>(task: () => Promise<T>): Promise<T> {
    return task();
  }

  /** The live session. @throws {@link BackendError} `DISPOSED` after `release` */
  protected live(): OrtInferenceSession {
    if (!this.session) throw new BackendError('DISPOSED', `This ${this.labels.runtime} session was released.`);
    return this.session;
  }
}
