import type { Migration } from '../../migration.js';

/** Portal logins and sessions, hanging off users (removing the user removes them). */
export const portalMigration: Migration = {
  version: 6,
  name: 'portal',
  up: `
    CREATE TABLE portal_accounts (
      user_name TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
      password_hash TEXT NOT NULL,
      admin BOOLEAN NOT NULL DEFAULT FALSE,
      failed_logins INTEGER NOT NULL DEFAULT 0,
      locked_until TIMESTAMPTZ,
      last_login_at TIMESTAMPTZ,
      password_changed_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE portal_sessions (
      token_hash BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
      user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
      csrf TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL,
      expires_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX portal_sessions_user ON portal_sessions(user_name);
    CREATE INDEX portal_sessions_expires ON portal_sessions(expires_at);
  `,
};
