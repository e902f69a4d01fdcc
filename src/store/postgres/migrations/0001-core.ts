import type { Migration } from '../../migration.js';

/** Audit trail of authentications and administrative actions; append-only. `detail` is JSON text, as written. */
export const coreMigration: Migration = {
  version: 1,
  name: 'core',
  up: `
    CREATE TABLE audit_log (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at TIMESTAMPTZ NOT NULL,
      event TEXT NOT NULL,
      subject TEXT,
      detail TEXT
    );
    CREATE INDEX audit_log_at ON audit_log(at);
  `,
};
