import { PURGE_BATCH, PurgeFailedError, deleteInBatches } from '../../src/store/retention.js';

/** The loop behind every retention purge (audit, accounting), without a database. */

test('deleteInBatches calls until a batch deletes nothing, and adds up what went', async () => {
  let left = PURGE_BATCH * 2 + 3;
  const limits: number[] = [];
  const removed = await deleteInBatches((limit) => {
    limits.push(limit);
    const n = Math.min(limit, left);
    left -= n;
    return n;
  });
  expect(removed).toBe(PURGE_BATCH * 2 + 3);
  expect(limits).toEqual([PURGE_BATCH, PURGE_BATCH, PURGE_BATCH, PURGE_BATCH]);
  expect(left).toBe(0);
});

test('deleteInBatches stops before its next batch once its signal is aborted, and never starts under an aborted one', async () => {
  const abort = new AbortController();
  let calls = 0;
  const purging = deleteInBatches(async () => {
    calls++;
    return PURGE_BATCH;
  }, abort.signal);
  abort.abort();
  expect(await purging).toBe(PURGE_BATCH);
  expect(calls).toBe(1);
  expect(await deleteInBatches(() => { throw new Error('must not run'); }, abort.signal)).toBe(0);
});

// FAILS before PurgeFailedError: a purge failing part of the way lost the count of what had gone.
test('a batch that fails rejects the purge with its error and what went before it', async () => {
  let calls = 0;
  const purging = deleteInBatches(() => {
    if (++calls === 3) throw new Error('disk I/O error');
    return PURGE_BATCH;
  });
  await expect(purging).rejects.toThrow(PurgeFailedError);
  await expect(purging).rejects.toMatchObject({ removed: PURGE_BATCH * 2, message: `disk I/O error (after ${PURGE_BATCH * 2} removed)` });
});

// FAILS with a loop that stops at a short batch: another purger (a second server, or the purge a
// reload has just stopped) took rows from under one batch, and the rest waited an hour.
test('a short batch is not taken for the end: the loop goes on until a batch deletes nothing', async () => {
  const batches = [PURGE_BATCH, 17, PURGE_BATCH, 4, 0];
  const removed = await deleteInBatches(() => batches.shift() ?? 0);
  expect(removed).toBe(PURGE_BATCH * 2 + 21);
  expect(batches).toEqual([]);
});
