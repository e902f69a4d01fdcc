/** Append-only record of what happened, for operators. */
export interface AuditEntry {
  at: Date;
  event: string;
  subject?: string;
  detail?: Record<string, unknown>;
}

/**
 * `append` does not wait for the database: an audit line is a side effect of a protocol step or an
 * administrative act, and neither should stall on (or fail because of) the audit trail's storage.
 * Entries of one process are stored in the order they were appended; `recent` sees every entry this
 * process appended before it was called. SQLite writes at once; PostgreSQL queues and writes in
 * order (store/postgres/audit.ts).
 */
export interface AuditStore {
  append(entry: AuditEntry): void;
  /** Newest first. */
  recent(limit: number): Promise<AuditEntry[]>;
}

/** The database's side of `audit.retentionDays`. */
export interface AuditRetention {
  /**
   * Deletes the entries made before `before`, oldest first, in batches of AUDIT_PURGE_BATCH (other
   * work runs between them); resolves with how many went. An aborted `signal` stops it before its
   * next batch, so that a reload that keeps more does not see the old setting go on deleting (a
   * batch already sent to PostgreSQL still completes).
   */
  purgeBefore(before: Date, signal?: AbortSignal): Promise<number>;
}

/** Entries deleted per statement: a year of a busy log is millions of rows, and SQLite runs in the server's thread. */
export const AUDIT_PURGE_BATCH = 5000;
