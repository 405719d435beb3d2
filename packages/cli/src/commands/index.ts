/**
 * The table of CLI commands. A command is one module exporting a {@link Command}; adding one is that module and one
 * line here (commands from other packages, e.g. `@onnx-vae/dataset`'s in dataset.ts, are a thin module in this folder
 * over that package's public API, then one line here).
 */
import type { Command } from '../context.js';
import { compressCommand, decompressCommand } from './compress.js';
import { datasetStatusCommand, encodeDatasetCommand, workerCommand } from './dataset.js';
import { decodeCommand } from './decode.js';
import { encodeCommand } from './encode.js';
import { generateCommand } from './generate.js';
import { infoCommand } from './info.js';
import { reconstructCommand } from './reconstruct.js';
import { scoreCommand } from './score.js';
import { serveCommand } from './serve.js';

/** Every command, by name, in the order `onnx-vae --help` lists them. */
export const COMMANDS = Object.freeze({
  info: infoCommand,
  encode: encodeCommand,
  decode: decodeCommand,
  reconstruct: reconstructCommand,
  generate: generateCommand,
  score: scoreCommand,
  compress: compressCommand,
  decompress: decompressCommand,
  'encode-dataset': encodeDatasetCommand,
  worker: workerCommand,
  'dataset-status': datasetStatusCommand,
  serve: serveCommand,
} satisfies Record<string, Command>);
/** One of {@link COMMANDS}. */
export type CommandName = keyof typeof COMMANDS;
