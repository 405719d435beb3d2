import type { Backend, BackendSession } from '../backend.js';

/**
 * What {@link wrapBackend} changes of a session: `run` and `release` default to the inner session's; `runDevice` is
 * there only when given (a wrapped session is a plain CPU session unless the test makes it more).
 */
export type SessionOverrides = Partial<Pick<BackendSession, 'run' | 'runDevice' | 'release'>>;

/**
 * A backend whose sessions are another backend's with some methods replaced: a run that takes longer, fails on a
 * marked item, keeps outputs "on the device", logs its release. For tests of what the `Vae` does around its
 * sessions (dispose with runs in flight, batch failures, device paths) with the real sessions underneath.
 *
 * @param inner - the backend that creates the real sessions
 * @param name - the wrapped backend's name
 * @param overrides - per created session: the methods to replace (they may call the inner session)
 * @example
 * const slow = wrapBackend(new MockBackend(model), 'slow mock', (session) => ({
 *   run: async (feeds, outputs) => (await delay(50), session.run(feeds, outputs)),
 * }));
 */
export function wrapBackend(
  inner: Pick<Backend, 'createSession'>,
  name: string,
  overrides: (session: BackendSession, role: 'encoder' | 'decoder') => SessionOverrides,
): Backend {
  return {
    specificationVersion: 'v1',
    name,
    async createSession(source, role) {
      const session = await inner.createSession(source, role);
      const replaced = overrides(session, role);
      const wrapped: BackendSession = {
        inputs: session.inputs,
        outputs: session.outputs,
        run: replaced.run ?? ((feeds, outputs, options) => session.run(feeds, outputs, options)),
        release: replaced.release ?? (() => session.release()),
      };
      return replaced.runDevice ? { ...wrapped, runDevice: replaced.runDevice } : wrapped;
    },
  };
}
