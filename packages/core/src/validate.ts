// Checks at the public boundary: small named predicates and one message format (as sharp's `lib/is.js`), so every
// option error reads `Expected "<option>" to be <what> but received <value>.` Inside the library, trust the types.
// (A line comment: a doc block here would attach to the import below, and its internal tag would strip the import.)
import { InvalidOptionError, describe } from './errors.js';

/** A non-negative safe integer. @internal */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A safe integer >= 1. @internal */
export function isPositiveInteger(value: unknown): value is number {
  return isCount(value) && value >= 1;
}

/** A plain object (not null, not an array). @internal */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The valid keys of a frozen option table, quoted and comma-separated: `"a", "b", "c"`. @internal */
export function choiceList(table: object): string {
  return Object.keys(table)
    .map((key) => `"${key}"`)
    .join(', ');
}

/**
 * The one message format for a wrong option: `Expected "<option>" to be <what> but received <value>.`
 *
 * @param hint - what to do, appended after a semicolon
 * @internal
 */
export function expectedMessage(option: string, what: string, received: unknown, hint?: string): string {
  return `Expected "${option}" to be ${what} but received ${describe(received)}${hint ? `; ${hint}` : ''}.`;
}

/** An {@link InvalidOptionError} in the one message format, for the runtime packages' own option checks. */
export function invalidOption(option: string, what: string, received: unknown, hint?: string): InvalidOptionError {
  return new InvalidOptionError(option, expectedMessage(option, what, received, hint));
}

/**
 * An option that must be one of a frozen table's keys.
 *
 * @param fallback - the value when `value` is undefined
 * @throws {@link InvalidOptionError} listing the valid values
 * @internal
 */
export function optionChoice<T extends string>(value: unknown, option: string, table: Readonly<Record<T, unknown>>, fallback: T): T;
export function optionChoice<T extends string>(value: unknown, option: string, table: Readonly<Record<T, unknown>>): T | undefined;
export function optionChoice<T extends string>(value: unknown, option: string, table: Readonly<Record<T, unknown>>, fallback?: T): T | undefined {
  const v = value ?? fallback;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !Object.hasOwn(table, v)) throw invalidOption(option, `one of ${choiceList(table)}`, value);
  return v as T;
}

/**
 * An option that must be a positive integer.
 *
 * @param fallback - the value when `value` is undefined
 * @throws {@link InvalidOptionError}
 * @internal
 */
export function positiveIntegerOption(value: unknown, option: string, fallback: number): number {
  const v = value ?? fallback;
  if (!isPositiveInteger(v)) throw invalidOption(option, 'a positive integer', value);
  return v;
}

/**
 * An optional callback option.
 *
 * @throws {@link InvalidOptionError} when it is given and not a function
 * @internal
 */
export function functionOption<F extends (...args: never[]) => unknown>(value: F | undefined, option: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalidOption(option, 'a function', value);
  return value;
}

/**
 * An optional boolean option.
 *
 * @throws {@link InvalidOptionError} when it is given and not a boolean
 */
export function booleanOption(value: unknown, option: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw invalidOption(option, 'true or false', value);
  return value;
}

/**
 * The options argument of a public function: `undefined` (the defaults) or an object, checked once at the top of
 * the function so that `null`, a number, a string or an array gives `INVALID_OPTION` rather than a `TypeError`.
 *
 * @param method - the function as the message names it, e.g. `'vae.encode()'`
 * @throws {@link InvalidOptionError}
 */
export function optionsObject(value: unknown, method: string): void {
  if (value !== undefined && !isPlainObject(value)) throw invalidOption('options', `an object (or undefined) for ${method}`, value);
}
