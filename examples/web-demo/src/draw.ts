// Drawing model outputs on canvases.

/** Draws `width * height` values in [0, 1] (row-major) as grey pixels; values outside are clamped. */
export function drawGrey(canvas: HTMLCanvasElement, values: ArrayLike<number>, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  const image = new ImageData(width, height);
  for (let p = 0; p < width * height; p++) {
    const v = Math.round(Math.min(1, Math.max(0, values[p]!)) * 255);
    image.data[p * 4] = v;
    image.data[p * 4 + 1] = v;
    image.data[p * 4 + 2] = v;
    image.data[p * 4 + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}

/** Draws interleaved 8-bit RGB pixels. */
export function drawRgb(canvas: HTMLCanvasElement, pixels: Uint8Array, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  const image = new ImageData(width, height);
  for (let p = 0, q = 0; q < image.data.length; p += 3, q += 4) {
    image.data[q] = pixels[p]!;
    image.data[q + 1] = pixels[p + 1]!;
    image.data[q + 2] = pixels[p + 2]!;
    image.data[q + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}

/** Draws one channel, scaled from its own min-max to black-white. */
export function drawChannel(canvas: HTMLCanvasElement, values: ArrayLike<number>, width: number, height: number): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < width * height; i++) {
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  const span = max > min ? max - min : 1;
  const scaled = new Float32Array(width * height);
  for (let i = 0; i < scaled.length; i++) scaled[i] = (values[i]! - min) / span;
  drawGrey(canvas, scaled, width, height);
  return { min, max };
}

/** `count` new canvases of `className` in `parent`, replacing its children. */
export function canvases(parent: HTMLElement, count: number, className = ''): HTMLCanvasElement[] {
  const list = Array.from({ length: count }, () => {
    const canvas = document.createElement('canvas');
    if (className) canvas.className = className;
    return canvas;
  });
  parent.replaceChildren(...list);
  return list;
}
