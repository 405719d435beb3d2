/**
 * Checks a graph by its behaviour, not only its tensor names: the size of its output for a given input must follow
 * the manifest's factors (latent channels, `latent.spatialFactor`, data channels), so a graph swapped in from another
 * model with the same tensor names is refused at load. Where the graph declares the output's sizes the check is
 * static; where they are symbolic (most exports: dynamic height and width) one one-item run on zeros measures them.
 *
 * Works per graph, so a loader that creates sessions lazily probes each graph when its session is first created
 * (a decode-only use never creates, nor probes, the encoder).
 */
import type { BackendSession } from '../backend.js';
import { BackendError, ModelMismatchError, VaeError, describe } from '../errors.js';
import { decoderOutputNames, encoderOutputNames } from '../manifest/graph-check.js';
import type { Dim, Manifest } from '../manifest/types.js';
import { VaeTensor, sizeOf } from '../tensor/tensor.js';

/** Spatial size of a probe where nothing fixes it: this many latent pixels (times spatialFactor in data pixels). */
const PROBE_LATENT_SIZE = 2;

interface Plan {
  readonly input: string;
  readonly output: string;
  /** The probe's input item dims. */
  readonly inputItem: readonly number[];
  /** The output item dims the manifest implies for that input (`null`: the manifest says nothing). */
  readonly expected: readonly (number | null)[];
  readonly inputWhat: string;
  readonly outputWhat: string;
}

/** Whether dim `i` of an NCHW item (channels first) is spatial. */
const isSpatial = (manifest: Manifest, i: number): boolean => manifest.data.layout === 'NCHW' && i >= 1;

/** The input item dims of a probe: the manifest's, else the graph's declared ones, else a small size. */
function probeInput(manifest: Manifest, session: BackendSession, input: string, itemShape: readonly Dim[], spatialSize: number): number[] | null {
  const declared = session.inputs.find((info) => info.name === input)?.shape;
  const dims: number[] = [];
  for (let i = 0; i < itemShape.length; i++) {
    const fixed = itemShape[i] ?? declared?.[i + 1];
    if (typeof fixed === 'number' && fixed >= 1) dims.push(fixed);
    else if (isSpatial(manifest, i)) dims.push(spatialSize);
    else return null;
  }
  return dims;
}

function plan(manifest: Manifest, session: BackendSession, role: 'encoder' | 'decoder'): Plan | null {
  const factor = manifest.latent.spatialFactor;
  const latent = manifest.latent.shape;
  const data = manifest.data.shape;
  // A role is probed only where the model has that graph.
  if (role === 'encoder') {
    const encoder = manifest.encoder!;
    const inputItem = probeInput(manifest, session, encoder.input, data, PROBE_LATENT_SIZE * (factor ?? 8));
    if (inputItem === null) return null;
    const moments = encoder.output.kind === 'moments';
    const expected = latent.map((d, i) => {
      if (i === 0 && moments) return d === null ? null : 2 * d;
      if (d !== null) return d;
      return isSpatial(manifest, i) && factor !== undefined && inputItem[i]! % factor === 0 ? inputItem[i]! / factor : null;
    });
    return {
      input: encoder.input,
      output: encoderOutputNames(manifest)[0]!,
      inputItem,
      expected,
      inputWhat: 'data',
      outputWhat: moments ? 'moments' : 'latent',
    };
  }
  const decoder = manifest.decoder!;
  const inputItem = probeInput(manifest, session, decoder.input, latent, PROBE_LATENT_SIZE);
  if (inputItem === null) return null;
  const expected = data.map((d, i) => (d !== null ? d : isSpatial(manifest, i) && factor !== undefined ? inputItem[i]! * factor : null));
  return { input: decoder.input, output: decoderOutputNames(manifest)[0]!, inputItem, expected, inputWhat: 'latent', outputWhat: 'data' };
}

/** The manifest's factors, for messages. */
function factors(manifest: Manifest): string {
  const factor = manifest.latent.spatialFactor;
  return `latent shape ${describe([...manifest.latent.shape])}, data shape ${describe([...manifest.data.shape])}${factor === undefined ? '' : `, spatialFactor ${factor}`}`;
}

function mismatch(manifest: Manifest, role: 'encoder' | 'decoder', p: Plan, actual: readonly (number | string | null)[], how: string): ModelMismatchError {
  const expected = [1, ...p.expected.map((d) => d ?? '*')];
  const file = (role === 'encoder' ? manifest.encoder : manifest.decoder)!.file;
  return new ModelMismatchError(
    role,
    `The ${role} ${file} of "${manifest.name}" ${how} ${p.outputWhat} of dims ${describe([...actual])} for ${p.inputWhat} of dims ${describe([1, ...p.inputItem])}, but the manifest (${factors(manifest)}) implies [${expected.join(', ')}]; the graph does not belong to this manifest (a file from another model?), or the manifest's factors are wrong.`,
  );
}

/**
 * Checks that a graph's output sizes follow the manifest's factors: statically where the graph declares them, else by
 * one one-item run on zeros.
 *
 * @throws {@link ModelMismatchError} `MODEL_MISMATCH` naming both sizes; {@link BackendError} `INFERENCE_FAILED`
 *   when the probe run fails
 * @internal
 */
export async function probeGraph(manifest: Manifest, session: BackendSession, role: 'encoder' | 'decoder', allowRun = true): Promise<boolean> {
  const p = plan(manifest, session, role);
  if (p === null || p.expected.every((d) => d === null)) return true;
  const declared = session.outputs.find((info) => info.name === p.output)?.shape;
  const staticDims = declared?.slice(1);
  const decided = (dims: readonly (number | string | null)[] | undefined) =>
    dims !== undefined && dims.length === p.expected.length && p.expected.every((d, i) => d === null || typeof dims[i] === 'number');
  if (decided(staticDims)) {
    if (p.expected.some((d, i) => d !== null && d !== staticDims![i])) throw mismatch(manifest, role, p, declared!, 'declares');
    return true;
  }
  if (!allowRun) return false;
  const feed = new VaeTensor(new Float32Array(sizeOf(p.inputItem)), [1, ...p.inputItem]);
  let dims: readonly number[];
  try {
    dims = (await session.run({ [p.input]: feed }, [p.output]))[p.output]!.dims;
  } catch (error) {
    if (VaeError.isInstance(error)) throw error;
    throw new BackendError(
      'INFERENCE_FAILED',
      `The ${role} of "${manifest.name}" failed its one-item load check on dims ${describe([...feed.dims])}: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }
  const item = dims.slice(1);
  if (dims[0] !== 1 || item.length !== p.expected.length || p.expected.some((d, i) => d !== null && d !== item[i]))
    throw mismatch(manifest, role, p, dims, 'gives');
  return true;
}
