#!/usr/bin/env node
/**
 * Runs a command under an RSS watchdog: polls /proc/PID/status (VmRSS) of the child every 20 ms, kills it with SIGKILL
 * once it passes the bound, and prints one JSON line: { peakRssMb, killed, code, signal, seconds, stderrTail }.
 *
 *   node scripts/memory-watch.mjs --limit-mb 1500 -- node packages/cli/dist/main.js compress ... --tile
 *
 * Linux only (reads /proc). Used by the bomb tests (packages/node/test/bombs.test.ts) and for the figures in
 * docs/limits.md.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const split = args.indexOf('--');
if (split < 0 || split === args.length - 1) {
  process.stderr.write('usage: memory-watch.mjs [--limit-mb N] [--interval-ms N] -- command [args...]\n');
  process.exit(64);
}
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i < split ? Number(args[i + 1]) : fallback;
};
const limitMb = option('--limit-mb', 3000);
const intervalMs = option('--interval-ms', 20);
const [command, ...rest] = args.slice(split + 1);

function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const started = process.hrtime.bigint();
const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
let peak = 0;
let killed = false;
let stderr = '';
let stdout = '';
child.stdout.on('data', (chunk) => (stdout = (stdout + chunk).slice(-4000)));
child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
const timer = setInterval(() => {
  const rss = rssMb(child.pid);
  peak = Math.max(peak, rss);
  if (rss > limitMb && !killed) {
    killed = true;
    child.kill('SIGKILL');
  }
}, intervalMs);
child.on('exit', (code, signal) => {
  clearInterval(timer);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ peakRssMb: Math.round(peak), limitMb, killed, code, signal, seconds: Math.round(seconds * 10) / 10, stdoutTail: stdout.slice(-1000), stderrTail: stderr.slice(-2000) })}\n`,
  );
});
