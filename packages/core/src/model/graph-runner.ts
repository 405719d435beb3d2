/**
 * Runs the two graphs of a {@link Vae}: batches split at `maxBatch` and joined, outputs checked against the manifest,
 * and the device-memory path (latents left in a GPU buffer between the graphs where the backend keeps them there).
 */
import type { BackendSession, DeviceTensor, RunOptions } from '../backend.js';
import { raceAbort, throwIfAborted } from '../cancellation.js';
import { BackendError, GraphMissingError, ModelMismatchError, VaeError, describe } from '../errors.js';
import { likelihoodModel, toDataSpace } from '../likelihood/registry.js';
import type { DecoderRows } from '../likelihood/types.js';
import { decoderOutputNames, encoderOutputNames } from '../manifest/graph-check.js';
import type { DecoderGraph, EncoderGraph, Manifest } from '../manifest/types.js';
import { VaeTensor, concatBatches } from '../tensor/tensor.js';
import { DeviceLatent } from './device-latent.js';
import { Posterior, momentsHalf } from './posterior.js';

/** Called after each graph run with the rows (batch items) that run finished. @internal */
export type RowsDone = (rows: number) => void;

/** Decoded rows with their dims. @internal */
export type DecodedRows = DecoderRows & { readonly dims: readonly number[] };

/** What works without each graph, for {@link graphMissing}'s messages. */
const WORKS_WITHOUT = Object.freeze({
  encoder: 'decode(), generate(), interpolate(), decodeImages() and toImages() work without it',
  decoder: 'encode(), encodeToDevice() and toDiffusionLatent() work without it',
});

/**
 * The error for a method that needs a graph the model lacks.
 *
 * @internal
 */
export function graphMissing(manifest: Manifest, graph: 'encoder' | 'decoder', method: string): GraphMissingError {
  const kind = graph === 'encoder' ? 'a decoder-only' : 'an encoder-only';
  return new GraphMissingError(
    graph,
    method,
    `${method}() needs the ${graph}, but the model "${manifest.name}" has no ${graph} (${kind} model: its manifest or export has no ${graph} graph). ` +
      `Load a model that has the ${graph} (the "${graph}" section of vae.json, or optimum's vae_${graph}/model.onnx) to call ${method}(); ${WORKS_WITHOUT[graph]}.`,
  );
}

/**
 * The encoder and decoder sessions of one model (either may be absent), with the manifest's names and checks.
 *
 * @internal
 */
export class GraphRunner {
  private readonly encoderOutputs: readonly string[];
  private readonly decoderOutputs: readonly string[];

  constructor(
    readonly manifest: Manifest,
    private readonly encoderSession: BackendSession | null,
    private readonly decoderSession: BackendSession | null,
    readonly maxBatch: number,
  ) {
    this.encoderOutputs = Object.freeze(encoderOutputNames(manifest));
    this.decoderOutputs = Object.freeze(decoderOutputNames(manifest));
  }

  /** Whether the model has this graph. */
  has(graph: 'encoder' | 'decoder'): boolean {
    return (graph === 'encoder' ? this.encoderSession : this.decoderSession) !== null;
  }

  /**
   * Throws {@link GraphMissingError} when the model lacks the graph `method` needs.
   *
   * @throws {@link GraphMissingError} `GRAPH_MISSING`
   */
  need(graph: 'encoder' | 'decoder', method: string): void {
    if (!this.has(graph)) throw graphMissing(this.manifest, graph, method);
  }

  private get encoder(): { session: BackendSession; section: EncoderGraph } {
    const { encoderSession: session, manifest } = this;
    if (session === null || manifest.encoder === undefined) throw graphMissing(manifest, 'encoder', 'encode');
    return { session, section: manifest.encoder };
  }

  private get decoder(): { session: BackendSession; section: DecoderGraph } {
    const { decoderSession: session, manifest } = this;
    if (session === null || manifest.decoder === undefined) throw graphMissing(manifest, 'decoder', 'decode');
    return { session, section: manifest.decoder };
  }

  /** Encodes data (batches split at `maxBatch`) into the posterior. */
  async encode(x: VaeTensor, onRows?: RowsDone, run: RunOptions = {}): Promise<Posterior> {
    const { session, section } = this.encoder;
    const output = section.output;
    const results = await this.runChunks(session, 'encoder', section.input, this.encoderOutputs, x, onRows, run);
    let posterior: Posterior;
    if (output.kind === 'gaussian') posterior = new Posterior(results[0]!, results[1]!);
    else if (output.kind === 'deterministic') posterior = new Posterior(results[0]!, null);
    else posterior = Posterior.fromMoments(results[0]!);
    const dims = posterior.mean.dims;
    this.checkLatentDims(dims, x.dims[0]!);
    if (output.kind === 'gaussian' && results[1]!.dims.some((d, i) => d !== dims[i])) {
      throw new ModelMismatchError('encoder', `The encoder's mean has dims ${describe([...dims])} but its logvar has ${describe([...results[1]!.dims])}.`);
    }
    return posterior;
  }

  /** Decodes latents to the raw decoder outputs (what the likelihood reads). */
  async decodeRows(z: VaeTensor, onRows?: RowsDone, run: RunOptions = {}): Promise<DecodedRows> {
    const { session, section } = this.decoder;
    return this.decodedRows(await this.runChunks(session, 'decoder', section.input, this.decoderOutputs, z, onRows, run));
  }

  /** Decodes latents into the data space. */
  async decode(z: VaeTensor, onRows?: RowsDone, run: RunOptions = {}): Promise<VaeTensor> {
    const decoded = await this.decodeRows(z, onRows, run);
    return new VaeTensor(toDataSpace(this.manifest.likelihood, decoded.output), decoded.dims);
  }

  /**
   * The posterior mean left in device memory, or `null` where the backend keeps nothing there (then the caller
   * takes the CPU path) or the batch would be split.
   */
  async encodeOnDevice(x: VaeTensor, run: RunOptions = {}): Promise<DeviceLatent | null> {
    const { session: encoder, section } = this.encoder;
    if (!encoder.runDevice || !this.decoderSession?.runDevice || x.dims[0]! > this.maxBatch) return null;
    const output = section.output;
    const name = output.kind === 'gaussian' ? output.mean : output.name;
    let result: Record<string, VaeTensor | DeviceTensor>;
    try {
      throwIfAborted(run.signal);
      result = await raceAbort(encoder.runDevice({ [section.input]: x }, [name]), run.signal);
    } catch (error) {
      this.runFailed(error, 'encoder', x.dims);
    }
    const out = result[name];
    if (out === undefined) throw new ModelMismatchError('encoder', `The encoder gave no output "${name}".`);
    if (out instanceof VaeTensor) {
      // Kept in CPU memory after all: the same latent, from CPU memory.
      const mean = output.kind === 'moments' ? Posterior.fromMoments(out).mean : out;
      this.checkLatentDims(mean.dims, x.dims[0]!);
      return new DeviceLatent(mean);
    }
    let mean: DeviceTensor = out;
    try {
      if (output.kind === 'moments') mean = await out.sliceChannels(0, momentsHalf(out.dims));
      this.checkLatentDims(mean.dims, x.dims[0]!);
    } catch (error) {
      if (mean !== out) mean.dispose();
      out.dispose();
      throw error;
    }
    if (mean !== out) out.dispose();
    return new DeviceLatent(mean);
  }

  /** Decodes latents in device memory; the decoder's outputs come back to the CPU, in the data space. */
  async decodeOnDevice(z: DeviceTensor, run: RunOptions = {}): Promise<VaeTensor> {
    const names = this.decoderOutputs;
    const { session, section } = this.decoder;
    let result: Record<string, VaeTensor | DeviceTensor>;
    try {
      throwIfAborted(run.signal);
      result = await raceAbort(session.runDevice!({ [section.input]: z }, names), run.signal);
    } catch (error) {
      this.runFailed(error, 'decoder', z.dims);
    }
    const cpu: Record<string, VaeTensor> = {};
    for (const name of names) {
      const value = result[name];
      if (value === undefined || value instanceof VaeTensor) {
        if (value !== undefined) cpu[name] = value;
        continue;
      }
      try {
        cpu[name] = await value.download();
      } finally {
        value.dispose();
      }
    }
    const decoded = this.decodedRows(this.checkOutputs(cpu, 'decoder', names, z.dims[0]!));
    return new VaeTensor(toDataSpace(this.manifest.likelihood, decoded.output), decoded.dims);
  }

  /** Releases the sessions. */
  async release(): Promise<void> {
    await Promise.all([this.encoderSession?.release(), this.decoderSession?.release()]);
  }

  private checkLatentDims(dims: readonly number[], rows: number): void {
    const latent = this.manifest.latent.shape;
    if (dims[0] !== rows || dims.length !== latent.length + 1 || latent.some((d, i) => d !== null && d !== dims[i + 1])) {
      throw new ModelMismatchError(
        'encoder',
        `The encoder produced a latent of dims ${describe([...dims])} for a batch of ${rows} but the manifest's latent shape is ${describe([...latent])}.`,
      );
    }
  }

  private runChunks(
    session: BackendSession,
    graph: 'encoder' | 'decoder',
    input: string,
    outputs: readonly string[],
    tensor: VaeTensor,
    onRows: RowsDone | undefined,
    run: RunOptions,
  ): Promise<VaeTensor[]> {
    const batch = tensor.dims[0]!;
    if (batch <= this.maxBatch) {
      const pending = this.runOnce(session, graph, input, outputs, tensor, run);
      return onRows === undefined ? pending : pending.then((result) => (onRows(batch), result));
    }
    return this.runSplit(session, graph, input, outputs, tensor, onRows, run);
  }

  private async runSplit(
    session: BackendSession,
    graph: 'encoder' | 'decoder',
    input: string,
    outputs: readonly string[],
    tensor: VaeTensor,
    onRows: RowsDone | undefined,
    run: RunOptions,
  ): Promise<VaeTensor[]> {
    const batch = tensor.dims[0]!;
    const parts: VaeTensor[][] = [];
    for (let start = 0; start < batch; start += this.maxBatch) {
      const end = Math.min(batch, start + this.maxBatch);
      parts.push(await this.runOnce(session, graph, input, outputs, tensor.slice(start, end), run));
      onRows?.(end - start);
    }
    return outputs.map((_, k) => concatBatches(parts.map((p) => p[k]!)));
  }

  private runOnce(
    session: BackendSession,
    graph: 'encoder' | 'decoder',
    input: string,
    outputs: readonly string[],
    feed: VaeTensor,
    run: RunOptions,
  ): Promise<VaeTensor[]> {
    let pending: Promise<Record<string, VaeTensor>>;
    try {
      // Not started once the call has aborted (a long call stops between its graph runs).
      throwIfAborted(run.signal);
      // Rejects as soon as the call's signal fires, also where the runtime cannot stop a graph that has started.
      pending = run.signal === undefined ? session.run({ [input]: feed }, outputs) : raceAbort(session.run({ [input]: feed }, outputs, run), run.signal);
    } catch (error) {
      pending = Promise.reject(error);
    }
    return pending.then(
      (result) => this.checkOutputs(result, graph, outputs, feed.dims[0]!),
      (error: unknown) => this.runFailed(error, graph, feed.dims),
    );
  }

  private runFailed(error: unknown, graph: 'encoder' | 'decoder', dims: readonly number[]): never {
    if (VaeError.isInstance(error)) throw error;
    throw new BackendError(
      'INFERENCE_FAILED',
      `The ${graph} of "${this.manifest.name}" failed on a batch of dims ${describe([...dims])}: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }

  private checkOutputs(result: Record<string, VaeTensor>, graph: 'encoder' | 'decoder', outputs: readonly string[], rows: number): VaeTensor[] {
    return outputs.map((name) => {
      const out = result[name];
      if (!out || out.dims[0] !== rows) {
        throw new ModelMismatchError(
          graph,
          `The ${graph} output "${name}" has dims ${describe(out ? [...out.dims] : undefined)} for a batch of ${rows}; expected the batch axis first.`,
        );
      }
      return out;
    });
  }

  private decodedRows(results: readonly VaeTensor[]): DecodedRows {
    const output = results[0]!;
    const rows = output.dims[0]!;
    if (results.length === 1) return { output: output.data, rows, dims: output.dims };
    const extras = results.slice(1);
    const likelihood = this.manifest.likelihood;
    likelihoodModel(likelihood).checkOutputs?.(likelihood, output, extras);
    const extraData = extras.map((extra) => extra.data);
    return { output: output.data, extras: extraData, logScale: extraData[0], rows, dims: output.dims };
  }
}
