/**
 * Deleting what is past its retention (`audit.retentionDays`, `accounting.retentionDays`): in
 * batches, because a year of a busy server is millions of rows and SQLite runs in the server's
 * thread, and stoppable, because a reload that keeps more must not see the old setting go on
 * deleting.
 */
export interface Retention {
  /**
   * Deletes the rows older than `before`, oldest first, in batches of PURGE_BATCH (other work runs
   * between them); resolves with how many went. An aborted `signal` stops it before its next batch
   * (a batch already sent to PostgreSQL still completes).
   */
  purgeBefore(before: Date, signal?: AbortSignal): Promise<number>;
}

/**
 * Rows deleted per statement. SQLite deletes in the server's thread: 1,000 accounting sessions took
 * 3–4 ms there, 5,000 took 15–40 ms, each a stall of every RADIUS request behind it (measured on
 * 200,000 rows; a WAL checkpoint now and then adds about 35 ms whatever the size).
 */
export const PURGE_BATCH = 1000;

/** A purge that failed part of the way: `removed` rows had gone by then. */
export class PurgeFailedError extends Error {
  constructor(readonly removed: number, cause: unknown) {
    super(`${cause instanceof Error ? cause.message : String(cause)} (after ${removed} removed)`, { cause });
    this.name = 'PurgeFailedError';
  }
}

/**
 * Runs `deleteBatch` (at most `limit` rows a call) until a call deletes nothing or `signal` aborts.
 * Not until a short batch: on PostgreSQL a purge of another server (or one a reload has just
 * stopped) may take rows from under a batch, which then comes back short with more left.
 */
export async function deleteInBatches(deleteBatch: (limit: number) => number | Promise<number>, signal?: AbortSignal): Promise<number> {
  let removed = 0;
  while (!signal?.aborted) {
    let n: number;
    try {
      n = await deleteBatch(PURGE_BATCH);
    } catch (err) {
      throw new PurgeFailedError(removed, err);
    }
    removed += n;
    if (n === 0) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return removed;
}
