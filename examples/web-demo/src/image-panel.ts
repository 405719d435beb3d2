// The image panel: pick, drop or use a sample photo; reconstruct it with an image VAE in a worker; show the original
// and the reconstruction side by side, PSNR, encode/decode times, the device chosen and why, and the latent channels.
import { psnr, tensorToPixels } from '@onnx-vae/web';
import type { Device } from '@onnx-vae/web';
import { canvases, drawChannel, drawRgb } from './draw';
import { IMAGE_MODELS, isServed } from './image-models';
import { errorText, startRemoteVae } from './worker-client';
import type { RemoteVae } from './worker-client';

/** Sample photos the demo server serves under /samples/ where Debian's python3-skimage is installed. */
const SAMPLES = Object.freeze(['astronaut.png', 'coffee.png']);
/** Every image model here takes sizes that are multiples of 8. */
const MULTIPLE = 8;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** A test image drawn on a canvas (gradients, shapes, text), used when no sample photo is served. */
function generatedImage(): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = 512;
  canvas.height = 384;
  const ctx = canvas.getContext('2d')!;
  const sky = ctx.createLinearGradient(0, 0, 0, 384);
  sky.addColorStop(0, '#3b6fd4');
  sky.addColorStop(1, '#f2c57c');
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, 512, 384);
  ctx.fillStyle = '#2e7d32';
  ctx.beginPath();
  ctx.moveTo(0, 384);
  ctx.lineTo(180, 200);
  ctx.lineTo(330, 320);
  ctx.lineTo(420, 240);
  ctx.lineTo(512, 384);
  ctx.fill();
  ctx.fillStyle = '#fff3b0';
  ctx.beginPath();
  ctx.arc(400, 90, 45, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#1d2330';
  ctx.font = 'bold 44px sans-serif';
  ctx.fillText('onnx-vae', 30, 80);
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob!), 'image/png'));
}

/** Scales `blob` so its longest side is at most `size`, and centre-crops it to multiples of 8. */
async function prepare(blob: Blob, size: number): Promise<ImageData> {
  const bitmap = await createImageBitmap(blob);
  const scale = Math.min(1, size / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(MULTIPLE, Math.floor((bitmap.width * scale) / MULTIPLE) * MULTIPLE);
  const height = Math.max(MULTIPLE, Math.floor((bitmap.height * scale) / MULTIPLE) * MULTIPLE);
  const cropWidth = width / scale;
  const cropHeight = height / scale;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, (bitmap.width - cropWidth) / 2, (bitmap.height - cropHeight) / 2, cropWidth, cropHeight, 0, 0, width, height);
  bitmap.close();
  return ctx.getImageData(0, 0, width, height);
}

function rgbOf(image: ImageData): Uint8Array {
  const out = new Uint8Array(image.width * image.height * 3);
  for (let p = 0, q = 0; p < image.data.length; p += 4, q += 3) out.set(image.data.subarray(p, p + 3), q);
  return out;
}

/** Sets up the panel; `setDevice` reloads the model on another device. */
export async function setupImagePanel(initial: { device: Device; model: string | null }): Promise<{ setDevice(device: Device): void }> {
  const status = $<HTMLParagraphElement>('image-status');
  const select = $<HTMLSelectElement>('model');
  const button = $<HTMLButtonElement>('reconstruct');
  const panel = $<HTMLElement>('image-panel');
  let device = initial.device;
  let remote: { key: string; vae: Promise<RemoteVae> } | null = null;
  let source: { blob: Blob; name: string } | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  /** Runs queued or running; `document.body.dataset.image` is `busy` until none is left, then `done` or `error`. */
  let pending = 0;
  let failed = false;
  const say = (text: string, state: 'busy' | 'done' | 'error' = 'busy'): void => {
    status.textContent = text;
    status.classList.toggle('error', state === 'error');
    if (state === 'error') failed = true;
    if (pending === 0) document.body.dataset.image = state;
  };

  // Models: list all, disable the ones this server lacks.
  const served = await Promise.all(IMAGE_MODELS.map((model) => isServed(model.probe)));
  select.replaceChildren(
    ...IMAGE_MODELS.map((model, i) => {
      const option = new Option(served[i] ? model.label : `${model.id}: unavailable (${model.missing})`, model.id);
      option.disabled = !served[i];
      return option;
    }),
  );
  const wanted = IMAGE_MODELS.findIndex((model, i) => served[i] && model.id === initial.model);
  const first = wanted >= 0 ? wanted : served.indexOf(true);
  if (first < 0) {
    say('No image model is served here.', 'error');
    return { setDevice: () => undefined };
  }
  select.selectedIndex = first;

  // Sources: sample photos where served, else a generated test image; a file input; drag and drop.
  const samples = (await Promise.all(SAMPLES.map(async (name) => ((await isServed(`samples/${name}`)) ? name : null)))).filter(
    (name): name is string => name !== null,
  );
  const sampleBar = $<HTMLSpanElement>('samples');
  const choose = async (get: () => Promise<Blob>, name: string): Promise<void> => {
    source = { blob: await get(), name };
    run();
  };
  const sampleButtons =
    samples.length > 0
      ? samples.map((name) => [name.replace('.png', ''), () => fetch(`samples/${name}`).then((r) => r.blob()), name] as const)
      : [['generated test image', generatedImage, 'generated test image'] as const];
  sampleBar.replaceChildren(
    ...sampleButtons.map(([label, get, name]) => {
      const sampleButton = document.createElement('button');
      sampleButton.type = 'button';
      sampleButton.textContent = label;
      sampleButton.addEventListener('click', () => void choose(get, name));
      return sampleButton;
    }),
  );
  $<HTMLInputElement>('file').addEventListener('change', (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) void choose(async () => file, file.name);
  });
  panel.addEventListener('dragover', (event) => {
    event.preventDefault();
    panel.classList.add('dragging');
  });
  panel.addEventListener('dragleave', () => panel.classList.remove('dragging'));
  panel.addEventListener('drop', (event) => {
    event.preventDefault();
    panel.classList.remove('dragging');
    const file = [...(event.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file) void choose(async () => file, file.name);
    else say('Drop an image file (PNG, JPEG, WebP, ...).', 'error');
  });

  const model = () => IMAGE_MODELS[select.selectedIndex]!;

  /** The worker VAE for the chosen model and device, started once per pair. */
  const current = (): Promise<RemoteVae> => {
    const key = `${model().id}@${device}`;
    if (remote?.key === key) return remote.vae;
    const previous = remote;
    previous?.vae.then(
      (r) => r.close(),
      () => undefined,
    );
    const chosen = model();
    const vae = (async () => {
      say(`Loading ${chosen.id} on ${device}…`);
      const from = await chosen.source((text) => say(text));
      return startRemoteVae(from, device, ({ file, loaded, total }) =>
        say(`Loading ${chosen.id}: ${file} ${(loaded / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB`),
      );
    })();
    remote = { key, vae };
    vae.catch(() => {
      if (remote?.vae === vae) remote = null;
    });
    return vae;
  };

  const reconstruct = async (): Promise<void> => {
    if (!source) return;
    const chosen = model();
    const size = Number($<HTMLSelectElement>('size').value);
    const image = await prepare(source.blob, size);
    const original = $<HTMLCanvasElement>('original');
    original.width = image.width;
    original.height = image.height;
    original.getContext('2d')!.putImageData(image, 0, 0);
    $('original-size').textContent = `${source.name}, ${image.width}×${image.height}`;
    const { vae, backend, loadMs } = await current();
    $('load-ms').textContent = loadMs.toFixed(0);
    $('device-info').textContent = `${backend.name}: ${backend.reason}`;
    say(`Encoding ${image.width}×${image.height} with ${vae.manifest.name} on ${backend.device}…`);
    const t0 = performance.now();
    const q = await vae.encode(image);
    const t1 = performance.now();
    say(`Decoding with ${vae.manifest.name} on ${backend.device}…`);
    const decoded = await vae.decode(q.mean);
    const t2 = performance.now();
    const { range, layout } = vae.manifest.data;
    const geometry = { width: image.width, height: image.height, channels: 3 };
    const pixels = tensorToPixels(decoded.data, geometry, range, layout);
    drawRgb($<HTMLCanvasElement>('reconstruction'), pixels, image.width, image.height);
    const db = psnr(rgbOf(image), pixels);
    $('psnr').textContent = db.toFixed(2);
    $('encode-ms').textContent = (t1 - t0).toFixed(1);
    $('decode-ms').textContent = (t2 - t1).toFixed(1);
    // Latent channels: [1, C, h, w] (NCHW) or [1, h, w, C] (NHWC).
    const dims = q.mean.dims;
    const nhwc = layout === 'NHWC';
    const [channels, height, width] = nhwc ? [dims[3]!, dims[1]!, dims[2]!] : [dims[1]!, dims[2]!, dims[3]!];
    $('latent-dims').textContent =
      `${channels} × ${height} × ${width} (${((image.width * image.height * 3) / (channels * height * width)).toFixed(0)}× fewer values than the image)`;
    const plane = new Float32Array(height * width);
    canvases($('latents'), channels).forEach((canvas, c) => {
      for (let i = 0; i < plane.length; i++) plane[i] = q.mean.data[nhwc ? i * channels + c : c * plane.length + i]!;
      const { min, max } = drawChannel(canvas, plane, width, height);
      canvas.title = `channel ${c}: ${min.toFixed(2)} … ${max.toFixed(2)}`;
    });
    say(`Reconstructed ${source.name} with ${vae.manifest.name} on ${backend.device}.${chosen.note ? ` ${chosen.note}` : ''}`, 'done');
  };

  /** Runs one reconstruction after another; a click while one runs queues the next. */
  function run(): void {
    button.disabled = false;
    pending++;
    document.body.dataset.image = 'busy';
    queue = queue
      .then(() => {
        failed = false;
        return reconstruct();
      })
      .catch((error: unknown) => say(errorText(error), 'error'))
      .finally(() => {
        if (--pending === 0) document.body.dataset.image = failed ? 'error' : 'done';
      });
  }

  button.addEventListener('click', run);
  select.addEventListener('change', run);
  $<HTMLSelectElement>('size').addEventListener('change', run);
  await choose(sampleButtons[0]![1], sampleButtons[0]![2]);
  return {
    setDevice(next: Device) {
      device = next;
      run();
    },
  };
}
