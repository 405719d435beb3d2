/**
 * WebDataset tar shards, through tar-stream: listing samples (members grouped by key), reading chosen members, and
 * writing latent shards. A member `dir/abc.latent.npy` belongs to the sample with key `dir/abc`, extension
 * `latent.npy` (the split WebDataset's loaders make: at the first dot of the file name).
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/** Image members a sample's image is taken from, in order of preference. */
export const WDS_IMAGE_EXTENSIONS = Object.freeze(['jpg', 'jpeg', 'png', 'webp'] as const);

/** One WebDataset sample as listed from a tar: its key and member names. */
export interface WdsSample {
  /** The sample's key (member name up to the first dot of its file name). */
  readonly key: string;
  /** Member names by extension (`jpg`, `json`, `latent.npy`, ...). */
  readonly members: Readonly<Record<string, string>>;
}

/**
 * Splits a member name into the WebDataset key and extension.
 *
 * @returns `null` for a name whose file name has no dot (no extension)
 */
export function splitMemberName(name: string): { key: string; extension: string } | null {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot <= slash + 1) return null;
  return { key: name.slice(0, dot), extension: name.slice(dot + 1).toLowerCase() };
}

/**
 * Lists the samples of a WebDataset tar in file order, reading headers only (member data is skipped).
 *
 * @param path - the tar file
 * @throws the file system's or tar-stream's error for an unreadable or malformed tar
 */
export async function listTarSamples(path: string): Promise<WdsSample[]> {
  const samples: { key: string; members: Record<string, string> }[] = [];
  const extract = tar.extract();
  const reading = pipeline(createReadStream(path), extract);
  for await (const entry of extract) {
    const split = entry.header.type === 'file' ? splitMemberName(entry.header.name) : null;
    if (split !== null) {
      const last = samples.at(-1);
      if (last?.key === split.key) last.members[split.extension] = entry.header.name;
      else samples.push({ key: split.key, members: { [split.extension]: entry.header.name } });
    }
    entry.resume();
  }
  await reading;
  return samples;
}

/**
 * Reads the named members of a tar in one pass, stopping once all are read.
 *
 * @param path - the tar file
 * @param wanted - member names
 * @returns their bytes by name; names not in the tar are absent
 * @throws the file system's or tar-stream's error for an unreadable or malformed tar
 */
export async function readTarMembers(path: string, wanted: ReadonlySet<string>): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const source = createReadStream(path);
  const extract = tar.extract();
  source.on('error', (error) => extract.destroy(error));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      if (wanted.has(entry.header.name)) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        found.set(entry.header.name, Buffer.concat(chunks));
        if (found.size === wanted.size) break;
      } else entry.resume();
    }
  } finally {
    source.destroy();
    extract.destroy();
  }
  return found;
}

/** A fixed modification time, so that the same content always gives the same tar bytes. */
const EPOCH = new Date(0);

/**
 * Writes members into a tar (ustar; mtime 0, mode 0644, no owner), in the given order.
 *
 * @param members - names and bytes
 * @returns the tar's bytes
 */
export async function packTar(members: readonly { readonly name: string; readonly data: Uint8Array }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const member of members) {
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        { name: member.name, size: member.data.length, mtime: EPOCH, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' },
        Buffer.from(member.data.buffer, member.data.byteOffset, member.data.byteLength),
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }
  pack.finalize();
  await collecting;
  return Buffer.concat(chunks);
}
