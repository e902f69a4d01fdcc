import type { Migration } from '../../migration.js';

/** The last accepted session per authenticated identity (store/access-sessions.ts). */
export const accessSessionsMigration: Migration = {
  version: 7,
  name: 'access-sessions',
  up: `
    CREATE TABLE access_sessions (
      identity TEXT PRIMARY KEY,
      client_name TEXT NOT NULL,
      client_address TEXT NOT NULL,
      request_user_name TEXT,
      calling_station_id TEXT,
      nas_identifier TEXT,
      nas_ip_address TEXT,
      accepted_at TIMESTAMPTZ NOT NULL
    );
  `,
};
