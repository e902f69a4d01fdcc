import type { Migration } from '../../migration.js';

/**
 * Accounts for inner password methods. `nt_hash` (16 octets) serves MS-CHAPv2, `password_hash`
 * (scrypt string) serves Basic-Password-Auth; either may be absent (see store/users.ts).
 */
export const usersMigration: Migration = {
  version: 2,
  name: 'users',
  up: `
    CREATE TABLE users (
      name TEXT PRIMARY KEY,
      nt_hash BLOB CHECK (nt_hash IS NULL OR length(nt_hash) = 16),
      password_hash TEXT,
      enabled INTEGER NOT NULL DEFAULT 1,
      created_at TEXT NOT NULL
    );
  `,
};
