import type { AuditEntry, AuditStore } from '../audit.js';
import { deleteInBatches, type Retention } from '../retention.js';
import type { Log } from '../../util/log.js';
import { pgText, sqlState, type PostgresDatabase, type SqlValue } from './database.js';

export interface PostgresAuditOptions {
  /** Entries waiting for the database at most; beyond it new ones are dropped (and counted in the log). */
  maxQueued?: number;
  /**
   * Octets of entry text (event, subject, detail as UTF-8, plus a fixed allowance per entry) waiting
   * at most; an entry that would pass it is dropped and counted like one past `maxQueued`. Entries
   * carry device-chosen text, so a count alone would not bound the memory they hold.
   */
  maxQueuedOctets?: number;
  /** Entries written per INSERT at most. */
  batch?: number;
  /** Pause after a failed write before the next attempt. */
  retryMs?: number;
}

/**
 * The audit trail on PostgreSQL. `append` is called from protocol paths that must not wait for a
 * network round trip (AuditStore), so entries are queued and written by one writer, in order, in
 * batches. A failed write is logged and retried with the same entries; while the database stays
 * away the queue is bounded in entries and in octets, and what it had to drop is logged with its
 * count. Entries still queued
 * when the process dies are lost: the price of not stalling authentications on the audit trail.
 * An entry is serialised when appended, so one that cannot be (a cycle in `detail`) throws to its
 * caller as SQLite's would, instead of blocking the queue.
 */
export class PostgresAuditStore implements AuditStore, Retention {
  private readonly writer: AuditWriter;

  constructor(private readonly db: PostgresDatabase, log: Log, opts: PostgresAuditOptions = {}) {
    this.writer = new AuditWriter(db, log, opts);
  }

  append(entry: AuditEntry): void {
    this.writer.enqueue({ at: entry.at, event: pgText(entry.event), subject: pgText(entry.subject), detail: entry.detail ? JSON.stringify(entry.detail) : null });
  }

  async recent(limit: number): Promise<AuditEntry[]> {
    await this.writer.flush(5000);
    const { rows } = await this.db.query<{ at: Date; event: string; subject: string | null; detail: string | null }>(
      'SELECT at, event, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({
      at: r.at,
      event: r.event,
      ...(r.subject !== null ? { subject: r.subject } : {}),
      ...(r.detail !== null ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
    }));
  }

  purgeBefore(before: Date, signal?: AbortSignal): Promise<number> {
    return deleteInBatches(
      async (limit) => (await this.db.query('DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2)', [before, limit])).rowCount ?? 0,
      signal,
    );
  }

  /** Resolves when every entry appended so far is written, or `deadlineMs` has passed (then it logs what is left). */
  flush(deadlineMs = Infinity): Promise<void> {
    return this.writer.flush(deadlineMs);
  }

  /** No more entries; waits up to `deadlineMs` for the queued ones. */
  close(deadlineMs = 5000): Promise<void> {
    return this.writer.close(deadlineMs);
  }
}

interface QueuedEntry {
  at: Date;
  event: string;
  subject: string | null;
  detail: string | null;
}

/** What an entry costs beside its text: the object, its timestamp, the queue's slot. */
const ENTRY_OVERHEAD_OCTETS = 128;

/** The octets an entry is counted as against `maxQueuedOctets`. */
export function queuedEntryOctets(e: QueuedEntry): number {
  return ENTRY_OVERHEAD_OCTETS + Buffer.byteLength(e.event) + (e.subject === null ? 0 : Buffer.byteLength(e.subject)) + (e.detail === null ? 0 : Buffer.byteLength(e.detail));
}

/** The queue and its one writer (kept apart from the store, whose methods are its operations). */
class AuditWriter {
  private readonly queue: { entry: QueuedEntry; octets: number }[] = [];
  private queuedOctets = 0;
  private writing: Promise<void> | undefined;
  private dropped = 0;
  private droppedOctets = 0;
  private closed = false;
  private readonly maxQueued: number;
  private readonly maxQueuedOctets: number;
  private readonly batch: number;
  private readonly retryMs: number;

  constructor(private readonly db: PostgresDatabase, private readonly log: Log, opts: PostgresAuditOptions) {
    this.maxQueued = opts.maxQueued ?? 100_000;
    this.maxQueuedOctets = opts.maxQueuedOctets ?? 64 * 1024 * 1024;
    this.batch = opts.batch ?? 500;
    this.retryMs = opts.retryMs ?? 1000;
  }

  enqueue(entry: QueuedEntry): void {
    if (this.closed) {
      this.log.error({ event: entry.event }, 'audit entry after the store was closed: not written');
      return;
    }
    const octets = queuedEntryOctets(entry);
    if (this.queue.length >= this.maxQueued || this.queuedOctets + octets > this.maxQueuedOctets) {
      this.dropped++;
      this.droppedOctets += octets;
      // A writer at work reports drops after its current write; with none (an entry larger than
      // the whole bound, dropped with the queue empty) it is reported here.
      if (!this.writing) this.reportDropped();
      return;
    }
    this.queue.push({ entry, octets });
    this.queuedOctets += octets;
    this.writing ??= this.drain();
  }

  /** Removes the first `n` entries, written or refused. */
  private dequeue(n: number): void {
    for (const q of this.queue.splice(0, n)) this.queuedOctets -= q.octets;
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.log.error({ dropped: this.dropped, droppedOctets: this.droppedOctets }, 'audit queue full while PostgreSQL was unreachable: entries dropped');
    this.dropped = 0;
    this.droppedOctets = 0;
  }

  async flush(deadlineMs: number): Promise<void> {
    const start = Date.now();
    while (this.writing) {
      const left = deadlineMs - (Date.now() - start);
      if (left <= 0) break;
      await (Number.isFinite(left) ? Promise.race([this.writing, new Promise((r) => setTimeout(r, left).unref())]) : this.writing);
    }
    if (this.queue.length > 0) this.log.error({ unwritten: this.queue.length }, 'audit entries could not be written to PostgreSQL in time');
  }

  async close(deadlineMs: number): Promise<void> {
    await this.flush(deadlineMs);
    this.closed = true;
  }

  /** Never rejects: every failure is logged and retried, or the entry is dropped and logged. */
  private async drain(): Promise<void> {
    try {
      this.reportDropped();
      while (this.queue.length > 0) {
        const entries = this.queue.slice(0, this.batch).map((q) => q.entry);
        try {
          try {
            await this.insert(entries);
            this.dequeue(entries.length);
          } catch (err) {
            if (!isDataError(err)) throw err;
            await this.insertOneByOne(entries.length);
          }
        } catch (err) {
          this.log.error({ err: (err as Error).message, queued: this.queue.length }, 'audit entries not written to PostgreSQL yet; retrying');
          if (this.closed) return;
          await new Promise((r) => setTimeout(r, this.retryMs).unref());
        }
        this.reportDropped();
      }
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * A batch the database refused for its content: the first `count` entries alone, each leaving the
   * queue once written or refused, so one bad entry costs only itself.
   */
  private async insertOneByOne(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const e = this.queue[0]!.entry;
      try {
        await this.insert([e]);
      } catch (err) {
        if (!isDataError(err)) throw err;
        this.log.error({ err: (err as Error).message, event: e.event }, 'audit entry refused by PostgreSQL: dropped');
      }
      this.dequeue(1);
    }
  }

  private async insert(entries: readonly QueuedEntry[]): Promise<void> {
    const params: SqlValue[] = [];
    const rows = entries.map((e) => {
      params.push(e.at, e.event, e.subject, e.detail);
      const n = params.length;
      return `($${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
    });
    // One INSERT: its rows take identity values in VALUES order, which `recent` orders by.
    await this.db.query(`INSERT INTO audit_log (at, event, subject, detail) VALUES ${rows.join(', ')}`, params);
  }
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): retrying the same rows cannot help. */
function isDataError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}
