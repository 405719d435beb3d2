/**
 * The bytes of one output shard, per format: a `.safetensors` file (tensors `[N, C, h, w]`, keys and original sizes
 * in `__metadata__`) or a WebDataset tar (`KEY.latent.npy`, ... and `KEY.json` per item). The same items always
 * give the same bytes, so a retried or duplicated shard job writes an identical file.
 */
import { VaeTensor, encodeSafetensors } from '@onnx-vae/core';
import { encodeNpy } from '@onnx-vae/node';
import { LATENT_DTYPES } from './settings.js';
import type { EncodeSettings, ShardFormat } from './settings.js';
import { packTar } from './webdataset.js';

/** One encoded item, as a shard stores it. */
export interface EncodedItem {
  /** The item's key. */
  readonly key: string;
  /** Width and height before preprocessing. */
  readonly originalSize: readonly [number, number];
  /** Latent data by tensor name (`latents`, `latents_flip`, `mean`, `logvar`, ...), each `C * h * w` values. */
  readonly tensors: Readonly<Record<string, Float32Array>>;
  /** The sample's `.json` from a WebDataset input, when it had one. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** What a shard writer needs besides the items. */
export interface ShardLayout {
  /** Tensor names, in order. */
  readonly tensors: readonly string[];
  /** Dims of one item's latent, `[C, h, w]`. */
  readonly latentDims: readonly number[];
  /** The settings. */
  readonly settings: EncodeSettings;
}

/** Metadata key of the shard format version in a safetensors shard. */
export const SHARD_FORMAT_VERSION = 'onnx-vae-latent-shard-1';

function safetensorsShard(items: readonly EncodedItem[], layout: ShardLayout): Promise<Uint8Array> {
  const per = layout.latentDims.reduce((a, b) => a * b, 1);
  const tensors: Record<string, VaeTensor> = {};
  for (const name of layout.tensors) {
    const data = new Float32Array(per * items.length);
    items.forEach((item, i) => data.set(item.tensors[name]!, i * per));
    tensors[name] = new VaeTensor(data, [items.length, ...layout.latentDims]);
  }
  const metadata = {
    format: SHARD_FORMAT_VERSION,
    keys: JSON.stringify(items.map((item) => item.key)),
    original_sizes: JSON.stringify(items.map((item) => item.originalSize)),
  };
  return Promise.resolve(encodeSafetensors(tensors, metadata, { dtype: LATENT_DTYPES[layout.settings.dtype].safetensors }));
}

/** The member extension of a tensor in a WebDataset shard: `latents` -> `latent.npy`, `mean_flip` -> `mean_flip.npy`. */
export function wdsExtension(tensor: string): string {
  return `${tensor.replace(/^latents/, 'latent')}.npy`;
}

async function wdsShard(items: readonly EncodedItem[], layout: ShardLayout): Promise<Uint8Array> {
  const members: { name: string; data: Uint8Array }[] = [];
  const encoder = new TextEncoder();
  for (const item of items) {
    for (const name of layout.tensors) {
      const npy = encodeNpy({ data: item.tensors[name]!, dims: layout.latentDims }, { dtype: LATENT_DTYPES[layout.settings.dtype].npy });
      members.push({ name: `${item.key}.${wdsExtension(name)}`, data: npy });
    }
    const json = { ...item.meta, key: item.key, original_size: item.originalSize };
    members.push({ name: `${item.key}.json`, data: encoder.encode(JSON.stringify(json)) });
  }
  return packTar(members);
}

/** Shard writers by format. */
export const SHARD_WRITERS: Readonly<Record<ShardFormat, (items: readonly EncodedItem[], layout: ShardLayout) => Promise<Uint8Array>>> = Object.freeze({
  safetensors: safetensorsShard,
  wds: wdsShard,
});
