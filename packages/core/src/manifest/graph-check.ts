import { ModelMismatchError, describe } from '../errors.js';
import { likelihoodOutputs } from '../likelihood/registry.js';
import type { Dim, GraphInfo, Manifest } from './types.js';

/** Names of the decoder outputs a manifest uses, in order. */
export function decoderOutputNames(manifest: Manifest): string[] {
  return [manifest.decoder.output, ...likelihoodOutputs(manifest.likelihood).map((output) => output.name)];
}

/** Names of the encoder outputs a manifest uses, in order. */
export function encoderOutputNames(manifest: Manifest): string[] {
  const output = manifest.encoder.output;
  return output.kind === 'gaussian' ? [output.mean, output.logvar] : [output.name];
}

/**
 * Checks a manifest against the real inputs and outputs of both graphs: names, ranks, element types (float32 or
 * float16) and
 * every size both sides state.
 *
 * @throws {@link ModelMismatchError} `MODEL_MISMATCH` naming both sides
 */
export function checkManifestAgainstGraphs(manifest: Manifest, encoder: GraphInfo, decoder: GraphInfo): void {
  const latentChannels = manifest.latent.shape[0] ?? null;
  const encoderOutput = manifest.encoder.output;
  const encoderExpected: Expectation[] = encoderOutputNames(manifest).map((name) => ({
    name,
    itemShape: encoderOutput.kind === 'moments' ? [latentChannels === null ? null : 2 * latentChannels, ...manifest.latent.shape.slice(1)] : manifest.latent.shape,
    what: encoderOutput.kind === 'moments' ? `moments (2 x latent.shape[0] channels)` : 'latent',
  }));
  checkGraph('encoder', manifest.encoder.file, encoder, [{ name: manifest.encoder.input, itemShape: manifest.data.shape, what: 'data' }], encoderExpected);
  const decoderExpected: Expectation[] = [
    { name: manifest.decoder.output, itemShape: manifest.data.shape, what: 'data' },
    ...likelihoodOutputs(manifest.likelihood).map((output) => ({ name: output.name, itemShape: undefined, what: output.what })),
  ];
  checkGraph('decoder', manifest.decoder.file, decoder, [{ name: manifest.decoder.input, itemShape: manifest.latent.shape, what: 'latent' }], decoderExpected);
}

interface Expectation {
  name: string;
  /** Item shape (without batch); undefined: only the name and type are checked. */
  itemShape: readonly Dim[] | undefined;
  what: string;
}

function checkGraph(graph: 'encoder' | 'decoder', file: string, info: GraphInfo, inputs: Expectation[], outputs: Expectation[]): void {
  if (info.inputs.length !== inputs.length) {
    throw new ModelMismatchError(
      graph,
      `${file}: manifest describes ${inputs.length} input (${inputs.map((e) => `"${e.name}"`).join(', ')}) but the graph has ${info.inputs.length}: ${describe(info.inputs.map((i) => i.name))}.`,
    );
  }
  for (const [side, expectations, actual] of [['input', inputs, info.inputs], ['output', outputs, info.outputs]] as const) {
    for (const expected of expectations) {
      const found = actual.find((t) => t.name === expected.name);
      if (!found) {
        throw new ModelMismatchError(
          graph,
          `${file}: manifest says ${side} "${expected.name}" (${expected.what}) but the graph's ${side}s are ${describe(actual.map((t) => t.name))}.`,
        );
      }
      if (found.type !== undefined && found.type !== 'float32' && found.type !== 'float16') {
        throw new ModelMismatchError(graph, `${file}: ${side} "${found.name}" is ${found.type} in the graph but onnx-vae needs float32 (or float16, converted at the graph's edge); export the model in float32.`);
      }
      if (expected.itemShape === undefined || found.shape === undefined) continue;
      const want = expected.itemShape;
      if (found.shape.length !== want.length + 1) {
        throw new ModelMismatchError(
          graph,
          `${file}: ${side} "${found.name}" has rank ${found.shape.length} (${describe(found.shape)}) in the graph but the manifest's ${expected.what} shape ${describe(want)} means rank ${want.length + 1} with the batch axis.`,
        );
      }
      for (let axis = 0; axis < want.length; axis++) {
        const graphDim = found.shape[axis + 1];
        const manifestDim = want[axis];
        if (typeof graphDim === 'number' && graphDim > 0 && manifestDim !== null && manifestDim !== undefined && graphDim !== manifestDim) {
          throw new ModelMismatchError(
            graph,
            `${file}: ${side} "${found.name}" has shape ${describe(found.shape)} in the graph but the manifest's ${expected.what} shape ${describe(want)} says ${manifestDim} at axis ${axis + 1}.`,
          );
        }
      }
    }
  }
}
