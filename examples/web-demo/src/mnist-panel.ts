// The MNIST latent explorer: decoded digits over a 2-D slice of the 50-D latent space, interpolation between two
// encoded test digits, and seeded generation from the prior, with models/mnist-vae in a worker.
import { NormalV1 } from '@onnx-vae/web';
import type { Device, InterpolationMethod, VaeTensor } from '@onnx-vae/web';
import { canvases, drawGrey } from './draw';
import { errorText, startRemoteVae } from './worker-client';
import type { RemoteVae } from './worker-client';

/** The slice grid is GRID x GRID digits, each axis from -SPAN to SPAN. */
export const GRID = 9;
const SPAN = 3;
/** Points on the interpolation path, both ends included; the slider walks them. */
const STEPS = 21;
const GENERATED = 16;
const SIDE = 28;
const LATENTS = 50;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

interface Digits {
  readonly dims: [number, number];
  readonly data: number[];
}

function drawDigits(targets: readonly HTMLCanvasElement[], data: VaeTensor): void {
  targets.forEach((canvas, i) => drawGrey(canvas, data.data.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE), SIDE, SIDE));
}

/** Sets up the panel; `setDevice` reloads the model on another device. */
export async function setupMnistPanel(initial: { device: Device }): Promise<{ setDevice(device: Device): void }> {
  const status = $<HTMLParagraphElement>('mnist-status');
  const say = (text: string, state: 'busy' | 'done' | 'error' = 'busy'): void => {
    status.textContent = text;
    status.classList.toggle('error', state === 'error');
    document.body.dataset.mnist = state;
  };
  const digits = (await (await fetch('digits.json')).json()) as Digits;
  const count = digits.dims[0];
  const x = Float32Array.from(digits.data);
  let remote: Promise<RemoteVae> | null = null;
  let device = initial.device;
  let means: Float32Array | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  /** Runs model calls one after another, reporting errors in the panel. */
  const later = (task: (vae: RemoteVae) => Promise<void>): void => {
    queue = queue
      .then(async () => task(await (remote ??= startRemoteVae(new URL('models/mnist-vae/', location.href).href, device))))
      .catch((error: unknown) => say(errorText(error), 'error'));
  };

  const dimX = $<HTMLSelectElement>('dim-x');
  const dimY = $<HTMLSelectElement>('dim-y');
  const digitA = $<HTMLSelectElement>('digit-a');
  const digitB = $<HTMLSelectElement>('digit-b');
  for (const select of [digitA, digitB]) select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(`test digit #${i}`, String(i))));
  digitA.value = '0';
  digitB.value = '1';

  const grid = canvases($('mnist-grid'), GRID * GRID);
  const strip = canvases($('path-strip'), STEPS);
  const generated = canvases($('generated'), GENERATED);
  let path: VaeTensor | null = null;

  const renderGrid = (): void =>
    later(async ({ vae }) => {
      const [i, j] = [Number(dimX.value), Number(dimY.value)];
      const base =
        $<HTMLSelectElement>('others').value === 'prior'
          ? new NormalV1(Number($<HTMLInputElement>('others-seed').value) || 0).fill(new Float32Array(LATENTS))
          : new Float32Array(LATENTS);
      const z = new Float32Array(GRID * GRID * LATENTS);
      for (let row = 0; row < GRID; row++) {
        for (let column = 0; column < GRID; column++) {
          const offset = (row * GRID + column) * LATENTS;
          z.set(base, offset);
          z[offset + i] = -SPAN + (2 * SPAN * column) / (GRID - 1);
          z[offset + j] = SPAN - (2 * SPAN * row) / (GRID - 1);
        }
      }
      drawDigits(grid, await vae.decode({ data: z, dims: [GRID * GRID, LATENTS] }));
    });

  const showStep = (): void => {
    const step = Number($<HTMLInputElement>('t').value);
    $<HTMLOutputElement>('t-value').value = (step / (STEPS - 1)).toFixed(2);
    strip.forEach((canvas, k) => canvas.classList.toggle('current', k === step));
    if (path) drawGrey($<HTMLCanvasElement>('interpolated'), path.data.subarray(step * SIDE * SIDE, (step + 1) * SIDE * SIDE), SIDE, SIDE);
  };

  const renderPath = (): void =>
    later(async ({ vae }) => {
      const [a, b] = [Number(digitA.value), Number(digitB.value)];
      drawGrey($<HTMLCanvasElement>('digit-a-image'), x.subarray(a * 784, (a + 1) * 784), SIDE, SIDE);
      drawGrey($<HTMLCanvasElement>('digit-b-image'), x.subarray(b * 784, (b + 1) * 784), SIDE, SIDE);
      const mean = (k: number) => ({ data: means!.slice(k * LATENTS, (k + 1) * LATENTS), dims: [1, LATENTS] });
      path = await vae.interpolate(mean(a), mean(b), { steps: STEPS, method: $<HTMLSelectElement>('path').value as InterpolationMethod });
      drawDigits(strip, path);
      showStep();
    });

  const renderGenerated = (): void =>
    later(async ({ vae }) => {
      drawDigits(generated, await vae.generate({ n: GENERATED, seed: Math.max(0, Math.floor(Number($<HTMLInputElement>('seed').value) || 0)) }));
    });

  /** Loads the model, encodes the test digits and draws everything. */
  const start = (): void => {
    say(`Loading mnist-vae on ${device}…`);
    later(async ({ vae, backend }) => {
      const q = await vae.encode({ data: x, dims: [count, 784] });
      means = q.mean.data;
      // Offer every latent, the most used ones (largest variance of the posterior means over the digits) first.
      const variance = Array.from({ length: LATENTS }, (_, d) => {
        let sum = 0;
        let squares = 0;
        for (let k = 0; k < count; k++) {
          sum += means![k * LATENTS + d]!;
          squares += means![k * LATENTS + d]! ** 2;
        }
        return squares / count - (sum / count) ** 2;
      });
      const order = variance.map((v, d) => [v, d] as const).sort((p, q2) => q2[0] - p[0]);
      for (const select of [dimX, dimY]) select.replaceChildren(...order.map(([v, d]) => new Option(`z${d} (variance ${v.toFixed(2)})`, String(d))));
      dimX.selectedIndex = 0;
      dimY.selectedIndex = 1;
      say(
        `mnist-vae on ${backend.device} (${backend.reason}); ${order.filter(([v]) => v > 0.01).length} of ${LATENTS} latents active on these ${count} digits.`,
      );
    });
    renderGrid();
    renderPath();
    renderGenerated();
    queue = queue.then(() => {
      if (document.body.dataset.mnist !== 'error') document.body.dataset.mnist = 'done';
      for (const id of ['generate', 'random-seed']) $<HTMLButtonElement>(id).disabled = false;
    });
  };

  for (const id of ['dim-x', 'dim-y', 'others', 'others-seed']) $(id).addEventListener('change', renderGrid);
  for (const id of ['digit-a', 'digit-b', 'path']) $(id).addEventListener('change', renderPath);
  $('t').addEventListener('input', showStep);
  $('generate').addEventListener('click', renderGenerated);
  $('seed').addEventListener('change', renderGenerated);
  $('random-seed').addEventListener('click', () => {
    $<HTMLInputElement>('seed').value = String(Math.floor(Math.random() * 1e6));
    renderGenerated();
  });
  start();
  return {
    setDevice(next: Device) {
      device = next;
      const previous = remote;
      remote = null;
      previous?.then(
        (r) => r.close(),
        () => undefined,
      );
      start();
    },
  };
}
