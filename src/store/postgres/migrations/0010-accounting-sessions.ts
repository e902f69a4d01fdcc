import type { Migration } from '../../migration.js';

/** Network sessions as the NASes account for them (store/accounting.ts). Octet counters include the Gigawords: BIGINT. */
export const accountingSessionsMigration: Migration = {
  version: 10,
  name: 'accounting-sessions',
  up: `
    CREATE TABLE accounting_sessions (
      nas TEXT NOT NULL,
      session_id TEXT NOT NULL,
      client_name TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('active', 'stopped')),
      user_name TEXT,
      calling_station_id TEXT,
      called_station_id TEXT,
      framed_ip_address TEXT,
      multi_session_id TEXT,
      started_at TIMESTAMPTZ,
      updated_at TIMESTAMPTZ NOT NULL,
      stopped_at TIMESTAMPTZ,
      session_time BIGINT,
      input_octets BIGINT,
      output_octets BIGINT,
      input_packets BIGINT,
      output_packets BIGINT,
      terminate_cause INTEGER,
      PRIMARY KEY (nas, session_id)
    );
    CREATE INDEX accounting_sessions_user ON accounting_sessions (user_name, updated_at);
    CREATE INDEX accounting_sessions_station ON accounting_sessions (calling_station_id, updated_at);
    CREATE INDEX accounting_sessions_stopped ON accounting_sessions (status, stopped_at);
    CREATE INDEX accounting_sessions_updated ON accounting_sessions (updated_at);
  `,
};
