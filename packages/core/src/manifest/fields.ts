/**
 * Readers for the fields of a manifest's JSON: each checks one field and fails with `MANIFEST_INVALID` naming it.
 * Used by the manifest parser and by each likelihood's section parser.
 *
 * @internal
 */
import { ManifestError, describe } from '../errors.js';
import type { Dim } from './types.js';

/** A JSON object of the manifest. */
export type Json = Record<string, unknown>;

/** Throws `MANIFEST_INVALID` naming `field`. */
export function fail(field: string, message: string): never {
  throw new ManifestError('MANIFEST_INVALID', field, `Invalid manifest: ${field ? `"${field}" ` : ''}${message}`);
}

/** An object whose keys are all in `allowed`. */
export function object(value: unknown, field: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, `must be an object but is ${describe(value)}.`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      fail(field ? `${field}.${key}` : key, `is not a known field; the fields of ${field || 'the manifest'} are ${allowed.join(', ')}.`);
    }
  }
  return value as Json;
}

/** A non-empty string field. */
export function string(parent: Json, key: string, field: string): string {
  const value = parent[key];
  if (typeof value !== 'string' || value.length === 0) fail(`${field}.${key}`.replace(/^\./, ''), `must be a non-empty string but is ${describe(value)}.`);
  return value;
}

/** A path inside the model folder (no absolute paths, no `..`). */
export function fileName(parent: Json, key: string, field: string): string {
  const value = string(parent, key, field);
  if (value.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(value) || value.split(/[\\/]/).includes('..')) {
    fail(`${field}.${key}`, `must be a path inside the model folder (no absolute paths, no "..") but is ${describe(value)}.`);
  }
  return value;
}

/** A field that is one of a frozen table's keys, or `fallback` when absent. */
export function choice<T extends string>(parent: Json, key: string, field: string, table: Readonly<Record<T, string>>, fallback?: T): T {
  const value = parent[key] ?? fallback;
  const options = Object.keys(table);
  if (typeof value !== 'string' || !options.includes(value)) {
    fail(`${field}.${key}`, `must be one of ${options.map((o) => `"${o}"`).join(', ')} but is ${describe(value)}.`);
  }
  return value as T;
}

/** A finite number field, or `fallback` when absent. */
export function finiteNumber(parent: Json, key: string, field: string, fallback?: number): number {
  const value = parent[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${field}.${key}`, `must be a finite number but is ${describe(value)}.`);
  return value;
}

/** A positive integer field. */
export function positiveInteger(parent: Json, key: string, field: string): number {
  const value = parent[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) fail(`${field}.${key}`, `must be a positive integer but is ${describe(value)}.`);
  return value;
}

/** A non-empty list of positive integers or `null`s. */
export function shape(parent: Json, key: string, field: string): Dim[] {
  const value = parent[key];
  if (!Array.isArray(value) || value.length === 0 || !value.every((d) => d === null || (Number.isInteger(d) && d > 0))) {
    fail(`${field}.${key}`, `must be a non-empty list of positive integers (or null for a size the input decides) but is ${describe(value)}.`);
  }
  return value as Dim[];
}

/** Freezes an object and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
