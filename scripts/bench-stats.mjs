// What the benchmark scripts share: order statistics and the machine line written next to every table.
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
  return [`${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${arch()}, Node ${process.version}`, ...extra].join(', ');
}
