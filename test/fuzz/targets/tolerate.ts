/**
 * Runs `fn` and swallows only the errors `expected` accepts, so one target can push a single input
 * through several decoders (each attribute, each profile) and still let any other exception through
 * as a crash.
 */
export function tolerate<T>(expected: (err: unknown) => boolean, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (expected(err)) return undefined;
    throw err;
  }
}

export async function tolerateAsync<T>(expected: (err: unknown) => boolean, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (expected(err)) return undefined;
    throw err;
  }
}
