/**
 * Command-line parsing for the `onnx-vae` CLI: option tables, `node:util` parseArgs with our own messages, and
 * value checks.
 */
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '@onnx-vae/node';
import { LIMIT_OPTIONS } from './limits.js';

/** One command-line option. */
export interface OptionSpec {
  /** `string` takes a value, `boolean` is a flag. */
  readonly type: 'string' | 'boolean';
  /** One-letter alias, e.g. `o` for `-o`. */
  readonly short?: string;
  /** Placeholder of the value in help, e.g. `N`. */
  readonly value?: string;
  /** One line of help. */
  readonly description: string;
}

/** Options every command takes. */
export const COMMON_OPTIONS = Object.freeze({
  device: { type: 'string', value: 'cpu|cuda', description: 'execution provider (default cpu; cuda falls back to cpu with a warning)' },
  strict: { type: 'boolean', description: 'with --device cuda: fail instead of falling back to the cpu' },
  preset: { type: 'string', value: 'NAME', description: 'VAE family of an export without vae.json (sd-1, sdxl, sd3, flux-1, flux-2-tiny, ...)' },
  threads: { type: 'string', value: 'N', description: 'threads inside one operator (onnxruntime intraOpNumThreads)' },
  'max-batch': { type: 'string', value: 'N', description: 'items per graph run and per progress step (default 256)' },
  progress: { type: 'boolean', description: 'show a progress bar on stderr even when it is not a terminal' },
  'no-progress': { type: 'boolean', description: 'never show a progress bar' },
  ...LIMIT_OPTIONS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} satisfies Record<string, OptionSpec>);

/** Option values as parsed: strings, `true` for flags, absent when not given. */
export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** A command line that does not fit the command's usage: the CLI prints the usage and exits with 2. */
export class UsageError extends Error {
  /** The command whose usage to print; `null` for the top level. */
  readonly command: string | null;

  /**
   * @param command - the command, or `null` for the top level
   * @param message - what is wrong
   */
  constructor(command: string | null, message: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/**
 * Parses a command's arguments with `node:util` parseArgs, reporting unknown options, missing values and values given
 * to flags as {@link UsageError}s.
 *
 * @param command - the command's name, for messages
 * @param args - the arguments after the command's name
 * @param options - every option the command takes
 * @returns the option values and the positional arguments
 * @throws {@link UsageError}
 */
export function parseCommandLine(
  command: string,
  args: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
): { values: OptionValues; positionals: string[] } {
  const config = Object.fromEntries(
    Object.entries(options).map(([name, spec]) => [name, spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short }]),
  );
  const { values, positionals, tokens } = parseArgs({ args: [...args], options: config, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (spec === undefined || (token.rawName.length === 2 && spec.short !== token.rawName[1])) {
      throw new UsageError(command, `unknown option ${token.rawName} for "${command}".`);
    }
    if (spec.type === 'string' && token.value === undefined)
      throw new UsageError(command, `option ${token.rawName} needs a value (${token.rawName} ${spec.value ?? 'VALUE'}).`);
    if (spec.type === 'boolean' && token.value !== undefined)
      throw new UsageError(command, `option ${token.rawName} takes no value but was given "${token.value}".`);
  }
  return { values: values as OptionValues, positionals };
}

/**
 * Reads an integer option.
 *
 * @param values - parsed option values
 * @param name - the option's long name, without dashes
 * @param minimum - the smallest allowed value
 * @param fallback - the value when the option is absent
 * @throws {@link InvalidOptionError} for a value that is not an integer >= minimum
 */
export function integerOption(values: OptionValues, name: string, minimum: number): number | undefined;
export function integerOption(values: OptionValues, name: string, minimum: number, fallback: number): number;
export function integerOption(values: OptionValues, name: string, minimum: number, fallback?: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidOptionError(name, `Expected --${name} to be an integer >= ${minimum} but received ${JSON.stringify(raw)}.`);
  }
  return value;
}

/**
 * Reads a string option that must be one of a table's keys.
 *
 * @param fallback - the value when the option is absent (`undefined` when not given)
 * @throws {@link InvalidOptionError} listing the valid values
 */
export function choiceOption<T extends string>(values: OptionValues, name: string, table: Readonly<Record<T, unknown>>): T | undefined;
export function choiceOption<T extends string>(values: OptionValues, name: string, table: Readonly<Record<T, unknown>>, fallback: T): T;
export function choiceOption<T extends string>(values: OptionValues, name: string, table: Readonly<Record<T, unknown>>, fallback?: T): T | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !Object.hasOwn(table, raw)) {
    throw new InvalidOptionError(name, `Expected --${name} to be one of ${Object.keys(table).join(', ')} but received ${JSON.stringify(raw)}.`);
  }
  return raw as T;
}

/** Reads a string option; `undefined` when absent. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

/**
 * Renders an options table for help text, one option per line.
 *
 * @param options - the options to list
 */
export function formatOptions(options: Readonly<Record<string, OptionSpec>>): string {
  const rows = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`).join('\n');
}
