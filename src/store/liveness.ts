/**
 * Whether the store answers at all: a cheap read through the same connection every aggregate uses.
 * The health endpoint asks it on each check and the metrics on each scrape.
 */
export interface StoreLiveness {
  /** Rejects when the store cannot be read. */
  check(): Promise<void>;
}
