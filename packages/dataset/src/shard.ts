/**
 * One output shard: the plan (which items go in it), encoding it with a loaded VAE, and writing it so that a crash
 * never leaves a half shard that looks complete. The shard file is written to a temporary name and renamed; then its
 * record (`records/FILE.json`: item and error counts, SHA-256, the plan's hash) is written the same way. A shard is
 * complete when its record exists, names the same plan, and the file's SHA-256 matches it. Writing the same shard
 * twice (a retried or duplicated job) renames identical bytes over identical bytes.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NormalV1, VaeTensor, imageItemDims, pixelsToTensor } from '@onnx-vae/core';
import type { Posterior } from '@onnx-vae/core';
import { readInputFile, writeFileAtomic } from '@onnx-vae/node';
import type { NodeVae } from '@onnx-vae/node';
import { isTarItem, itemSource } from './inputs.js';
import type { DatasetItem, TarItem } from './inputs.js';
import { ITEM_ERRORS, ItemFailure } from './item-errors.js';
import type { ItemError } from './item-errors.js';
import { prepareImage } from './preprocess.js';
import type { PreparedImage } from './preprocess.js';
import { SHARD_FORMATS, tensorNames } from './settings.js';
import type { EncodeSettings, ModelIdentity, ShardFormat } from './settings.js';
import { SHARD_WRITERS } from './shard-writers.js';
import type { EncodedItem } from './shard-writers.js';
import { readTarMembers } from './webdataset.js';

/** One output shard to make: one job in distributed mode. */
export interface ShardTask {
  /** 0-based shard number. */
  readonly index: number;
  /** The shard's file name in the output folder, e.g. `shard-00000.safetensors`. */
  readonly file: string;
  /** Its input items, in order. */
  readonly items: readonly DatasetItem[];
}

/** What a complete shard's record says (`records/FILE.json`). */
export interface ShardRecord {
  /** The shard's file name. */
  readonly file: string;
  /** Items stored. */
  readonly items: number;
  /** Items that failed, with why. */
  readonly errors: readonly ItemError[];
  /** SHA-256 of the shard file. */
  readonly sha256: string;
  /** Size of the shard file. */
  readonly bytes: number;
  /** Hash of the task, settings and model that made it; a rerun with other ones does not reuse the shard. */
  readonly planHash: string;
}

/** Folder of the shard records inside the output folder. */
export const RECORDS_FOLDER = 'records';

/** The file name of shard `index`: `shard-00042.safetensors` or `shard-00042.tar`. */
export function shardFileName(index: number, format: ShardFormat): string {
  return `shard-${String(index).padStart(5, '0')}.${SHARD_FORMATS[format].extension}`;
}

/**
 * Cuts items into shards of `shardSize` consecutive items.
 *
 * @param items - the dataset's items in order
 * @param settings - `shardSize` and `format`
 */
export function planShards(items: readonly DatasetItem[], settings: Pick<EncodeSettings, 'shardSize' | 'format'>): ShardTask[] {
  const tasks: ShardTask[] = [];
  for (let start = 0, index = 0; start < items.length; start += settings.shardSize, index++) {
    tasks.push({ index, file: shardFileName(index, settings.format), items: items.slice(start, start + settings.shardSize) });
  }
  return tasks;
}

/** SHA-256 (hex) of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The hash of everything that decides a shard's bytes: its items, the settings (but the batch size) and the model.
 */
export function planHash(task: ShardTask, settings: EncodeSettings, model: ModelIdentity): string {
  const { batch: _batch, ...content } = settings;
  return sha256(
    new TextEncoder().encode(
      JSON.stringify({
        version: 1,
        file: task.file,
        items: task.items,
        settings: content,
        model: { fingerprint: model.fingerprint, encoder: model.encoderSha256 },
      }),
    ),
  );
}

function recordPath(out: string, file: string): string {
  return join(out, RECORDS_FOLDER, `${file}.json`);
}

/**
 * The record of a complete shard, checked: it names `hash`, and the shard file's size and SHA-256 match it.
 *
 * @returns the record, or `null` when the shard is missing, incomplete, made by another plan, or damaged
 */
export async function completeShard(out: string, file: string, hash: string): Promise<ShardRecord | null> {
  let record: ShardRecord;
  try {
    record = JSON.parse(await readFile(recordPath(out, file), 'utf8')) as ShardRecord;
  } catch {
    return null;
  }
  if (record.planHash !== hash || record.file !== file) return null;
  const info = await stat(join(out, file)).catch(() => null);
  if (info?.size !== record.bytes) return null;
  return sha256(await readFile(join(out, file))) === record.sha256 ? record : null;
}

/**
 * The seed of an item's posterior noise: from the base seed, the key and whether it is the mirrored image, so a
 * rerun (on any machine, in any shard layout) draws the same noise.
 *
 * @returns an integer in [0, 2^48)
 */
export function itemSeed(seed: number, key: string, flipped: boolean): number {
  return createHash('sha256')
    .update(`${seed}\u0000${key}\u0000${flipped ? 'flip' : 'orig'}`)
    .digest()
    .readUIntBE(0, 6);
}

/** Mirrors 8-bit interleaved pixels left to right. */
function mirror(pixels: Uint8Array, width: number, channels: number): Uint8Array {
  const out = new Uint8Array(pixels.length);
  const row = width * channels;
  for (let start = 0; start < pixels.length; start += row) {
    for (let x = 0; x < width; x++) {
      const from = start + x * channels;
      const to = start + (width - 1 - x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = pixels[from + c]!;
    }
  }
  return out;
}

interface Prepared {
  readonly item: DatasetItem;
  readonly image?: PreparedImage;
  readonly meta?: Record<string, unknown>;
  readonly error?: ItemError;
}

function failure(item: DatasetItem, error: unknown): ItemError {
  if (error instanceof ItemFailure) return { key: item.key, code: error.code, source: itemSource(item), message: error.message };
  return { key: item.key, code: ITEM_ERRORS.UNREADABLE, source: itemSource(item), message: `Cannot read ${itemSource(item)}: ${(error as Error).message}` };
}

/** Reads the members of every tar the shard's items live in, one pass per tar. */
async function tarMembers(items: readonly DatasetItem[]): Promise<Map<string, Map<string, Buffer> | Error>> {
  const byTar = new Map<string, Set<string>>();
  for (const item of items.filter(isTarItem)) {
    const wanted = byTar.get(item.tar) ?? new Set<string>();
    wanted.add(item.image);
    if (item.json !== undefined) wanted.add(item.json);
    byTar.set(item.tar, wanted);
  }
  const members = new Map<string, Map<string, Buffer> | Error>();
  for (const [tar, wanted] of byTar) members.set(tar, await readTarMembers(tar, wanted).catch((error: Error) => error));
  return members;
}

async function itemBytes(item: DatasetItem, members: Map<string, Map<string, Buffer> | Error>): Promise<{ bytes: Uint8Array; meta?: Record<string, unknown> }> {
  if (!isTarItem(item)) {
    try {
      return { bytes: await readInputFile(item.path) };
    } catch (error) {
      throw new ItemFailure(ITEM_ERRORS.UNREADABLE, (error as Error).message, { cause: error });
    }
  }
  const tar = members.get((item as TarItem).tar);
  if (tar instanceof Error) throw new ItemFailure(ITEM_ERRORS.UNREADABLE, `Cannot read the tar ${item.tar}: ${tar.message}`, { cause: tar });
  const bytes = tar?.get(item.image);
  if (bytes === undefined) throw new ItemFailure(ITEM_ERRORS.UNREADABLE, `The tar ${item.tar} has no member ${item.image} (was it changed after planning?).`);
  const json = item.json === undefined ? undefined : tar!.get(item.json);
  if (json === undefined) return { bytes };
  try {
    const meta = JSON.parse(json.toString('utf8')) as unknown;
    return typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? { bytes, meta: meta as Record<string, unknown> } : { bytes };
  } catch {
    return { bytes };
  }
}

/** Progress of one shard, reported after each batch. */
export interface ShardProgress {
  /** Items handled so far (stored or failed). */
  readonly done: number;
  /** Items failed so far. */
  readonly errors: number;
  /** Items in the shard. */
  readonly total: number;
}

/** Options of {@link encodeShard}. */
export interface EncodeShardOptions {
  /** Called after each batch. */
  readonly onProgress?: (progress: ShardProgress) => void | Promise<void>;
}

/** What {@link encodeShard} did. */
export interface ShardOutcome {
  /** The shard's record. */
  readonly record: ShardRecord;
  /** True when the shard was already complete and was left as it was. */
  readonly skipped: boolean;
}

/**
 * Encodes one shard and writes it and its record atomically, unless it is already complete (then it is verified
 * and left alone). Bad items are recorded in the record's `errors` and never fail the shard.
 *
 * @param vae - the loaded model
 * @param task - the shard
 * @param settings - what to store
 * @param model - the model's identity (for the plan hash)
 * @param out - the output folder (created when missing)
 * @param options - `onProgress`
 * @throws the file system's error when the shard cannot be written; a backend error when the model fails on every item
 */
export async function encodeShard(
  vae: NodeVae,
  task: ShardTask,
  settings: EncodeSettings,
  model: ModelIdentity,
  out: string,
  options: EncodeShardOptions = {},
): Promise<ShardOutcome> {
  const hash = planHash(task, settings, model);
  const existing = await completeShard(out, task.file, hash);
  if (existing !== null) {
    await options.onProgress?.({ done: task.items.length, errors: existing.errors.length, total: task.items.length });
    return { record: existing, skipped: true };
  }
  const manifest = vae.manifest;
  const channels = manifest.data.shape[manifest.data.layout === 'NHWC' ? 2 : 0] as number;
  const geometry = { width: settings.size, height: settings.size, channels: 3 };
  const format = { range: manifest.data.range, layout: manifest.data.layout, channels };
  const itemDims = imageItemDims(manifest.data.layout, { width: settings.size, height: settings.size, channels });
  const per = itemDims.reduce((a, b) => a * b, 1);
  const factor = manifest.latent.spatialFactor ?? 1;
  const latentDims = [manifest.latent.shape[0] as number, settings.size / factor, settings.size / factor];
  const names = tensorNames(settings);

  const members = await tarMembers(task.items);
  const prepare = (items: readonly DatasetItem[]): Promise<Prepared[]> =>
    Promise.all(
      items.map(async (item): Promise<Prepared> => {
        try {
          const { bytes, meta } = await itemBytes(item, members);
          const image = await prepareImage(bytes, itemSource(item), settings);
          return meta === undefined ? { item, image } : { item, image, meta };
        } catch (error) {
          return { item, error: failure(item, error) };
        }
      }),
    );

  const stored: EncodedItem[] = [];
  const errors: ItemError[] = [];

  const run = async (good: readonly Prepared[]): Promise<void> => {
    const copies = settings.flip ? 2 : 1;
    const count = good.length * copies;
    const data = new Float32Array(count * per);
    good.forEach(({ image }, i) => {
      pixelsToTensor(image!.pixels, geometry, format, data.subarray(i * per, (i + 1) * per));
      if (settings.flip)
        pixelsToTensor(mirror(image!.pixels, settings.size, 3), geometry, format, data.subarray((good.length + i) * per, (good.length + i + 1) * per));
    });
    const posterior: Posterior = await vae.encode(new VaeTensor(data, [count, ...itemDims]));
    const latentPer = posterior.latentSize;
    let outputs: Record<string, VaeTensor>;
    if (settings.kind === 'moments') outputs = { mean: posterior.mean, logvar: posterior.logvar };
    else {
      let latents = posterior.mean;
      if (settings.kind === 'sample') {
        const eps = new Float32Array(count * latentPer);
        for (let j = 0; j < count; j++) {
          const flipped = j >= good.length;
          new NormalV1(itemSeed(settings.seed, good[j % good.length]!.item.key, flipped)).fill(eps.subarray(j * latentPer, (j + 1) * latentPer));
        }
        latents = posterior.sample({ eps: new VaeTensor(eps, posterior.mean.dims) });
      }
      outputs = { latents: settings.space === 'diffusion' ? vae.toDiffusionLatent(latents) : latents };
    }
    good.forEach((prepared, i) => {
      const tensors: Record<string, Float32Array> = {};
      for (const [name, tensor] of Object.entries(outputs)) {
        tensors[name] = tensor.data.slice(i * latentPer, (i + 1) * latentPer);
        if (settings.flip) tensors[`${name}_flip`] = tensor.data.slice((good.length + i) * latentPer, (good.length + i + 1) * latentPer);
      }
      stored.push({
        key: prepared.item.key,
        originalSize: prepared.image!.originalSize,
        tensors,
        ...(prepared.meta === undefined ? {} : { meta: prepared.meta }),
      });
    });
  };

  const batches: DatasetItem[][] = [];
  for (let start = 0; start < task.items.length; start += settings.batch) batches.push(task.items.slice(start, start + settings.batch));
  let next: Promise<Prepared[]> | null = batches.length > 0 ? prepare(batches[0]!) : null;
  let done = 0;
  for (let b = 0; b < batches.length; b++) {
    const prepared = await next!;
    // The next batch is read and resized while this one runs in the encoder.
    next = b + 1 < batches.length ? prepare(batches[b + 1]!) : null;
    const good = prepared.filter((p) => p.image !== undefined);
    for (const p of prepared) if (p.error !== undefined) errors.push(p.error);
    if (good.length > 0) {
      try {
        await run(good);
      } catch {
        // One item the encoder rejects must not cost its batch: run the items one by one.
        for (const p of good) {
          try {
            await run([p]);
          } catch (error) {
            errors.push({
              key: p.item.key,
              code: ITEM_ERRORS.ENCODE_FAILED,
              source: itemSource(p.item),
              message: `The encoder failed on ${itemSource(p.item)}: ${(error as Error).message}`,
            });
          }
        }
      }
    }
    done += prepared.length;
    await options.onProgress?.({ done, errors: errors.length, total: task.items.length });
  }

  const bytes = await SHARD_WRITERS[settings.format](stored, { tensors: names, latentDims, settings });
  const record: ShardRecord = { file: task.file, items: stored.length, errors, sha256: sha256(bytes), bytes: bytes.length, planHash: hash };
  await mkdir(join(out, RECORDS_FOLDER), { recursive: true });
  await writeFileAtomic(join(out, task.file), bytes);
  await writeFileAtomic(recordPath(out, task.file), `${JSON.stringify(record, null, 1)}\n`);
  return { record, skipped: false };
}
