import { randomBytes } from 'node:crypto';
import { readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** Temporary files of {@link writeFileAtomic}: `.<target>.<pid>.<12 hex digits>.tmp`. */
const TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
const cleaned = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that a killed writer (SIGKILL, power loss) left in `folder`: those of our pattern
 * whose process is gone. Once per folder per process.
 */
async function removeStaleTemporaries(folder: string): Promise<void> {
  if (cleaned.has(folder)) return;
  cleaned.add(folder);
  let entries: string[];
  try {
    entries = await readdir(folder);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = TEMPORARY.exec(entry);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isRunning(pid)) continue;
    await unlink(join(folder, entry)).catch(() => undefined);
  }
}

/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder (`.<name>.<pid>.<random>.tmp`),
 * which is then renamed over `path`, so a failure never leaves a half-written file at `path`. A writer killed
 * mid-write (SIGKILL) leaves its temporary file; the next write into that folder removes every such file whose
 * process is gone.
 *
 * @throws the file system's error (e.g. `ENOENT` when the folder does not exist); the temporary file is removed
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await removeStaleTemporaries(dirname(resolve(path)));
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, data, { flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
