import { ModelMismatchError, describe } from '../errors.js';
import { likelihoodOutputs } from '../likelihood/registry.js';
import type { DecoderGraph, Dim, EncoderGraph, GraphInfo, Manifest } from './types.js';

/** Names of the decoder outputs a manifest uses, in order; none for a model without a decoder. */
export function decoderOutputNames(manifest: Manifest): string[] {
  if (manifest.decoder === undefined) return [];
  return [manifest.decoder.output, ...likelihoodOutputs(manifest.likelihood).map((output) => output.name)];
}

/** Names of the encoder outputs a manifest uses, in order; none for a model without an encoder. */
export function encoderOutputNames(manifest: Manifest): string[] {
  const output = manifest.encoder?.output;
  if (output === undefined) return [];
  return output.kind === 'gaussian' ? [output.mean, output.logvar] : [output.name];
}

/**
 * Checks a manifest against the real inputs and outputs of its graphs (both, or the one a decoder-only or
 * encoder-only model has): names, ranks, element types (float32 or float16) and every size both sides state.
 *
 * @param encoder - the encoder's inputs and outputs; `null` where the manifest has no encoder
 * @param decoder - the decoder's; `null` where it has no decoder
 * @throws {@link ModelMismatchError} `MODEL_MISMATCH` naming both sides
 */
export function checkManifestAgainstGraphs(manifest: Manifest, encoder: GraphInfo | null, decoder: GraphInfo | null): void {
  if (manifest.encoder !== undefined && encoder !== null) checkEncoder(manifest, manifest.encoder, encoder);
  if (manifest.decoder !== undefined && decoder !== null) checkDecoder(manifest, manifest.decoder, decoder);
}

function checkEncoder(manifest: Manifest, section: EncoderGraph, encoder: GraphInfo): void {
  const latentChannels = manifest.latent.shape[0] ?? null;
  const encoderOutput = section.output;
  const encoderExpected: Expectation[] = encoderOutputNames(manifest).map((name) => ({
    name,
    itemShape:
      encoderOutput.kind === 'moments' ? [latentChannels === null ? null : 2 * latentChannels, ...manifest.latent.shape.slice(1)] : manifest.latent.shape,
    what: encoderOutput.kind === 'moments' ? `moments (2 x latent.shape[0] channels)` : 'latent',
  }));
  checkGraph('encoder', section.file, encoder, [{ name: section.input, itemShape: manifest.data.shape, what: 'data' }], encoderExpected);
}

function checkDecoder(manifest: Manifest, section: DecoderGraph, decoder: GraphInfo): void {
  const decoderExpected: Expectation[] = [
    { name: section.output, itemShape: manifest.data.shape, what: 'data' },
    ...likelihoodOutputs(manifest.likelihood).map((output) => ({ name: output.name, itemShape: undefined, what: output.what })),
  ];
  checkGraph('decoder', section.file, decoder, [{ name: section.input, itemShape: manifest.latent.shape, what: 'latent' }], decoderExpected);
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
  for (const [side, expectations, actual] of [
    ['input', inputs, info.inputs],
    ['output', outputs, info.outputs],
  ] as const) {
    for (const expected of expectations) {
      const found = actual.find((t) => t.name === expected.name);
      if (!found) {
        throw new ModelMismatchError(
          graph,
          `${file}: manifest says ${side} "${expected.name}" (${expected.what}) but the graph's ${side}s are ${describe(actual.map((t) => t.name))}.`,
        );
      }
      if (found.type !== undefined && found.type !== 'float32' && found.type !== 'float16') {
        throw new ModelMismatchError(
          graph,
          `${file}: ${side} "${found.name}" is ${found.type} in the graph but onnx-vae needs float32 (or float16, converted at the graph's edge); export the model in float32.`,
        );
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
