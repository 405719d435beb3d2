/**
 * The CLI's output files: format checks before any work, items to PNG tiles, and atomic writes of all results
 * after the work is done.
 */
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InvalidOptionError, describe, gridLayout, imageGrid, itemImageGeometry, sizeOf, tensorToPixels } from '@onnx-vae/node';
import type { Manifest, PixelImage, VaeTensor } from '@onnx-vae/node';
import { encodeNpy, encodePng, writeFileAtomic } from '@onnx-vae/node';
import type { CommandContext } from './context.js';
import { UsageError, integerOption } from './options.js';

/** Output file formats, by extension. */
export const OUTPUT_FORMATS = Object.freeze({
  /** A PNG image (a grid of items). */
  png: '.png',
  /** A NumPy float32 array. */
  npy: '.npy',
} as const);
/** One of {@link OUTPUT_FORMATS}. */
export type OutputFormat = keyof typeof OUTPUT_FORMATS;

/** A file to write. */
export interface OutputFile {
  /** Where to write it. */
  readonly path: string;
  /** The contents. */
  readonly bytes: Uint8Array | string;
}

/**
 * The format of an output path, from its extension.
 *
 * @param path - the path given to the option
 * @param option - the option's flag for messages, e.g. `-o`
 * @param allowed - formats the command writes
 * @throws {@link InvalidOptionError} for another extension, listing the allowed ones
 */
export function outputFormat(path: string, option: string, allowed: readonly OutputFormat[]): OutputFormat {
  const format = allowed.find((f) => path.toLowerCase().endsWith(OUTPUT_FORMATS[f]));
  if (format === undefined) {
    throw new InvalidOptionError(
      'output',
      `Expected ${option} to name a ${allowed.map((f) => OUTPUT_FORMATS[f]).join(' or ')} file but received ${JSON.stringify(path)}.`,
    );
  }
  return format;
}

/**
 * Checks that an output file's folder exists, before any work is done.
 *
 * @throws {@link InvalidOptionError} when it does not, or when the path is itself a folder
 */
export async function checkOutputFolder(path: string, option: string): Promise<void> {
  const folder = dirname(resolve(path));
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) throw new InvalidOptionError('output', `Cannot write ${option} ${path}: the folder ${folder} does not exist.`);
  const target = await stat(path).catch(() => null);
  if (target?.isDirectory()) throw new InvalidOptionError('output', `Cannot write ${option} ${path}: it is a folder; name a file in it instead.`);
}

/**
 * Checks that a model's items can be written as images.
 *
 * @throws {@link InvalidOptionError} when the manifest gives no image geometry
 */
export function checkImageOutput(manifest: Manifest, option: string): void {
  if (manifest.data.layout === 'flat' && manifest.data.image === undefined) {
    throw new InvalidOptionError(
      'output',
      `Model "${manifest.name}" has flat items without an image geometry (no data.image in vae.json), so ${option} cannot be a PNG; write .npy instead.`,
    );
  }
}

/**
 * Converts every item of a data batch to 8-bit pixels, by the manifest's range and layout.
 *
 * @throws {@link InvalidOptionError} when the items are not images
 */
export function itemImages(batch: VaeTensor, manifest: Manifest): PixelImage[] {
  const itemDims = batch.dims.slice(1);
  const geometry = itemImageGeometry(manifest.data, itemDims);
  if (geometry === null || (geometry.channels !== 1 && geometry.channels !== 3)) {
    throw new InvalidOptionError(
      'output',
      `Model "${manifest.name}" produces items of shape [${itemDims.join(', ')}], which are not grey or RGB images; write .npy instead.`,
    );
  }
  const size = sizeOf(itemDims);
  return Array.from({ length: batch.dims[0]! }, (_, i) => ({
    ...geometry,
    pixels: tensorToPixels(batch.data.subarray(i * size, (i + 1) * size), geometry, manifest.data.range, manifest.data.layout),
  }));
}

/** The `.npy` output of a tensor. */
export function npyFile(path: string, tensor: VaeTensor): OutputFile {
  return { path, bytes: encodeNpy(tensor) };
}

/** A PNG output of one image. */
export async function pngFile(path: string, image: PixelImage): Promise<OutputFile> {
  return { path, bytes: await encodePng(image) };
}

/** One PNG per image in a folder: `0000.png`, `0001.png`, ... (more digits past 9999). */
export async function pngFolder(folder: string, images: readonly PixelImage[]): Promise<OutputFile[]> {
  const digits = Math.max(4, String(images.length - 1).length);
  return Promise.all(images.map((image, i) => pngFile(join(folder, `${String(i).padStart(digits, '0')}.png`), image)));
}

/**
 * Writes every output, each atomically (a temporary file in the same folder, then a rename), creating `folders`
 * first.
 *
 * @throws {@link InvalidOptionError} naming the file that could not be written
 */
export async function writeOutputs(files: readonly OutputFile[], folders: readonly string[] = []): Promise<void> {
  for (const folder of folders) {
    await mkdir(folder, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw new InvalidOptionError('output', `Cannot create the folder ${folder} (${error.code ?? error.message}).`);
    });
  }
  for (const file of files) {
    await writeFileAtomic(file.path, file.bytes).catch((error: NodeJS.ErrnoException) => {
      throw new InvalidOptionError('output', `Cannot write ${file.path} (${error.code ?? error.message}).`);
    });
  }
}

/** Where a command that produces data items writes them: `-o` (PNG grid or `.npy`) and/or `--out-dir` (PNGs). */
export interface DataTargets {
  /** The `-o` path, if given. */
  readonly output: string | null;
  /** The `-o` format, if given. */
  readonly format: OutputFormat | null;
  /** The `--out-dir` folder, if given. */
  readonly outDir: string | null;
  /** `--cols`, if given. */
  readonly cols: number | undefined;
}

/**
 * Reads and checks `-o`, `--out-dir` and `--cols` before any work: formats, the output folder, and that the model's
 * items are images when a PNG is asked for.
 *
 * @throws {@link UsageError} when neither `-o` nor `--out-dir` is given; {@link InvalidOptionError} for bad values
 */
export async function dataTargets(context: CommandContext, manifest: Manifest): Promise<DataTargets> {
  const output = typeof context.values.output === 'string' ? context.values.output : null;
  const outDir = typeof context.values['out-dir'] === 'string' ? context.values['out-dir'] : null;
  if (output === null && outDir === null) throw new UsageError(context.command, 'missing -o <out.png|out.npy> (or --out-dir <dir>).');
  const format = output === null ? null : outputFormat(output, '-o', ['png', 'npy']);
  if (output !== null) await checkOutputFolder(output, '-o');
  if (format === 'png') checkImageOutput(manifest, '-o');
  if (outDir !== null) checkImageOutput(manifest, '--out-dir');
  return { output, format, outDir, cols: integerOption(context.values, 'cols', 1) };
}

/**
 * Writes decoded data to its targets: `.npy` of the whole batch, a PNG grid (`--cols` columns, default
 * `ceil(sqrt(N))`), and one PNG per item under `--out-dir`.
 *
 * @returns what was written, for the command's line on success, e.g.
 *   `samples.png: 16 items in a grid of 4 columns, 122x122; out/: 16 PNGs of 28x28, 0000.png to 0015.png`
 */
export async function writeData(targets: DataTargets, data: VaeTensor, manifest: Manifest): Promise<string> {
  const files: OutputFile[] = [];
  const wrote: string[] = [];
  const count = data.dims[0]!;
  const images = targets.format === 'png' || targets.outDir !== null ? itemImages(data, manifest) : [];
  if (targets.output !== null && targets.format === 'npy') {
    files.push(npyFile(targets.output, data));
    wrote.push(`${targets.output}: ${count} items ${describe([...data.dims])} float32`);
  }
  if (targets.output !== null && targets.format === 'png') {
    const cols = gridLayout(images.length, targets.cols).cols;
    const grid = imageGrid(images, cols);
    files.push(await pngFile(targets.output, grid));
    wrote.push(`${targets.output}: ${count} items in a grid of ${cols} columns, ${grid.width}x${grid.height}`);
  }
  if (targets.outDir !== null) {
    const pngs = await pngFolder(targets.outDir, images);
    files.push(...pngs);
    const name = (file: OutputFile | undefined): string => basename(file?.path ?? '');
    wrote.push(`${targets.outDir}: ${count} PNGs of ${images[0]?.width}x${images[0]?.height}, ${name(pngs[0])} to ${name(pngs.at(-1))}`);
  }
  await writeOutputs(files, targets.outDir === null ? [] : [targets.outDir]);
  return wrote.join('; ');
}
