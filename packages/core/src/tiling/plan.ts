/**
 * Tile plans: where overlapping tiles of one size start on a grid, and the linear-ramp weights that blend them.
 */
import { InvalidInputError, describe } from '../errors.js';
import { invalidOption, isCount, isPositiveInteger } from '../validate.js';

/** Tile size and overlap along both spatial axes, in the pixels of the tiled tensor. */
export interface TileSettings {
  /** Side of a square tile. */
  readonly tileSize: number;
  /** Pixels shared by neighbouring tiles, blended with linear ramps. */
  readonly overlap: number;
}

/** One tile: a rectangle of the tiled tensor's spatial grid. */
export interface TileRect {
  /** First row. */
  readonly top: number;
  /** First column. */
  readonly left: number;
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
}

/** Options of {@link planTiles}. */
export interface PlanTilesOptions extends TileSettings {
  /** Tile positions, sizes and the overlap are multiples of this (the model's factor for image tiles). Default 1. */
  readonly align?: number;
}

/**
 * A tiling of an `height` x `width` grid: the tiles of one size on a grid of row and column starts. Along each axis
 * the tiles step by `tileSize - overlap`, and the last tile is moved back to end at the far edge, so it may overlap
 * its neighbour by more than `overlap`. An axis shorter than a tile gets one tile of its full length.
 */
export interface TilePlan {
  /** Rows of the grid. */
  readonly height: number;
  /** Columns of the grid. */
  readonly width: number;
  /** Rows of every tile: `min(tileSize, height)`. */
  readonly tileHeight: number;
  /** Columns of every tile: `min(tileSize, width)`. */
  readonly tileWidth: number;
  /** First row of each row of tiles, increasing. */
  readonly tops: readonly number[];
  /** First column of each column of tiles, increasing. */
  readonly lefts: readonly number[];
  /** All tiles, row-major (`tops` outer, `lefts` inner). */
  readonly tiles: readonly TileRect[];
}

/**
 * Where tiles start along one axis of `size` pixels: every `tileSize - overlap` from 0, the last one moved back to
 * `size - tileSize`; `[0]` when the axis is not longer than a tile. Inputs are trusted (see {@link planTiles}).
 */
export function tileStarts(size: number, tileSize: number, overlap: number): number[] {
  if (size <= tileSize) return [0];
  const stride = tileSize - overlap;
  const starts = [0];
  while (starts[starts.length - 1]! + tileSize < size) starts.push(Math.min(starts[starts.length - 1]! + stride, size - tileSize));
  return starts;
}

/**
 * Plans the tiles covering an `height` x `width` grid.
 *
 * @param height - rows, a positive multiple of `align`
 * @param width - columns, a positive multiple of `align`
 * @param options - `tileSize` (a positive multiple of `align`), `overlap` (a multiple of `align`, `0 <= overlap <
 *   tileSize`), `align` (default 1)
 * @throws {@link InvalidOptionError} for bad options; {@link InvalidInputError} `INVALID_INPUT` for bad sizes
 * @example
 * planTiles(1024, 1024, { tileSize: 512, overlap: 64, align: 8 }).tops; // [0, 448, 512]
 */
export function planTiles(height: number, width: number, options: PlanTilesOptions): TilePlan {
  const align = options.align ?? 1;
  if (!isPositiveInteger(align)) throw invalidOption('align', 'a positive integer', options.align);
  const { tileSize, overlap } = checkTileSettings(options.tileSize, options.overlap, align, 'pixels');
  for (const [argument, size] of [
    ['height', height],
    ['width', width],
  ] as const) {
    if (!isPositiveInteger(size) || size % align !== 0) {
      throw new InvalidInputError('INVALID_INPUT', argument, `Expected "${argument}" to be a positive multiple of ${align} but received ${describe(size)}.`);
    }
  }
  const tops = tileStarts(height, tileSize, overlap);
  const lefts = tileStarts(width, tileSize, overlap);
  const tileHeight = Math.min(tileSize, height);
  const tileWidth = Math.min(tileSize, width);
  const tiles = tops.flatMap((top) => lefts.map((left) => Object.freeze({ top, left, height: tileHeight, width: tileWidth })));
  return Object.freeze({ height, width, tileHeight, tileWidth, tops: Object.freeze(tops), lefts: Object.freeze(lefts), tiles: Object.freeze(tiles) });
}

/**
 * Blend weights along one axis: for tiles of `length` pixels at `starts`, one array of `length` weights per tile.
 * Across the overlap with each neighbour the weight ramps linearly, sampled at pixel centres (`(i + 0.5) / overlap`
 * up from the near neighbour, the mirror image down towards the far one), so in an overlap of two tiles the weights
 * sum to 1; elsewhere, and on the image's edges, the weight is 1. Where a tile ramps on both sides at once the
 * smaller weight wins. Every weight is in (0, 1].
 *
 * @param starts - first pixel of each tile, increasing (as from {@link tileStarts}); trusted, not checked
 * @param length - pixels of every tile
 */
export function rampWeights(starts: readonly number[], length: number): Float32Array[] {
  return starts.map((start, index) => {
    const weights = new Float32Array(length).fill(1);
    const before = index > 0 ? Math.max(0, Math.min(length, starts[index - 1]! + length - start)) : 0;
    const after = index < starts.length - 1 ? Math.max(0, Math.min(length, start + length - starts[index + 1]!)) : 0;
    for (let i = 0; i < before; i++) weights[i] = (i + 0.5) / before;
    for (let i = length - after; i < length; i++) weights[i] = Math.min(weights[i]!, (length - i - 0.5) / after);
    return weights;
  });
}

/** Checks tile settings: `tileSize` a positive multiple of `multiple`, `overlap` a multiple below it. @internal */
export function checkTileSettings(tileSize: unknown, overlap: unknown, multiple: number, unit: string): TileSettings {
  if (!isPositiveInteger(tileSize) || tileSize % multiple !== 0) {
    const what = multiple === 1 ? 'a positive integer' : `a positive multiple of ${multiple}`;
    throw invalidOption('tileSize', `${what} (${unit})`, tileSize);
  }
  if (!isCount(overlap) || overlap % multiple !== 0 || overlap >= tileSize) {
    const what = multiple === 1 ? 'an integer' : `a multiple of ${multiple}`;
    throw invalidOption('overlap', `${what} from 0 to ${tileSize - multiple} (below tileSize ${tileSize}, ${unit})`, overlap);
  }
  return { tileSize, overlap };
}
