/**
 * One running thing (an emulator, a gateway stack) shared by the tests of a file, or of the `describe`
 * block that asks for it: started in a `beforeAll`, stopped in an `afterAll`, and handed out at once, as
 * a stand-in that forwards to it. The tests keep writing `stack.graphql(...)` and `emulator.reset()`
 * as if they held it themselves, and no file repeats the start and stop hooks.
 */
import { afterAll, beforeAll } from '@jest/globals';

/**
 * Registers the hooks and returns the stand-in. It forwards every property read (methods bound to the
 * real object) once `start` has resolved; read before that (while Jest collects the tests, outside any
 * test or hook) it throws, naming `what`.
 */
export function startedForFile<T extends object>(what: string, start: () => Promise<T>, stop: (started: T) => Promise<void>): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    if (started) await stop(started);
  });
  return new Proxy({} as T, {
    get(_target, key) {
      // Not a promise: `await` or a promise resolved with the stand-in must not look for `then` on it.
      if (key === 'then') return undefined;
      if (started === undefined) throw new Error(`${what} is started in beforeAll: use it in a test or a hook`);
      const value: unknown = Reflect.get(started, key, started);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}
