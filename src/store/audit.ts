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
