import type { AuditEntry, AuditStore } from '../audit.js';
import { deleteInBatches, type Retention } from '../retention.js';
import type { SqliteDatabase } from './database.js';

/** Written at once, in the caller's turn: SQLite is in-process. */
export class SqliteAuditStore implements AuditStore, Retention {
  private readonly insert;
  private readonly select;
  private readonly purge;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare('INSERT INTO audit_log (at, event, subject, detail) VALUES (?, ?, ?, ?)');
    this.select = db.prepare('SELECT at, event, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?');
    this.purge = db.prepare('DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?)');
  }

  purgeBefore(before: Date, signal?: AbortSignal): Promise<number> {
    const cutoff = before.toISOString();
    return deleteInBatches((limit) => this.purge.run(cutoff, limit).changes, signal);
  }

  append(entry: AuditEntry): void {
    this.insert.run(entry.at.toISOString(), entry.event, entry.subject ?? null, entry.detail ? JSON.stringify(entry.detail) : null);
  }

  async recent(limit: number): Promise<AuditEntry[]> {
    const rows = this.select.all(limit) as { at: string; event: string; subject: string | null; detail: string | null }[];
    return rows.map((r) => ({
      at: new Date(r.at),
      event: r.event,
      ...(r.subject !== null ? { subject: r.subject } : {}),
      ...(r.detail !== null ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
    }));
  }
}
