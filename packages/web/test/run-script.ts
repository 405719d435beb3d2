// Runs one of the repository's browser runners (packages/web/test/browser/run.mjs, packages/web/test/bundlers/run.mjs) with
// `--json FILE` and hands back what it wrote and printed, for the jest wrappers of `pnpm test`.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');
export const CHROMIUM = '/usr/bin/chromium';

/**
 * @param script - the runner, relative to the repository
 * @param timeoutMs - when to kill it
 * @returns its JSON report (`{}` when it wrote none) and the tail of its output
 */
export async function runJsonScript(script: string, timeoutMs: number): Promise<{ report: Record<string, unknown>; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-vae-runner-'));
  const file = join(dir, 'results.json');
  try {
    const output = await new Promise<string>((resolve) => {
      execFile(process.execPath, [join(ROOT, script), '--json', file], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 }, (_error, stdout, stderr) =>
        resolve(`${stdout}${stderr}`),
      );
    });
    return { report: existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}, output: output.slice(-4000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
