import type { Migration } from '../../migration.js';

/**
 * Portal logins and sessions. A portal login hangs off a user (removing the user removes it); its
 * password hash is a column of its own, never the network credential columns of `users`.
 */
export const portalMigration: Migration = {
  version: 6,
  name: 'portal',
  up: `
    CREATE TABLE portal_accounts (
      user_name TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
      password_hash TEXT NOT NULL,
      admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
      failed_logins INTEGER NOT NULL DEFAULT 0,
      locked_until TEXT,
      last_login_at TEXT,
      password_changed_at TEXT NOT NULL
    );
    CREATE TABLE portal_sessions (
      token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
      user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
      csrf TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL
    );
    CREATE INDEX portal_sessions_user ON portal_sessions(user_name);
    CREATE INDEX portal_sessions_expires ON portal_sessions(expires_at);
  `,
};
