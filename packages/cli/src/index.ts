/**
 * `@onnx-vae/cli`: the `onnx-vae` command line on `@onnx-vae/node`. The executable is `onnx-vae`; this entry point
 * runs it in-process ({@link runCli}) and exposes the command table and the {@link Command} seam, for tests and for
 * commands that live beside the built-in ones.
 *
 * @example
 * import { runCli } from '@onnx-vae/cli';
 * process.exitCode = await runCli(['info', 'models/mnist-vae'], { stdout: process.stdout, stderr: process.stderr }, '0.1.0');
 *
 * @packageDocumentation
 */
export { runCli, topLevelHelp, commandHelp, EXIT_CODES } from './run.js';
export type { CommandTable } from './run.js';
export { COMMANDS } from './commands/index.js';
export type { CommandName } from './commands/index.js';
export type { CliIo, Command, CommandContext } from './context.js';
export {
  backendOptions,
  maxBatch,
  openModel,
  progressReporter,
  readModelManifest,
  requiredOption,
  requiredOutput,
  seedOption,
  showProgress,
} from './context.js';
export { UsageError, COMMON_OPTIONS, choiceOption, integerOption, stringOption } from './options.js';
export type { OptionSpec, OptionValues } from './options.js';
