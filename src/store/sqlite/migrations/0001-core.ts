import type { Migration } from '../../migration.js';

/** Audit trail of authentications and administrative actions; append-only. */
export const coreMigration: Migration = {
  version: 1,
  name: 'core',
  up: `
    CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      event TEXT NOT NULL,
      subject TEXT,
      detail TEXT
    );
    CREATE INDEX audit_log_at ON audit_log(at);
  `,
};
