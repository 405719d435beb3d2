/**
 * Small named predicates for options and backend metadata, shared by the runtime adapters (one copy, used at the
 * public boundary only).
 *
 * @internal
 */
import { InvalidOptionError, describe } from './errors.js';
import type { TensorInfo } from './manifest.js';

/**
 * An option that must be one of a frozen table's keys.
 *
 * @throws {@link InvalidOptionError} listing the valid values
 * @internal
 */
export function optionChoice<T extends string>(value: unknown, option: string, table: Readonly<Record<T, string>>, fallback: T): T {
  const v = value ?? fallback;
  if (typeof v !== 'string' || !Object.hasOwn(table, v)) {
    throw new InvalidOptionError(option, `Expected "${option}" to be one of ${Object.keys(table).map((k) => `"${k}"`).join(', ')} but received ${describe(value)}.`);
  }
  return v as T;
}

/**
 * What onnxruntime (node or web) reports about a graph's inputs or outputs, as core's {@link TensorInfo}.
 *
 * @internal
 */
export function tensorInfoFromOrt(metadata: readonly { readonly name: string; readonly isTensor: boolean; readonly type?: string; readonly shape?: readonly (number | string)[] }[]): TensorInfo[] {
  return metadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...(m.shape ?? [])] } : { name: m.name, type: 'non-tensor' }));
}
