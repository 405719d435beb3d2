#!/usr/bin/env node
/**
 * Writes the table of resource limits in docs/limits.md from core's LIMITS (run after changing a limit):
 *
 *   pnpm build && node scripts/limits-table.mjs
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIMITS } from '../packages/core/dist/index.js';
import { writeDocBlock } from '../bench/stats.mjs';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');

function amount(value, unit) {
  const text = value.toLocaleString('en-US');
  if (unit === 'bytes' && value >= 2 ** 20) return `${text} (${value >= 2 ** 30 ? `${value / 2 ** 30} GiB` : `${value / 2 ** 20} MiB`})`;
  if (unit === 'pixels' && Number.isInteger(Math.sqrt(value))) return `${text} (${Math.sqrt(value)}²)`;
  return text;
}

const rows = Object.entries(LIMITS).map(
  ([name, spec]) =>
    `| \`${name}\` | ${amount(spec.default, spec.unit)} | ${spec.unit} | \`limits.${name}\`${spec.flag ? `, \`${spec.flag}\`` : ''} | ${spec.bounds.replaceAll('|', '\\|')} |`,
);
const table = ['| limit | default | unit | raised by | what it bounds |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
await writeDocBlock(join(ROOT, 'docs', 'limits.md'), 'limits-table', table, '# Resource limits');
