// What the measurement scripts share: order statistics, the machine line written next to every table, and the
// writing of their blocks into docs/.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { arch, cpus, platform, totalmem } from 'node:os';

/** The median (the mean of the two middle values for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The q-quantile, nearest rank from below. */
export function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** CPU, cores, memory, OS and Node version, then `extra` (runtime versions, settings). */
export function machineLine(...extra) {
  return [
    `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${arch()}, Node ${process.version}`,
    ...extra,
  ].join(', ');
}

/**
 * Replaces the block between `<!-- name -->` and `<!-- /name -->` in a docs file with `body`, appending it (to a new
 * file that starts with `title`) when it is missing.
 */
export async function writeDocBlock(path, name, body, title) {
  const block = `<!-- ${name} -->\n${body}\n<!-- /${name} -->`;
  const doc = existsSync(path) ? await readFile(path, 'utf8') : `${title}\n`;
  const pattern = new RegExp(`<!-- ${name} -->[\\s\\S]*<!-- /${name} -->`);
  await writeFile(path, pattern.test(doc) ? doc.replace(pattern, () => block) : `${doc.trimEnd()}\n\n${block}\n`);
  console.log(`\nwrote ${name} in ${path}`);
}
