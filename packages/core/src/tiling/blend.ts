/**
 * Running tiles through a graph and blending their outputs: a normalised weighted average (linear ramps across the
 * overlaps) written into one preallocated output.
 */
import { InvalidInputError, ModelMismatchError, describe } from '../errors.js';
import { VaeTensor } from '../tensor/tensor.js';
import { rampWeights } from './plan.js';
import type { TilePlan } from './plan.js';
import type { TileSource } from './source.js';

/** The output-side geometry of a plan (every size scaled to the output grid) and its blend weights. */
interface Blend extends Omit<TilePlan, 'tiles'> {
  readonly rowWeights: readonly Float32Array[];
  readonly columnWeights: readonly Float32Array[];
  /** Sum of all tiles' weights per output pixel (one channel). */
  readonly weightSum: Float32Array;
}

/** The output-side blend of a plan whose output is `up / down` times the input. */
function blendOf(plan: TilePlan, up: number, down: number): Blend {
  const scale = (n: number) => (n * up) / down;
  const height = scale(plan.height);
  const width = scale(plan.width);
  const tileHeight = scale(plan.tileHeight);
  const tileWidth = scale(plan.tileWidth);
  const tops = plan.tops.map(scale);
  const lefts = plan.lefts.map(scale);
  const rowWeights = rampWeights(tops, tileHeight);
  const columnWeights = rampWeights(lefts, tileWidth);
  const weightSum = new Float32Array(height * width);
  tops.forEach((top, r) => {
    lefts.forEach((left, c) => {
      const rows = rowWeights[r]!;
      const columns = columnWeights[c]!;
      for (let i = 0; i < tileHeight; i++) {
        const base = (top + i) * width + left;
        for (let j = 0; j < tileWidth; j++) weightSum[base + j]! += rows[i]! * columns[j]!;
      }
    });
  });
  return { height, width, tileHeight, tileWidth, tops, lefts, rowWeights, columnWeights, weightSum };
}

/**
 * Runs every tile of every item through `run` (one at a time) and blends the outputs. `run` returns a fixed list of
 * outputs per tile (an entry may be `null` on every tile, e.g. the logvar of a deterministic encoder).
 */
export async function runTiled(
  input: TileSource,
  plan: TilePlan,
  up: number,
  down: number,
  run: (tile: VaeTensor) => Promise<readonly (VaeTensor | null)[]>,
  graph: 'encoder' | 'decoder',
  names: readonly string[],
  hint: string,
  onProgress?: (done: number, total: number) => void,
): Promise<(VaeTensor | null)[]> {
  const batch = input.dims[0]!;
  const blend = blendOf(plan, up, down);
  const plane = blend.height * blend.width;
  let outputs: (Float32Array | null)[] | null = null;
  let channels: number[] = [];
  for (let item = 0; item < batch; item++) {
    for (let r = 0; r < plan.tops.length; r++) {
      for (let c = 0; c < plan.lefts.length; c++) {
        const rect = plan.tiles[r * plan.lefts.length + c]!;
        const tile = await input.region(item, rect);
        if (tile.dims.length !== 4 || tile.dims[0] !== 1 || tile.dims[1] !== input.dims[1] || tile.dims[2] !== rect.height || tile.dims[3] !== rect.width) {
          throw new InvalidInputError(
            'SHAPE_MISMATCH',
            'x',
            `The tile source gave a region of dims ${describe([...tile.dims])} for ${rect.height}x${rect.width} at (${rect.top}, ${rect.left}); expected [1, ${input.dims[1]}, ${rect.height}, ${rect.width}].`,
          );
        }
        const results = (await run(tile)).map((result) => result ?? null);
        if (outputs === null) {
          channels = results.map((result, k) => (result === null ? 0 : checkTileOutput(result, null, blend, tile, graph, names[k]!, hint)));
          outputs = channels.map((ch, k) => (results[k] === null ? null : new Float32Array(batch * ch * plane)));
        }
        for (let k = 0; k < names.length; k++) {
          const result = results[k]!;
          const target = outputs[k]!;
          if ((result === null) !== (target === null)) {
            throw new ModelMismatchError(
              graph,
              `The ${graph} gave "${names[k]}" for some tiles but not for others; it must give the same outputs for every tile.`,
            );
          }
          if (result === null) continue;
          checkTileOutput(result, channels[k]!, blend, tile, graph, names[k]!, hint);
          accumulate(target, item * channels[k]! * plane, channels[k]!, blend, r, c, result.data);
        }
        onProgress?.(item * plan.tiles.length + r * plan.lefts.length + c + 1, batch * plan.tiles.length);
      }
    }
    for (let k = 0; k < names.length; k++) {
      const target = outputs?.[k];
      if (!target) continue;
      const weightSum = blend.weightSum;
      const start = item * channels[k]! * plane;
      for (let ch = 0; ch < channels[k]!; ch++) {
        const base = start + ch * plane;
        for (let p = 0; p < plane; p++) target[base + p]! /= weightSum[p]!;
      }
    }
  }
  return (outputs ?? []).map((data, k) => (data === null ? null : new VaeTensor(data, [batch, channels[k]!, blend.height, blend.width])));
}

function checkTileOutput(
  result: VaeTensor,
  channels: number | null,
  blend: Blend,
  tile: VaeTensor,
  graph: 'encoder' | 'decoder',
  name: string,
  hint: string,
): number {
  const dims = result.dims;
  const ok =
    dims.length === 4 &&
    dims[0] === 1 &&
    dims[1]! >= 1 &&
    (channels === null || dims[1] === channels) &&
    dims[2] === blend.tileHeight &&
    dims[3] === blend.tileWidth;
  if (!ok) {
    const expected = `[1, ${channels ?? '*'}, ${blend.tileHeight}, ${blend.tileWidth}]`;
    throw new ModelMismatchError(
      graph,
      `The ${graph} turned a tile of dims ${describe([...tile.dims])} into "${name}" of dims ${describe([...dims])} but tiling expects ${expected}; ${hint}`,
    );
  }
  return dims[1]!;
}

function accumulate(target: Float32Array, offset: number, channels: number, blend: Blend, r: number, c: number, tile: Float32Array): void {
  const { width, tileHeight, tileWidth } = blend;
  const plane = blend.height * width;
  const top = blend.tops[r]!;
  const left = blend.lefts[c]!;
  const rows = blend.rowWeights[r]!;
  const columns = blend.columnWeights[c]!;
  for (let ch = 0; ch < channels; ch++) {
    for (let i = 0; i < tileHeight; i++) {
      const weight = rows[i]!;
      const to = offset + ch * plane + (top + i) * width + left;
      const from = (ch * tileHeight + i) * tileWidth;
      for (let j = 0; j < tileWidth; j++) target[to + j]! += weight * columns[j]! * tile[from + j]!;
    }
  }
}
