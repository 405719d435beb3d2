/**
 * The lifecycle of a {@link Vae}: the graph runs in progress, so that `dispose()` lets the runs already started
 * finish, refuses every later run with `DISPOSED`, and only then releases the sessions (onnxruntime-node fails a run
 * whose session is released while the run is still queued with "Session already disposed.").
 */
import type { BackendSession, DeviceTensor, RunOptions } from '../backend.js';
import { BackendError } from '../errors.js';
import type { VaeTensor } from '../tensor/tensor.js';

/** @internal */
export class Lifecycle {
  private disposing = false;
  private closed: Promise<void> | null = null;
  private readonly runs = new Set<Promise<unknown>>();

  /** @param modelName - for messages */
  constructor(private readonly modelName: string) {}

  /** @throws {@link BackendError} `DISPOSED` once `dispose()` has begun */
  assertUsable(): void {
    if (this.disposing) throw this.disposedError();
  }

  /**
   * A session whose runs are counted, and refused with `DISPOSED` once `dispose()` has begun; `null` (a graph the model
   * lacks) stays `null`. `runDevice` and `concurrency` are read from the session when asked: a lazy session has them
   * only once it is created.
   */
  guard(session: BackendSession | null): BackendSession | null {
    if (session === null) return null;
    const track = <T>(run: () => Promise<T>): Promise<T> => {
      if (this.disposing) return Promise.reject(this.disposedError());
      const pending = run();
      this.runs.add(pending);
      const forget = (): void => void this.runs.delete(pending);
      pending.then(forget, forget);
      return pending;
    };
    return {
      inputs: session.inputs,
      outputs: session.outputs,
      get concurrency() {
        return session.concurrency;
      },
      run: (feeds: Readonly<Record<string, VaeTensor>>, outputs: readonly string[], options?: RunOptions) => track(() => session.run(feeds, outputs, options)),
      get runDevice() {
        const runDevice = session.runDevice;
        return (
          runDevice &&
          ((feeds: Readonly<Record<string, VaeTensor | DeviceTensor>>, outputs: readonly string[]) => track(() => runDevice.call(session, feeds, outputs)))
        );
      },
      release: () => session.release(),
    };
  }

  /**
   * Begins disposal: later calls and graph runs are refused with `DISPOSED`; then, once the runs already started
   * have finished (at most one per call; `drain: false` where the sessions wait for their own runs, as the
   * micro-batching ones do after rejecting their queue), `release` runs. A second call returns the first's promise.
   */
  dispose(release: () => Promise<void>, drain: boolean): Promise<void> {
    if (this.closed === null) {
      this.disposing = true;
      this.closed = drain ? Promise.allSettled([...this.runs]).then(release) : release();
    }
    return this.closed;
  }

  private disposedError(): BackendError {
    return new BackendError('DISPOSED', `The VAE "${this.modelName}" was disposed; load it again with loadVae().`);
  }
}
