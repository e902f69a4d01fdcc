import { PURGE_BATCH, deleteInBatches } from '../../src/store/retention.js';

/** The loop behind every retention purge (audit, accounting), without a database. */

test('deleteInBatches calls until a batch comes back short, and adds up what went', async () => {
  let left = PURGE_BATCH * 2 + 3;
  const limits: number[] = [];
  const removed = await deleteInBatches((limit) => {
    limits.push(limit);
    const n = Math.min(limit, left);
    left -= n;
    return n;
  });
  expect(removed).toBe(PURGE_BATCH * 2 + 3);
  expect(limits).toEqual([PURGE_BATCH, PURGE_BATCH, PURGE_BATCH]);
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

test('a batch that fails rejects the purge with its error', async () => {
  await expect(deleteInBatches(() => { throw new Error('disk I/O error'); })).rejects.toThrow('disk I/O error');
});
