/**
 * Reading the CLI's inputs (images and `.npy` arrays) into one batch with a name per item.
 */
import { ALPHA_MODES, IMAGE_FITS, InvalidInputError, LimitExceededError, VaeTensor, concatBatches, describe, pixelValueTable } from '@onnx-vae/node';
import type { AlphaMode, ImageFit } from '@onnx-vae/node';
import type { CommandContext } from './context.js';
import { choiceOption } from './options.js';
import type { OptionSpec } from './options.js';
import type { Dim, Manifest } from '@onnx-vae/node';
import { isNpy, nodeImageCodec, parseNpy, readInputFile } from '@onnx-vae/node';
import type { ImageReadLimits, ImageReadOptions, ResolvedLimits } from '@onnx-vae/node';
import { limitsOption } from './context.js';

/** Options of commands that read images: fitting to the spatial factor, alpha, tiling. */
export const IMAGE_INPUT_OPTIONS = Object.freeze({
  fit: {
    type: 'string',
    value: 'pad|resize|crop',
    description: "image sizes that are not a multiple of the model's spatial factor: pad by reflection and crop back (default), resize, or crop the centre",
  },
  alpha: { type: 'string', value: 'composite|drop', description: 'images with alpha: composite over white (default) or drop the alpha channel' },
  tile: { type: 'boolean', description: 'run the graphs in overlapping tiles (image models; bounded memory for large images)' },
} satisfies Record<string, OptionSpec>);

/**
 * The image reading options of {@link IMAGE_INPUT_OPTIONS}.
 *
 * @throws {@link InvalidOptionError} for values outside the tables
 */
export function imageReadOptions(context: CommandContext): ImageReadOptions & ImageReadLimits {
  const fit = choiceOption<ImageFit>(context.values, 'fit', IMAGE_FITS);
  const alpha = choiceOption<AlphaMode>(context.values, 'alpha', ALPHA_MODES);
  return {
    ...(fit === undefined ? {} : { fit }),
    ...(alpha === undefined ? {} : { alpha }),
    limits: limitsOption(context),
    untiled: context.values.tile !== true,
  };
}

/** A batch read from the command line. */
export interface InputBatch {
  /** All items, dims `[N, ...item]`. */
  readonly tensor: VaeTensor;
  /** One name per item: the file path, or `file.npy[i]` for the items of an `.npy` batch. */
  readonly names: readonly string[];
}

function fits(dims: readonly number[], shape: readonly Dim[]): boolean {
  return dims.length === shape.length && shape.every((d, i) => d === null || d === dims[i]);
}

function shapeText(shape: readonly Dim[]): string {
  return `[${shape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
}

/**
 * Splits an array read from `path` into items of `itemShape`: `[N, ...item]` is N items, `[...item]` one.
 *
 * @throws {@link InvalidInputError} `SHAPE_MISMATCH` for any other shape, `INVALID_INPUT` for an empty array
 */
function asBatch(tensor: VaeTensor, path: string, itemShape: readonly Dim[], what: string, manifest: Manifest): { tensor: VaeTensor; names: string[] } {
  if (fits(tensor.dims, itemShape)) return { tensor: new VaeTensor(tensor.data, [1, ...tensor.dims]), names: [path] };
  if (tensor.dims.length === itemShape.length + 1 && fits(tensor.dims.slice(1), itemShape)) {
    const count = tensor.dims[0]!;
    if (count === 0) throw new InvalidInputError('INVALID_INPUT', path, `${path} holds no items (shape ${describe([...tensor.dims])}).`);
    return { tensor, names: Array.from({ length: count }, (_, i) => `${path}[${i}]`) };
  }
  const image = manifest.data.image;
  const hint = what === 'data' && manifest.data.layout === 'flat' && image ? ` (reshape images with arr.reshape(len(arr), -1))` : '';
  throw new InvalidInputError(
    'SHAPE_MISMATCH',
    path,
    `${path} has shape ${describe([...tensor.dims])} but model "${manifest.name}" takes ${what} items of shape ${shapeText(itemShape)}: pass an array of shape [N, ${shapeText(itemShape).slice(1, -1)}] or one item of shape ${shapeText(itemShape)}${hint}.`,
  );
}

function joinBatches(parts: readonly { tensor: VaeTensor; names: readonly string[] }[]): InputBatch {
  const first = parts[0]!;
  for (const part of parts) {
    const a = first.tensor.dims.slice(1);
    const b = part.tensor.dims.slice(1);
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
      throw new InvalidInputError(
        'SHAPE_MISMATCH',
        part.names[0]!,
        `Inputs differ in size: ${first.names[0]} has items of shape ${describe(a)} but ${part.names[0]} has ${describe(b)}; run them separately.`,
      );
    }
  }
  return { tensor: concatBatches(parts.map((p) => p.tensor)), names: parts.flatMap((p) => p.names) };
}

/**
 * Reads data inputs: images (one item each, converted to the model's channels, range and layout; resized or
 * cropped only with `fit`) and
 * `.npy` arrays (`<f4`/`<f8` as they are; `|u1` as pixel values 0..255 scaled to the data range).
 *
 * @param paths - input files, at least one
 * @param manifest - the model's manifest
 * @throws {@link InvalidInputError} for unreadable files, bad shapes or image sizes
 */
export async function readDataInputs(paths: readonly string[], manifest: Manifest, imageOptions: ImageReadOptions & ImageReadLimits = {}): Promise<InputBatch> {
  const parts: { tensor: VaeTensor; names: string[] }[] = [];
  for (const path of paths) {
    const bytes = await readInputFile(path, imageOptions.limits);
    if (path.toLowerCase().endsWith('.npy') || isNpy(bytes)) {
      const { dtype, tensor } = parseNpy(bytes, path);
      if (dtype === '|u1') {
        const table = pixelValueTable(255, manifest.data.range);
        const data = tensor.data;
        for (let i = 0; i < data.length; i++) data[i] = table[data[i]!]!;
      }
      parts.push(asBatch(tensor, path, manifest.data.shape, 'data', manifest));
    } else {
      const label = path;
      const tensor = await nodeImageCodec.read([bytes], manifest, { ...imageOptions, multiple: manifest.latent.spatialFactor ?? 1 }).catch((error: unknown) => {
        // The codec names byte inputs "image 0"; name the file instead.
        if (error instanceof InvalidInputError)
          throw new InvalidInputError(error.code as 'INVALID_INPUT', label, error.message.replaceAll('image 0', label), { cause: error });
        if (error instanceof LimitExceededError)
          throw new LimitExceededError(error.limit, error.value, error.maximum, error.option, error.message.replaceAll('image 0', label));
        throw error;
      });
      parts.push({ tensor, names: [path] });
    }
  }
  return joinBatches(parts);
}

/**
 * Reads latent inputs: `.npy` arrays of float32 or float64, `[N, ...latent]` or one latent.
 *
 * @param paths - `.npy` files, at least one
 * @param manifest - the model's manifest
 * @throws {@link InvalidInputError} for unreadable files, other dtypes or bad shapes
 */
export async function readLatentInputs(paths: readonly string[], manifest: Manifest, limits?: ResolvedLimits): Promise<InputBatch> {
  const parts: { tensor: VaeTensor; names: string[] }[] = [];
  for (const path of paths) {
    const { dtype, tensor } = parseNpy(await readInputFile(path, limits), path);
    if (dtype === '|u1')
      throw new InvalidInputError('INVALID_INPUT', path, `${path} holds uint8 values; latents must be float32 or float64 (as written by "onnx-vae encode").`);
    parts.push(asBatch(tensor, path, manifest.latent.shape, 'latent', manifest));
  }
  return joinBatches(parts);
}
