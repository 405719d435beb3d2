/**
 * Sessions created when a graph is first run, so a VAE used for decoding only never holds its encoder (on
 * onnxruntime-node, 420-470 MiB for Stable Diffusion's). The graph's inputs and outputs are read from its file at
 * load (`readOnnxGraphInfo`), so the manifest is still checked against both graphs before any session exists.
 */
import type { Backend, BackendSession, DeviceTensor, ModelSource, RunOptions } from '../backend.js';
import { BackendError, InvalidOptionError, describe } from '../errors.js';
import { bytesFile, readOnnxGraphInfo } from '../formats/graph-info.js';
import type { RandomAccessFile } from '../formats/graph-info.js';
import type { GraphInfo, TensorInfo } from '../manifest/types.js';
import type { VaeTensor } from '../tensor/tensor.js';

/** The two graphs of a VAE. */
export const GRAPHS = Object.freeze({
  /** x -> posterior parameters. */
  encoder: 'encoder',
  /** z -> x. */
  decoder: 'decoder',
} as const);
/** One of {@link GRAPHS}. */
export type GraphRole = keyof typeof GRAPHS;

/**
 * Checks a `preload` option: a list of graph names, without repeats.
 *
 * @throws {@link InvalidOptionError} listing the valid values
 * @internal
 */
export function checkPreload(value: unknown, fallback: readonly GraphRole[]): readonly GraphRole[] {
  if (value === undefined) return fallback;
  const ok = Array.isArray(value) && value.every((v) => typeof v === 'string' && Object.hasOwn(GRAPHS, v)) && new Set(value).size === value.length;
  if (!ok)
    throw new InvalidOptionError(
      'preload',
      `Expected "preload" to be a list of graphs from "encoder", "decoder" (e.g. [] or ["decoder"]) but received ${describe(value)}.`,
    );
  return value as GraphRole[];
}

/**
 * A graph whose session is created by its first run (or {@link LazySession.open}), once, however many runs wait for
 * it. Its inputs and outputs are known before: read from the file.
 *
 * `runDevice` and `concurrency` are those of the real session once it exists (before: none, so the first call takes
 * the CPU path, and a batching wrapper reads the concurrency when it schedules).
 *
 * @internal
 */
export class LazySession implements BackendSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  private session: BackendSession | null = null;
  private opening: Promise<BackendSession> | null = null;
  private released = false;
  private check: ((session: BackendSession) => Promise<unknown>) | null = null;

  /**
   * @param info - the graph's inputs and outputs
   * @param create - creates the real session
   */
  constructor(
    info: GraphInfo,
    private readonly create: () => Promise<BackendSession>,
  ) {
    this.inputs = info.inputs;
    this.outputs = info.outputs;
  }

  /** Whether the real session exists. */
  get opened(): boolean {
    return this.session !== null;
  }

  /** The real session's concurrency, once it exists. */
  get concurrency(): number | undefined {
    return this.session?.concurrency;
  }

  /** The real session's device-memory runs, once it exists and has them. */
  get runDevice(): BackendSession['runDevice'] {
    const session = this.session;
    return (
      session?.runDevice && ((feeds: Readonly<Record<string, VaeTensor | DeviceTensor>>, outputs: readonly string[]) => session.runDevice!(feeds, outputs))
    );
  }

  /**
   * Runs `check` on the real session when it is created, before any run uses it; a check that throws releases the
   * session and fails the call (and the next call tries again). For load-time checks that need a run.
   */
  checkOnOpen(check: (session: BackendSession) => Promise<unknown>): void {
    this.check = check;
  }

  /** The real session, created now if it is not yet. A failed creation is retried by the next call. */
  open(): Promise<BackendSession> {
    if (this.released) return Promise.reject(new BackendError('DISPOSED', 'This session was released; load the VAE again.'));
    if (this.session) return Promise.resolve(this.session);
    this.opening ??= this.create().then(
      async (session) => {
        this.opening = null;
        if (this.check) {
          try {
            await this.check(session);
          } catch (error) {
            await session.release();
            throw error;
          }
        }
        if (this.released) {
          await session.release();
          throw new BackendError('DISPOSED', 'This session was released while it was being created; load the VAE again.');
        }
        this.session = session;
        return session;
      },
      (error: unknown) => {
        this.opening = null;
        throw error;
      },
    );
    return this.opening;
  }

  run(feeds: Readonly<Record<string, VaeTensor>>, outputs: readonly string[], options?: RunOptions): Promise<Record<string, VaeTensor>> {
    const session = this.session;
    if (session) return session.run(feeds, outputs, options);
    return this.open().then((s) => s.run(feeds, outputs, options));
  }

  async release(): Promise<void> {
    this.released = true;
    const session = this.session;
    this.session = null;
    if (session) await session.release();
  }
}

/** Where {@link openGraph} finds a graph, and how it reads one given by path. */
export interface GraphSource {
  readonly backend: Backend;
  readonly role: GraphRole;
  readonly source: ModelSource;
  /** Opens a path for reading its inputs and outputs; without it a path source is opened at load. */
  readonly openFile?: (path: string) => Promise<RandomAccessFile>;
}

/**
 * A graph's session: created now when `preload` is true or when its inputs and outputs cannot be read without one
 * (a path and no `openFile`); else a {@link LazySession}.
 *
 * @internal
 */
export async function openGraph(graph: GraphSource, preload: boolean): Promise<BackendSession> {
  const { backend, role, source } = graph;
  const create = () => backend.createSession(source, role);
  if (preload) return create();
  let file: RandomAccessFile;
  if ('bytes' in source) file = bytesFile(source.bytes);
  else if (graph.openFile) file = await graph.openFile(source.path);
  else return create();
  try {
    return new LazySession(await readOnnxGraphInfo(file, 'path' in source ? source.path : `${role} bytes`), create);
  } finally {
    await file.close();
  }
}
