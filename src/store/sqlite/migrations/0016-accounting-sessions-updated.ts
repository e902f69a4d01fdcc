import type { Migration } from '../../migration.js';

/**
 * Accounting sessions are purged by when they were last heard of (`updated_at`), open or ended
 * (store/accounting.ts).
 * PostgreSQL has had the index since version 10, where this step changes nothing; SQLite had none.
 */
export const accountingSessionsUpdatedMigration: Migration = {
  version: 16,
  name: 'accounting-sessions-updated',
  up: `
    CREATE INDEX IF NOT EXISTS accounting_sessions_updated ON accounting_sessions (updated_at);
  `,
};
