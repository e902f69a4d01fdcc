import type { Migration } from '../../migration.js';

/** Accounts for inner password methods (see store/users.ts); either credential form may be absent. */
export const usersMigration: Migration = {
  version: 2,
  name: 'users',
  up: `
    CREATE TABLE users (
      name TEXT PRIMARY KEY,
      nt_hash BYTEA CHECK (nt_hash IS NULL OR octet_length(nt_hash) = 16),
      password_hash TEXT,
      enabled BOOLEAN NOT NULL DEFAULT TRUE,
      created_at TIMESTAMPTZ NOT NULL
    );
  `,
};
