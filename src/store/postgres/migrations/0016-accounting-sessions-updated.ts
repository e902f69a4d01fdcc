import type { Migration } from '../../migration.js';

/**
 * Accounting sessions are purged by when they were last heard of (`updated_at`), open or ended
 * (store/accounting.ts).
 * PostgreSQL has had that index since version 10; SQLite had none. The index on (status,
 * stopped_at) served only the purge of ended sessions, which this replaces.
 */
export const accountingSessionsUpdatedMigration: Migration = {
  version: 16,
  name: 'accounting-sessions-updated',
  up: `
    CREATE INDEX IF NOT EXISTS accounting_sessions_updated ON accounting_sessions (updated_at);
    DROP INDEX IF EXISTS accounting_sessions_stopped;
  `,
};
