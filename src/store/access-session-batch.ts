/**
 * The access-session records of both stores, written behind the Access-Accept. A record is only
 * what a later removal needs to send a Disconnect-Request (store/access-sessions.ts), so no Accept
 * waits for it: `record` puts it in a queue and returns, and one writer at a time writes the queue
 * in batches, one transaction per ACCESS_SESSION_FLUSH_MS or ACCESS_SESSION_BATCH records. A
 * commit of its own cost each Accept about 22 µs of CPU on SQLite, a batched upsert about 7
 * (2026-12-06, this VM); on PostgreSQL one write in flight means a table that is locked or slow
 * holds one pool connection, not one per Accept (which drained the pool and held every Accept up
 * to the statement timeout).
 *
 * Reads and removals in this process see the waiting records; another process (the CLI, a second
 * server) sees a record once its batch is written. A batch that cannot be written (the database
 * locked past its busy or statement timeout, unreachable, a full disk) waits and is tried again
 * after ACCESS_SESSION_RETRY_FIRST_MS, doubling up to ACCESS_SESSION_RETRY_MAX_MS, logged once per
 * LOG_WINDOW_MS. At most ACCESS_SESSION_MAX_PENDING records wait; beyond that the oldest are dropped,
 * counted and warned about (a later Accept is the session a removal would end). A crash or a stop
 * that cannot write them in time loses what waits: a lost record only means a later removal cannot
 * send a Disconnect-Request.
 */
import type { Log } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { AccessSession, AccessSessionStore } from './access-sessions.js';

/** Records waiting for the next batch are written at most this long after the first of them. */
export const ACCESS_SESSION_FLUSH_MS = 50;
/** A batch this large is written at once; no write carries more. */
export const ACCESS_SESSION_BATCH = 64;
/** While writes fail, at most this many records wait (the oldest go first). */
export const ACCESS_SESSION_MAX_PENDING = 4096;
/**
 * The wait after a failed write, doubled after each further failure up to the cap. On SQLite each
 * attempt under another process's lock holds the event loop for the busy timeout (250 ms,
 * sqlite/database.ts): at the cap that is 5 % of the time, where a retry every 50 ms behind a
 * 5 s busy timeout had held it 99 %. Once the lock is gone the waiting records are written within
 * the cap, and reads here never waited for them.
 */
export const ACCESS_SESSION_RETRY_FIRST_MS = 100;
export const ACCESS_SESSION_RETRY_MAX_MS = 5000;
/** How long closing waits for the waiting records to be written. */
export const ACCESS_SESSION_CLOSE_MS = 5000;
/** At most one error line about failed writes, and one warning about dropped records, per window. */
const LOG_WINDOW_MS = 10_000;

/** What a database does for the batched store: the table as stored, and one batch written. */
export interface AccessSessionTable {
  /**
   * Writes every session in one transaction (distinct identities): each an upsert that never
   * replaces a later Accept, whichever server wrote that.
   */
  write(sessions: readonly AccessSession[]): Promise<void>;
  get(identity: string): Promise<AccessSession | undefined>;
  /** The stored rows whose last Accept rested on the device: their identities and Accepts. */
  acceptsOfDevice(deviceId: string): Promise<{ identity: string; acceptedAt: Date }[]>;
  remove(identity: string, acceptedAt?: Date): Promise<boolean>;
}

/** Calls `fn` after `ms`; the result cancels it. Tests hand in their own to see the waits. */
export type Schedule = (fn: () => void, ms: number) => () => void;

const realSchedule: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms).unref();
  return () => clearTimeout(timer);
};

export interface AccessSessionBatchStats {
  /** Records waiting to be written (a batch being written included). */
  waiting: number;
  /** Records dropped because ACCESS_SESSION_MAX_PENDING were waiting, since the store opened. */
  dropped: number;
  /** Failed writes since the last one that succeeded. */
  failures: number;
}

export class BatchedAccessSessionStore implements AccessSessionStore {
  /** Latest record per identity, not yet written, oldest Accept first. */
  private pending = new Map<string, AccessSession>();
  /** The batch being written, and its write (which never rejects). */
  private current: { batch: readonly AccessSession[]; done: Promise<void> } | undefined;
  private cancelTimer: (() => void) | undefined;
  private failures = 0;
  private dropped = 0;
  private closed = false;
  /** Past closing's deadline: nothing is written any more. */
  private stopped = false;
  private readonly limiter = new LogLimiter(LOG_WINDOW_MS);

  constructor(private readonly table: AccessSessionTable, private readonly log: Log, private readonly schedule: Schedule = realSchedule) {}

  /** Queues the record and returns: its write, and that write's failure, are the writer's. */
  async record(s: AccessSession): Promise<void> {
    if (this.closed) throw new Error('the access-session store is closed');
    // Re-inserted so that the map stays in the order of the latest Accepts.
    this.pending.delete(s.identity);
    this.pending.set(s.identity, s);
    if (this.pending.size > ACCESS_SESSION_MAX_PENDING) this.dropOldest();
    // The write under way schedules what waits when it ends.
    if (this.current) return;
    if (this.failures > 0) {
      // Written no sooner than the retry after the last failure: a full batch does not cut the wait short.
      if (!this.cancelTimer) this.writeSoon(this.retryDelay());
    } else if (this.pending.size >= ACCESS_SESSION_BATCH) {
      this.writeSoon(0);
    } else if (!this.cancelTimer) {
      this.writeSoon(ACCESS_SESSION_FLUSH_MS);
    }
  }

  async get(identity: string): Promise<AccessSession | undefined> {
    const waiting = this.pending.get(identity);
    const stored = await this.table.get(identity);
    // Another server may have written a later Accept than the one waiting here.
    return waiting && (!stored || waiting.acceptedAt >= stored.acceptedAt) ? waiting : stored;
  }

  async identitiesOfDevice(deviceId: string): Promise<string[]> {
    const found = new Set<string>();
    // A stored row whose identity has a later Accept waiting here is that Accept's, device or not.
    for (const r of await this.table.acceptsOfDevice(deviceId)) {
      const waiting = this.pending.get(r.identity);
      if (!waiting || waiting.acceptedAt < r.acceptedAt) found.add(r.identity);
    }
    // A waiting record counts unless another server has written a later Accept of the identity.
    for (const w of [...this.pending.values()]) {
      if (w.deviceId !== deviceId) continue;
      const stored = await this.table.get(w.identity);
      if (!stored || w.acceptedAt >= stored.acceptedAt) found.add(w.identity);
    }
    return [...found];
  }

  async remove(identity: string, acceptedAt?: Date): Promise<boolean> {
    const w = this.pending.get(identity);
    const waiting = w !== undefined && (acceptedAt === undefined || w.acceptedAt.getTime() === acceptedAt.getTime()) && this.pending.delete(identity);
    // A batch being written with this identity would bring the row back after the delete.
    const current = this.current;
    if (current?.batch.some((s) => s.identity === identity)) await current.done;
    return (await this.table.remove(identity, acceptedAt)) || waiting;
  }

  get stats(): AccessSessionBatchStats {
    return { waiting: this.pending.size, dropped: this.dropped, failures: this.failures };
  }

  /**
   * Writes what waits now, batch after batch, without the flush interval or a retry's wait;
   * resolves when none waits or a write has failed (the retry is then scheduled as usual).
   */
  async flush(): Promise<void> {
    if (this.current) await this.current.done;
    while (this.pending.size > 0 && !this.stopped) {
      if (!(await this.writeBatch())) return;
    }
  }

  /**
   * No more records; the waiting ones are written, retried as usual, for at most `deadlineMs`.
   * What is left then is logged and lost. A write still in flight at the deadline is left to
   * finish or fail on its own (on PostgreSQL within the statement timeout).
   */
  async close(deadlineMs = ACCESS_SESSION_CLOSE_MS): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const end = Date.now() + deadlineMs;
    // The flush interval or a retry's wait is not waited out.
    if (!this.current && this.pending.size > 0) void this.writeBatch();
    while (this.pending.size > 0 || this.current) {
      const left = end - Date.now();
      if (left <= 0) break;
      // Not unref'd: a stopping server has closed its sockets, and the writer's own timers would
      // not keep the process alive until the records are written.
      const tick = new Promise<void>((resolve) => setTimeout(resolve, Math.min(left, 20)));
      await Promise.race([this.current?.done ?? tick, tick]);
    }
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.pending.size > 0) this.log.error({ unwritten: this.pending.size, failures: this.failures }, 'accepted sessions not written before the store closed: lost (a removal cannot disconnect them)');
  }

  private dropOldest(): void {
    for (const identity of this.pending.keys()) {
      if (this.pending.size <= ACCESS_SESSION_MAX_PENDING) break;
      this.pending.delete(identity);
      this.dropped++;
    }
    this.limiter.warn(this.log, 'dropped', { dropped: this.dropped, waiting: this.pending.size }, 'accepted sessions waiting for the database past the bound: the oldest dropped (a removal cannot disconnect them)');
  }

  private writeSoon(ms: number): void {
    this.cancelTimer?.();
    this.cancelTimer = this.schedule(() => {
      this.cancelTimer = undefined;
      void this.writeBatch();
    }, ms);
  }

  /** Writes the oldest waiting batch, unless a write is under way; then schedules what comes next. Never rejects. */
  private async writeBatch(): Promise<boolean> {
    if (this.current) {
      await this.current.done;
      return this.failures === 0;
    }
    if (this.pending.size === 0 || this.stopped) return true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const batch: AccessSession[] = [];
    for (const s of this.pending.values()) {
      batch.push(s);
      if (batch.length === ACCESS_SESSION_BATCH) break;
    }
    let ok = false;
    const done = (async () => {
      try {
        await this.table.write(batch);
        ok = true;
      } catch (err) {
        this.failed(err instanceof Error ? err.message : String(err));
      }
    })();
    this.current = { batch, done };
    await done;
    this.current = undefined;
    if (ok) this.written(batch);
    this.next();
    return ok;
  }

  private written(batch: readonly AccessSession[]): void {
    // A record that replaced one of the batch meanwhile still waits.
    for (const s of batch) if (this.pending.get(s.identity) === s) this.pending.delete(s.identity);
    if (this.failures > 0) this.log.info({ failures: this.failures, waiting: this.pending.size }, 'accepted sessions written again');
    this.failures = 0;
  }

  private failed(reason: string): void {
    this.failures++;
    const suppressed = this.limiter.admit('failed');
    if (suppressed === undefined) return;
    this.log.error(
      { err: reason, waiting: this.pending.size, failures: this.failures, retryInMs: this.retryDelay(), ...(suppressed > 0 ? { suppressed } : {}) },
      'cannot write the accepted sessions; they wait and are tried again',
    );
  }

  private retryDelay(): number {
    return Math.min(ACCESS_SESSION_RETRY_MAX_MS, ACCESS_SESSION_RETRY_FIRST_MS * 2 ** Math.min(this.failures - 1, 16));
  }

  private next(): void {
    if (this.pending.size === 0 || this.stopped || this.current) return;
    if (this.failures > 0) this.writeSoon(this.retryDelay());
    else if (this.closed || this.pending.size >= ACCESS_SESSION_BATCH) this.writeSoon(0);
    else this.writeSoon(ACCESS_SESSION_FLUSH_MS);
  }
}
