/**
 * The `onnx-vae` command line: dispatch, help, and the mapping of errors to messages and exit codes.
 */
import { VaeError } from '@onnx-vae/node';
import type { CliIo, Command } from './context.js';
import { COMMANDS } from './commands/index.js';
import { COMMON_OPTIONS, UsageError, formatOptions, parseCommandLine } from './options.js';

/** Exit codes of the CLI. */
export const EXIT_CODES = Object.freeze({
  /** Success. */
  ok: 0,
  /** An unexpected error (a bug or a system failure). */
  unexpected: 1,
  /** A usage error or an onnx-vae error (bad input, option, model). */
  user: 2,
} as const);

/** A table of commands by name, as {@link COMMANDS}. */
export type CommandTable = Readonly<Record<string, Command>>;

/**
 * The top-level help.
 *
 * @param commands - the command table; default {@link COMMANDS}
 */
export function topLevelHelp(commands: CommandTable = COMMANDS): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return (
    [
      'Usage: onnx-vae <command> <model-folder> [inputs...] [options]',
      '',
      'Runs a VAE exported to ONNX. A model folder holds vae.json and the encoder and decoder graphs it names, or an\nexport without vae.json in a known layout (Hugging Face optimum, onnxruntime SD demo, a TAESD-style NAME_encoder.onnx/\nNAME_decoder.onnx pair); --preset names its family where the graphs cannot tell.',
      '',
      'Commands:',
      ...Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
      '',
      'Options of every command:',
      formatOptions(COMMON_OPTIONS),
      '',
      'Other:',
      '  onnx-vae --help | -h           show this help',
      '  onnx-vae --version             print the version',
      "  onnx-vae help <command>        show a command's help (also: onnx-vae <command> --help)",
      '',
      'Exit codes: 0 success; 2 a usage error or an error in the inputs, options or model (printed as',
      '"onnx-vae: error [CODE]: message"); 1 an unexpected error.',
    ].join('\n') + '\n'
  );
}

/**
 * A command's help.
 *
 * @param name - a command of `commands`
 * @param commands - the command table; default {@link COMMANDS}
 */
export function commandHelp(name: string, commands: CommandTable = COMMANDS): string {
  const command = commands[name]!;
  return [
    `Usage: ${command.synopsis}`,
    '',
    command.details,
    '',
    'Options:',
    // One table, so the common options' descriptions line up with the command's own.
    formatOptions({ ...command.options, ...COMMON_OPTIONS }),
    '',
  ].join('\n');
}

async function dispatch(args: readonly string[], io: CliIo, version: string, commands: CommandTable): Promise<number> {
  const isCommand = (name: string): boolean => Object.hasOwn(commands, name);
  const help = (topic?: string): string => (topic === undefined ? topLevelHelp(commands) : commandHelp(topic, commands));
  const [first, ...rest] = args;
  if (first === undefined) throw new UsageError(null, 'missing the command.');
  if (first === '--help' || first === '-h') {
    io.stdout.write(help());
    return EXIT_CODES.ok;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${version}\n`);
    return EXIT_CODES.ok;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined || isCommand(topic)) io.stdout.write(help(topic));
    else throw new UsageError(null, `unknown command "${topic}"; the commands are ${Object.keys(commands).join(', ')}.`);
    return EXIT_CODES.ok;
  }
  if (!isCommand(first)) {
    throw new UsageError(null, `unknown ${first.startsWith('-') ? 'option' : 'command'} "${first}"; the commands are ${Object.keys(commands).join(', ')}.`);
  }
  const command = commands[first]!;
  const { values, positionals } = parseCommandLine(first, rest, { ...command.options, ...COMMON_OPTIONS });
  if (values.help === true) {
    io.stdout.write(help(first));
    return EXIT_CODES.ok;
  }
  const takesModel = command.model !== 'none';
  const [model = '', ...inputs] = takesModel ? positionals : ['', ...positionals];
  if (takesModel && model === '') throw new UsageError(first, 'missing the model folder.');
  if (inputs.length < command.inputs.min)
    throw new UsageError(first, takesModel ? `missing the input files (images or .npy arrays) after the model folder.` : `missing arguments; see the usage.`);
  if (inputs.length > command.inputs.max) {
    throw new UsageError(
      first,
      command.inputs.max === 0
        ? `"${first}" takes no inputs${takesModel ? ' after the model folder' : ''} but received ${JSON.stringify(inputs[0])}.`
        : `too many inputs.`,
    );
  }
  await command.run({ command: first, model, inputs, values, io });
  return EXIT_CODES.ok;
}

/**
 * Runs the CLI. Never throws: usage errors print the usage and return 2, onnx-vae errors print
 * `onnx-vae: error [CODE]: message` and return 2, anything else prints its message and returns 1
 * (with the stack when the environment variable `ONNX_VAE_DEBUG` is set).
 *
 * @param args - the arguments after the program name
 * @param io - stdout and stderr
 * @param version - printed by `--version`
 * @param commands - the command table; default {@link COMMANDS} (tests and tools pass their own)
 * @returns the exit code, one of {@link EXIT_CODES}
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, '0.1.0');
 */
export async function runCli(args: readonly string[], io: CliIo, version: string, commands: CommandTable = COMMANDS): Promise<number> {
  try {
    return await dispatch(args, io, version, commands);
  } catch (error) {
    if (error instanceof UsageError) {
      const usage = error.command === null ? topLevelHelp(commands) : commandHelp(error.command, commands);
      io.stderr.write(`onnx-vae${error.command === null ? '' : ` ${error.command}`}: ${error.message}\n\n${usage}`);
      return EXIT_CODES.user;
    }
    if (VaeError.isInstance(error)) {
      io.stderr.write(`onnx-vae: error [${error.code}]: ${error.message}\n`);
      return EXIT_CODES.user;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`onnx-vae: unexpected error: ${message}\n`);
    if (process.env.ONNX_VAE_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return EXIT_CODES.unexpected;
  }
}
