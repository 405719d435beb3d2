// The image models the demo offers, and whether this server has them.
import type { ModelFiles } from '@onnx-vae/web';

/** An image model: where it lies, how to tell it is there, and how to hand it to loadVae. */
export interface ImageModel {
  readonly id: string;
  readonly label: string;
  /** A URL that answers 200 when the model is served. */
  readonly probe: string;
  /** Why it may be missing. */
  readonly missing: string;
  /** Said after each reconstruction, where there is something to say. */
  readonly note?: string;
  /** A model folder's URL, or the graphs in memory (with a manifest, or detected from the graphs). */
  source(onStatus: (text: string) => void): Promise<string | ModelFiles>;
}

const url = (path: string): string => new URL(path, location.href).href;

async function download(path: string, onStatus: (text: string) => void): Promise<ArrayBuffer> {
  const response = await fetch(url(path));
  if (!response.ok) throw new Error(`Cannot fetch ${path}: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body) return response.arrayBuffer();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onStatus(`Downloading ${path.split('/').pop()}: ${(loaded / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB`);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes.buffer;
}

/** Best first: the first available one is the default. */
export const IMAGE_MODELS: readonly ImageModel[] = Object.freeze([
  {
    id: 'kl-f8',
    label: 'kl-f8 (shipped, 4 latent channels at 1/8)',
    probe: 'models/kl-f8/vae.json',
    missing: 'models/kl-f8/vae.json is not there yet; training/onnx_vae_training/train_kl_f8.py writes it',
    source: async () => url('models/kl-f8/'),
  },
  {
    id: 'taef2',
    label: 'TAEF2 (32 latent channels at 1/8)',
    probe: 'taesd/taef2_encoder.onnx',
    missing: 'not served (../shared/models/taesd is absent)',
    source: async (onStatus: (text: string) => void) => {
      // TAEF2 ships no vae.json: @onnx-vae/web detects its manifest from the graphs, the File names giving the layout.
      const [encoder, decoder] = [await download('taesd/taef2_encoder.onnx', onStatus), await download('taesd/taef2_decoder.onnx', onStatus)];
      return { encoder: new File([encoder], 'taef2_encoder.onnx'), decoder: new File([decoder], 'taef2_decoder.onnx') };
    },
  },
  {
    id: 'conv-moments',
    label: 'conv-moments (untrained test fixture, 4 channels at 1/4)',
    probe: 'models/fixtures/conv-moments/vae.json',
    missing: 'models/fixtures/conv-moments is missing',
    note: 'An untrained test fixture: expect no likeness.',
    source: async () => url('models/fixtures/conv-moments/'),
  },
]);

/** Whether `path` answers 200 to a HEAD request. */
export async function isServed(path: string): Promise<boolean> {
  try {
    return (await fetch(url(path), { method: 'HEAD', cache: 'no-store' })).ok;
  } catch {
    return false;
  }
}
