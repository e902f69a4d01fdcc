/** Append-only record of what happened, for operators. */
export interface AuditEntry {
  at: Date;
  event: string;
  subject?: string;
  detail?: Record<string, unknown>;
}

export interface AuditStore {
  append(entry: AuditEntry): void;
  recent(limit: number): AuditEntry[];
}
