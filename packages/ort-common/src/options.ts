/**
 * The option tables both onnxruntime adapters take, and the small named checks of their options (used at the public
 * boundary only).
 */
import { InvalidOptionError, describe } from '@onnx-vae/core';

/** onnxruntime graph optimisation levels (both runtime adapters take them). */
export const GRAPH_OPTIMIZATION_LEVELS = Object.freeze({ disabled: 'disabled', basic: 'basic', extended: 'extended', all: 'all' } as const);
/** One of {@link GRAPH_OPTIMIZATION_LEVELS}. */
export type GraphOptimizationLevel = keyof typeof GRAPH_OPTIMIZATION_LEVELS;

/**
 * An option that must be one of a frozen table's keys.
 *
 * @param fallback - the value when the option is left out
 * @throws {@link InvalidOptionError} listing the valid values
 */
export function optionChoice<T extends string>(value: unknown, option: string, table: Readonly<Record<T, string>>, fallback: T): T {
  const v = value ?? fallback;
  if (typeof v !== 'string' || !Object.hasOwn(table, v)) {
    throw new InvalidOptionError(
      option,
      `Expected "${option}" to be one of ${Object.keys(table)
        .map((k) => `"${k}"`)
        .join(', ')} but received ${describe(value)}.`,
    );
  }
  return v as T;
}

/**
 * An optional integer option of at least `minimum` (0 for counts that may be 0, e.g. onnxruntime's "its choice").
 *
 * @throws {@link InvalidOptionError} for anything else
 */
export function optionalInteger(value: unknown, option: string, minimum: 0 | 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidOptionError(
      option,
      `Expected "${option}" to be a ${minimum === 0 ? 'non-negative' : 'positive'} integer but received ${describe(value)}.`,
    );
  }
  return value;
}

/**
 * An optional boolean option.
 *
 * @throws {@link InvalidOptionError} for anything else
 */
export function optionalBoolean(value: unknown, option: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean')
    throw new InvalidOptionError(option, `Expected "${option}" to be true or false but received ${describe(value)}.`);
  return value;
}
