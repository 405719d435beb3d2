/**
 * A dataset's inputs as a list of items with keys: a folder of images (recursive), a text file of image paths, or
 * WebDataset `.tar` shards (one tar, a folder of tars, or tars named in a list). Items hold paths only, so a list
 * can travel in a queue job and be read on another machine that sees the same files.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidOptionError } from '@onnx-vae/core';
import { ITEM_ERRORS } from './item-errors.js';
import type { ItemError } from './item-errors.js';
import { WDS_IMAGE_EXTENSIONS, listTarSamples } from './webdataset.js';

/** File extensions read as images from folders and lists (what sharp decodes). */
export const IMAGE_EXTENSIONS = Object.freeze(['png', 'jpg', 'jpeg', 'webp', 'avif', 'tif', 'tiff', 'gif'] as const);

/** An image file. */
export interface FileItem {
  /** The item's key: its path relative to the input folder (or as listed), without extension, dots made `_`. */
  readonly key: string;
  /** Absolute path of the image. */
  readonly path: string;
}

/** An image inside a WebDataset tar. */
export interface TarItem {
  /** The WebDataset key. */
  readonly key: string;
  /** Absolute path of the tar. */
  readonly tar: string;
  /** The image member's name. */
  readonly image: string;
  /** The sample's `.json` member, copied into the output's metadata. */
  readonly json?: string;
}

/** One input item. */
export type DatasetItem = FileItem | TarItem;

/** Whether an item lives in a tar. */
export function isTarItem(item: DatasetItem): item is TarItem {
  return 'tar' in item;
}

/** Where an item comes from, for messages and `errors.jsonl`. */
export function itemSource(item: DatasetItem): string {
  return isTarItem(item) ? `${item.tar}::${item.image}` : item.path;
}

/** The inputs of a dataset, with the items that were refused while listing them. */
export interface DatasetInputs {
  /** Items in a fixed order (sorted paths; tars in name order, samples in tar order). */
  readonly items: readonly DatasetItem[];
  /** Samples without an image and repeated keys. */
  readonly errors: readonly ItemError[];
}

function extensionOf(path: string): string {
  return extname(path).slice(1).toLowerCase();
}

function isImagePath(path: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extensionOf(path));
}

/**
 * The key of a path: relative, `/`-separated, without its extension, with the other dots made `_` (WebDataset splits
 * a member name at the first dot of its file name).
 */
export function keyOfPath(path: string): string {
  const withoutExtension = path.slice(0, path.length - extname(path).length);
  return withoutExtension
    .split(sep)
    .join('/')
    .replace(/^(\.\/|\/)+/, '')
    .replace(/\.\.\//g, '')
    .replace(/\./g, '_');
}

async function walk(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...(await walk(path)));
    else if (entry.isFile() || entry.isSymbolicLink()) found.push(path);
  }
  return found;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function tarItems(tars: readonly string[], errors: ItemError[]): Promise<DatasetItem[]> {
  const items: DatasetItem[] = [];
  for (const tarPath of tars) {
    for (const sample of await listTarSamples(tarPath)) {
      const image = WDS_IMAGE_EXTENSIONS.map((extension) => sample.members[extension]).find((name) => name !== undefined);
      if (image === undefined) {
        const members = Object.keys(sample.members).join(', ');
        errors.push({
          key: sample.key,
          code: ITEM_ERRORS.NO_IMAGE,
          source: tarPath,
          message: `Sample "${sample.key}" of ${tarPath} has no image member (${WDS_IMAGE_EXTENSIONS.join(', ')}); it has ${members}.`,
        });
        continue;
      }
      const json = sample.members.json;
      items.push(json === undefined ? { key: sample.key, tar: tarPath, image } : { key: sample.key, tar: tarPath, image, json });
    }
  }
  return items;
}

function withoutDuplicates(items: readonly DatasetItem[], errors: ItemError[]): DatasetItem[] {
  const seen = new Map<string, DatasetItem>();
  const kept: DatasetItem[] = [];
  for (const item of items) {
    const first = seen.get(item.key);
    if (first !== undefined) {
      errors.push({
        key: item.key,
        code: ITEM_ERRORS.DUPLICATE_KEY,
        source: itemSource(item),
        message: `${itemSource(item)} has the key "${item.key}" of ${itemSource(first)}, which was kept; rename one of them.`,
      });
      continue;
    }
    seen.set(item.key, item);
    kept.push(item);
  }
  return kept;
}

/**
 * Lists a dataset's items.
 *
 * @param input - a folder of images (searched recursively; when it holds `.tar` files and no images, those are
 *   WebDataset shards), a `.tar` WebDataset shard, or a text file of image or `.tar` paths, one a line (relative to
 *   the file's folder; blank lines and lines starting with `#` skipped)
 * @returns the items in a fixed order, and the refused ones (`NO_IMAGE`, `DUPLICATE_KEY`)
 * @throws {@link InvalidOptionError} `INVALID_OPTION` when the input does not exist or holds no images
 * @example
 * const { items, errors } = await listDatasetInputs('photos/');
 */
export async function listDatasetInputs(input: string): Promise<DatasetInputs> {
  const root = resolve(input);
  const info = await stat(root).catch(() => null);
  if (info === null)
    throw new InvalidOptionError('input', `The input ${input} does not exist; pass a folder of images, a text file of image paths, or WebDataset .tar shards.`);
  const errors: ItemError[] = [];
  let items: DatasetItem[];
  if (info.isDirectory()) {
    const files = (await walk(root)).map((path) => relative(root, path)).sort(byCodePoint);
    const images = files.filter(isImagePath);
    const tars = files.filter((path) => extensionOf(path) === 'tar');
    items =
      images.length === 0 && tars.length > 0
        ? await tarItems(
            tars.map((path) => join(root, path)),
            errors,
          )
        : images.map((path) => ({ key: keyOfPath(path), path: join(root, path) }));
  } else if (extensionOf(root) === 'tar') {
    items = await tarItems([root], errors);
  } else if (isImagePath(root)) {
    items = [{ key: keyOfPath(relative(dirname(root), root)), path: root }];
  } else {
    const lines = (await readFile(root, 'utf8'))
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line.length > 0 && !line.startsWith('#'));
    const base = dirname(root);
    const tars = lines.filter((line) => extensionOf(line) === 'tar').map((line) => resolve(base, line));
    const images = lines
      .filter((line) => extensionOf(line) !== 'tar')
      .map((line) => ({ key: keyOfPath(isAbsolute(line) ? line : relative(base, resolve(base, line))), path: resolve(base, line) }));
    items = [...images, ...(await tarItems(tars, errors))];
  }
  if (items.length === 0 && errors.length === 0) {
    throw new InvalidOptionError('input', `The input ${input} holds no images (${IMAGE_EXTENSIONS.join(', ')}) and no WebDataset .tar shards.`);
  }
  return { items: withoutDuplicates(items, errors), errors };
}
