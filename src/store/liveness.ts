/**
 * Whether the store answers at all: a cheap read through the same connection every aggregate uses.
 * The health endpoint asks it on each check and the metrics on each scrape.
 */
export interface StoreLiveness {
  /** Rejects when the store cannot be read. */
  check(): Promise<void>;
}

/**
 * One check in flight at a time: callers that ask while a check runs share its answer. An
 * unauthenticated `/healthz` flood then holds one store connection, not one per request, and
 * cannot crowd out the store's real work.
 */
export function sharedLiveness(inner: StoreLiveness): StoreLiveness {
  let running: Promise<void> | undefined;
  return {
    check() {
      running ??= inner.check().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}
