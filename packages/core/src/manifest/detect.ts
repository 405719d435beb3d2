/**
 * Builds a manifest for ONNX VAE exports found in the wild, from their file layout, tensor names and shapes, an
 * optional diffusers `config.json` and an optional preset; and says why it decided what it did.
 */
import { ModelMismatchError, describe } from '../errors.js';
import { KNOWN_LAYOUTS } from './layouts.js';
import type { KnownLayout } from './layouts.js';
import { parseManifest } from './parse.js';
import type { EncoderOutput, GraphInfo, Manifest, TensorInfo } from './types.js';
import { getPreset } from './presets.js';
import type { VaePreset } from './presets.js';

/** What {@link detectManifest} needs. */
export interface DetectInput {
  /** Model name for messages (e.g. the folder name). */
  readonly name: string;
  /** The layout the files matched. */
  readonly layout: KnownLayout;
  /** Encoder file (relative to the model folder) and what the backend reports about it; absent for a decoder-only export. */
  readonly encoder?: { readonly file: string; readonly info: GraphInfo };
  /** Decoder file and its graph info; absent for an encoder-only export. */
  readonly decoder?: { readonly file: string; readonly info: GraphInfo };
  /** A diffusers VAE `config.json`, when the export has one. */
  readonly config?: Record<string, unknown>;
  /** A preset name (see `PRESETS`) for what the graphs cannot tell. */
  readonly preset?: string;
}

/** A detected manifest and the reasons for each choice. */
export interface Detection {
  readonly layout: KnownLayout;
  readonly preset: string | null;
  readonly manifest: Manifest;
  readonly reasons: readonly string[];
}

const ENCODER_OUTPUT_PREFERENCE = ['latent_parameters', 'latent_dist', 'latent_sample', 'latent', 'latents'];

function rank4(t: TensorInfo): boolean {
  return t.shape === undefined || t.shape.length === 4;
}

function staticDim(t: TensorInfo | undefined, axis: number): number | null {
  const d = t?.shape?.[axis];
  return typeof d === 'number' && d > 0 ? d : null;
}

function numberField(config: Record<string, unknown> | undefined, key: string): number | undefined {
  const v = config?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Builds and validates a manifest for an export without `vae.json`.
 *
 * @throws {@link ModelMismatchError} when the graphs do not look like an image VAE, or the latent channels cannot be
 *   told (then pass a preset)
 */
export function detectManifest(input: DetectInput): Detection {
  const reasons: string[] = [];
  const preset: VaePreset | undefined = input.preset === undefined ? undefined : getPreset(input.preset);
  const config = input.config;
  const { encoder, decoder } = input;
  if (encoder === undefined && decoder === undefined)
    throw new ModelMismatchError('decoder', `${input.name}: neither an encoder nor a decoder graph was found; a model needs at least one.`);
  reasons.push(
    `layout "${input.layout}": ${encoder ? `encoder ${encoder.file}` : 'no encoder (decoder-only)'}, ${decoder ? `decoder ${decoder.file}` : 'no decoder (encoder-only)'}`,
  );
  if (preset) reasons.push(`preset "${input.preset}" (${preset.label})`);
  if (config) reasons.push(`diffusers config${typeof config._class_name === 'string' ? ` (${config._class_name})` : ''}`);

  if (encoder && (encoder.info.inputs.length !== 1 || !rank4(encoder.info.inputs[0]!))) {
    throw new ModelMismatchError(
      'encoder',
      `${encoder.file}: expected one image input [batch, channels, height, width] but the graph's inputs are ${describe(encoder.info.inputs.map((t) => `${t.name} ${describe(t.shape ?? '?')}`))}.`,
    );
  }
  if (decoder && (decoder.info.inputs.length !== 1 || !rank4(decoder.info.inputs[0]!))) {
    throw new ModelMismatchError(
      'decoder',
      `${decoder.file}: expected one latent input [batch, channels, height, width] but the graph's inputs are ${describe(decoder.info.inputs.map((t) => `${t.name} ${describe(t.shape ?? '?')}`))}.`,
    );
  }
  const image = encoder?.info.inputs[0];
  const latentIn = decoder?.info.inputs[0];
  const layout: KnownLayout = input.layout === 'optimum' && (image ? image.name === 'images' : latentIn?.name === 'latent') ? 'ort-sd-demo' : input.layout;
  if (layout !== input.layout) reasons.push(`tensor names "${image?.name ?? latentIn?.name}": onnxruntime's Stable Diffusion demo naming`);
  let encoderOut: TensorInfo | undefined;
  if (encoder) {
    const candidates = encoder.info.outputs.filter(rank4);
    encoderOut = ENCODER_OUTPUT_PREFERENCE.map((n) => candidates.find((t) => t.name === n)).find((t) => t !== undefined) ?? candidates[0];
    if (!encoderOut) throw new ModelMismatchError('encoder', `${encoder.file}: no rank-4 output among ${describe(encoder.info.outputs.map((t) => t.name))}.`);
  }
  const decoderOut = decoder?.info.outputs.find(rank4);
  if (decoder && !decoderOut)
    throw new ModelMismatchError('decoder', `${decoder.file}: no rank-4 output among ${describe(decoder.info.outputs.map((t) => t.name))}.`);

  // Latent channels: the decoder's input says it when static; else the config; else the preset; else (encoder-only)
  // a moments output named so, with 2C static channels.
  const graph = decoder ?? encoder!;
  const graphRole = decoder ? 'decoder' : 'encoder';
  let channels = latentIn ? staticDim(latentIn, 1) : null;
  const encoderChannels = encoderOut ? staticDim(encoderOut, 1) : null;
  if (channels !== null) reasons.push(`latent channels ${channels}: the decoder input "${latentIn!.name}" is ${describe(latentIn!.shape)}`);
  else if (numberField(config, 'latent_channels') !== undefined) {
    channels = numberField(config, 'latent_channels')!;
    reasons.push(`latent channels ${channels}: config latent_channels`);
  } else if (preset) {
    channels = preset.latentChannels;
    reasons.push(`latent channels ${channels}: preset`);
  } else if (!decoder && encoderOut?.name === 'latent_parameters' && encoderChannels !== null && encoderChannels % 2 === 0) {
    channels = encoderChannels / 2;
    reasons.push(`latent channels ${channels}: the encoder output "latent_parameters" has 2 x ${channels} channels (moments)`);
  } else {
    throw new ModelMismatchError(
      graphRole,
      `${graph.file}: the latent channels are ${decoder ? 'dynamic in the graph' : 'not told by an encoder-only export'} and no config or preset says them; pass a preset (e.g. --preset sd-1).`,
    );
  }
  if (preset && preset.latentChannels !== channels) {
    throw new ModelMismatchError(
      graphRole,
      `${graph.file}: the graph has ${channels} latent channels but preset "${input.preset}" (${preset.label}) has ${preset.latentChannels}; pick a matching preset.`,
    );
  }

  // Encoder output form: 2C channels (or the name latent_parameters) = moments; C channels = a latent.
  let output: EncoderOutput | undefined;
  if (encoder && encoderOut) {
    if (encoderChannels === 2 * channels || (encoderChannels === null && encoderOut.name === 'latent_parameters')) {
      output = { kind: 'moments', name: encoderOut.name };
      reasons.push(
        `encoder output "${encoderOut.name}" ${encoderChannels === null ? 'by its name' : `has 2 x ${channels} channels`}: moments (mean, then logvar)`,
      );
    } else if (encoderChannels === channels || encoderChannels === null) {
      output = { kind: 'deterministic', name: encoderOut.name };
      reasons.push(
        `encoder output "${encoderOut.name}" ${encoderChannels === null ? 'has dynamic channels' : `has ${channels} channels`}: a latent, not a distribution` +
          (encoderOut.name === 'latent_sample' || encoderOut.name === 'latent'
            ? ' (older exports sample inside the graph; onnx-vae treats it as a deterministic latent, std 0, and cannot report KL)'
            : ''),
      );
    } else {
      throw new ModelMismatchError(
        'encoder',
        `${encoder.file}: output "${encoderOut.name}" has ${encoderChannels} channels, neither ${channels} (a latent) nor ${2 * channels} (moments) for a decoder with ${channels} latent channels.`,
      );
    }
  }

  const imageChannels = (image && staticDim(image, 1)) ?? (decoderOut && staticDim(decoderOut, 1)) ?? 3;
  let spatialFactor = preset?.spatialFactor;
  const blocks = config?.block_out_channels;
  if (spatialFactor === undefined && Array.isArray(blocks) && blocks.length > 0) {
    spatialFactor = 2 ** (blocks.length - 1);
    reasons.push(`spatial factor ${spatialFactor}: config block_out_channels has ${blocks.length} levels`);
  } else if (spatialFactor === undefined) {
    spatialFactor = 8;
    reasons.push('spatial factor 8: the latent-diffusion default (no config or preset says otherwise)');
  } else reasons.push(`spatial factor ${spatialFactor}: preset`);

  let range: readonly [number, number];
  if (preset) {
    range = preset.range;
    reasons.push(`data range ${describe([...range])}: preset`);
  } else {
    const entry = KNOWN_LAYOUTS[input.layout];
    range = entry.range;
    reasons.push(`data range ${describe([...range])}: ${entry.rangeReason}`);
  }

  let scalingFactor = numberField(config, 'scaling_factor');
  let shiftFactor = numberField(config, 'shift_factor');
  if (scalingFactor !== undefined) reasons.push(`scaling factor ${scalingFactor}: config scaling_factor`);
  else if (preset) {
    scalingFactor = preset.scalingFactor;
    reasons.push(`scaling factor ${scalingFactor}: preset`);
  } else {
    scalingFactor = 1;
    reasons.push("scaling factor 1: nothing says otherwise; pass a preset for a diffusion model's factor");
  }
  if (shiftFactor !== undefined) reasons.push(`shift factor ${shiftFactor}: config shift_factor`);
  else {
    shiftFactor = preset?.shiftFactor ?? 0;
    reasons.push(`shift factor ${shiftFactor}: ${preset ? 'preset' : 'default'}`);
  }
  reasons.push('likelihood "none": an export carries no observation model, so score() reports reconstruction error and KL only');

  const manifest = parseManifest({
    format: 'onnx-vae',
    version: 1,
    name: input.name,
    description: `Detected from the ${layout} layout${input.preset ? ` with preset ${input.preset}` : ''}.`,
    ...(encoder && image && output ? { encoder: { file: encoder.file, input: image.name, output } } : {}),
    ...(decoder && latentIn && decoderOut ? { decoder: { file: decoder.file, input: latentIn.name, output: decoderOut.name } } : {}),
    data: { shape: [imageChannels, null, null], layout: 'NCHW', range: [...range] },
    latent: { shape: [channels, null, null], scalingFactor, shiftFactor, spatialFactor },
    likelihood: { kind: 'none' },
  });
  return { layout, preset: input.preset ?? null, manifest, reasons };
}
