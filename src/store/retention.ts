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

/** Rows deleted per statement. */
export const PURGE_BATCH = 5000;

/** Runs `deleteBatch` (at most `limit` rows a call) until a call deletes fewer or `signal` aborts. */
export async function deleteInBatches(deleteBatch: (limit: number) => number | Promise<number>, signal?: AbortSignal): Promise<number> {
  let removed = 0;
  while (!signal?.aborted) {
    const n = await deleteBatch(PURGE_BATCH);
    removed += n;
    if (n < PURGE_BATCH) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return removed;
}
