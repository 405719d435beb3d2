#!/usr/bin/env node
/**
 * `onnx-vae-dataset <command> ...`: runs the dataset commands until the `onnx-vae` CLI lists them in its COMMANDS
 * table (then `onnx-vae encode-dataset ...` is the same command). Errors print as the CLI prints them:
 * `onnx-vae: error [CODE]: message`, exit code 2; unexpected ones exit 1.
 */
import { parseArgs } from 'node:util';
import { VaeError } from '@onnx-vae/core';
import { DATASET_COMMANDS } from './commands.js';
import type { DatasetCommand, DatasetOptionSpec } from './commands.js';

const COMMON = Object.freeze({
  device: { type: 'string', value: 'cpu|cuda', description: 'execution provider (default cpu)' },
  threads: { type: 'string', value: 'N', description: 'threads inside one operator (onnxruntime intraOpNumThreads)' },
  preset: { type: 'string', value: 'NAME', description: 'VAE family of an export without vae.json' },
  'no-progress': { type: 'boolean', description: 'never show progress' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} satisfies Record<string, DatasetOptionSpec>);

function help(name: string, command: DatasetCommand): string {
  const rows = Object.entries({ ...command.options, ...COMMON } as Record<string, DatasetOptionSpec>).map(
    ([option, spec]) => [`${spec.short ? `-${spec.short}, ` : '    '}--${option}${spec.value ? ` ${spec.value}` : ''}`, spec.description] as const,
  );
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return `Usage: ${command.synopsis}\n\n${command.details}\n\nOptions:\n${rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join('\n')}\n`;
}

class UsageError extends Error {}

async function main(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  const commands = DATASET_COMMANDS as Readonly<Record<string, DatasetCommand>>;
  if (name === undefined || name === '--help' || name === '-h' || !Object.hasOwn(commands, name)) {
    const list = Object.entries(commands)
      .map(([n, c]) => `  ${n.padEnd(15)} ${c.summary}`)
      .join('\n');
    (name === undefined || name.startsWith('-') ? process.stdout : process.stderr).write(`Usage: onnx-vae-dataset <command> ...\n\nCommands:\n${list}\n`);
    return name === undefined || name === '--help' || name === '-h' ? 0 : 2;
  }
  const command = commands[name]!;
  const specs = { ...command.options, ...COMMON } as Record<string, DatasetOptionSpec>;
  const { values, positionals } = parseArgs({
    args: [...rest],
    options: Object.fromEntries(
      Object.entries(specs).map(([option, spec]) => [option, spec.short ? { type: spec.type, short: spec.short } : { type: spec.type }]),
    ),
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(help(name, command));
    return 0;
  }
  const [model, ...inputs] = command.modelFolder === false ? ['', ...positionals] : positionals;
  if (model === undefined) throw new UsageError('missing the model folder.');
  if (inputs.length < command.inputs.min || inputs.length > command.inputs.max)
    throw new UsageError(
      `expected ${command.inputs.min === command.inputs.max ? command.inputs.min : `${command.inputs.min} to ${command.inputs.max}`} input(s) after the model folder but received ${inputs.length}.`,
    );
  await command.run({
    command: name,
    model,
    inputs,
    values: values as Record<string, string | boolean | undefined>,
    io: { stdout: process.stdout, stderr: process.stderr },
  });
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (VaeError.isInstance(error)) {
    process.stderr.write(`onnx-vae: error [${error.code}]: ${error.message}\n`);
    process.exitCode = 2;
  } else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`onnx-vae-dataset: ${(error as Error).message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`onnx-vae: unexpected error: ${(error as Error).message}\n`);
    if (process.env.ONNX_VAE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    process.exitCode = 1;
  }
}
