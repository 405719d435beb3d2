/**
 * The CLI flags of the resource limits (`--max-pixels`, ...), made from core's `LIMITS` table: one flag per limit
 * that has one, each taking a positive integer or `none`.
 */
import { DEFAULT_LIMITS, InvalidOptionError, LIMITS, resolveLimits } from '@onnx-vae/node';
import type { LimitName, LimitSpec, ResolvedLimits } from '@onnx-vae/node';

const FLAGGED = Object.entries(LIMITS as Readonly<Record<LimitName, LimitSpec>>).filter(([, spec]) => spec.flag !== null) as [LimitName, LimitSpec][];

/** The limit flags, in the form of the CLI's option tables. */
export const LIMIT_OPTIONS = Object.freeze(
  Object.fromEntries(
    FLAGGED.map(([name, spec]) => [
      spec.flag!.slice(2),
      { type: 'string', value: 'N|none', description: `limit ${name}, in ${spec.unit} (default ${spec.default}; see docs/limits.md)` } as const,
    ]),
  ),
);

/**
 * The limits set by the flags over the defaults.
 *
 * @throws {@link InvalidOptionError} for a value that is not a positive integer or `none`
 */
export function cliLimits(values: Readonly<Record<string, string | boolean | undefined>>): ResolvedLimits {
  const set: Record<string, number> = {};
  for (const [name, spec] of FLAGGED) {
    const option = spec.flag!.slice(2);
    const raw = values[option];
    if (raw === undefined) continue;
    const value = raw === 'none' ? Infinity : typeof raw === 'string' && /^\+?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!(value === Infinity || (Number.isSafeInteger(value) && value >= 1))) {
      throw new InvalidOptionError(option, `Expected ${spec.flag} to be a positive integer (${spec.unit}) or "none" but received ${JSON.stringify(raw)}.`);
    }
    set[name] = value;
  }
  return resolveLimits(set, DEFAULT_LIMITS);
}
