import type { Migration } from '../../migration.js';

/**
 * An accounting session is one RADIUS client's: keyed by client, NAS and Acct-Session-Id, so that
 * one client (another secret) cannot update, stop or close (Accounting-On/Off) the sessions of
 * another by naming its NAS, and two clients' NASes that report the same name and session id keep
 * two sessions. SQLite cannot change a primary key in place: the table is copied. Views and
 * triggers on other tables that name it keep working; indexes and triggers an operator put on the
 * table itself go with the old one (docs/deployment.md).
 */
export const accountingSessionsByClientMigration: Migration = {
  version: 17,
  name: 'accounting-sessions-by-client',
  up: `
    CREATE TABLE accounting_sessions_by_client (
      nas TEXT NOT NULL,
      session_id TEXT NOT NULL,
      client_name TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('active', 'stopped')),
      user_name TEXT,
      calling_station_id TEXT,
      called_station_id TEXT,
      framed_ip_address TEXT,
      multi_session_id TEXT,
      started_at TEXT,
      updated_at TEXT NOT NULL,
      stopped_at TEXT,
      session_time INTEGER,
      input_octets INTEGER,
      output_octets INTEGER,
      input_packets INTEGER,
      output_packets INTEGER,
      terminate_cause INTEGER,
      PRIMARY KEY (client_name, nas, session_id)
    );
    INSERT INTO accounting_sessions_by_client (nas, session_id, client_name, status, user_name, calling_station_id, called_station_id,
        framed_ip_address, multi_session_id, started_at, updated_at, stopped_at, session_time, input_octets, output_octets,
        input_packets, output_packets, terminate_cause)
      SELECT nas, session_id, client_name, status, user_name, calling_station_id, called_station_id,
        framed_ip_address, multi_session_id, started_at, updated_at, stopped_at, session_time, input_octets, output_octets,
        input_packets, output_packets, terminate_cause
      FROM accounting_sessions;
    DROP TABLE accounting_sessions;
    -- An operator's views and triggers that name the table would make a modern RENAME fail (it
    -- checks them while no accounting_sessions exists); named again, they find the new table.
    PRAGMA legacy_alter_table = ON;
    ALTER TABLE accounting_sessions_by_client RENAME TO accounting_sessions;
    PRAGMA legacy_alter_table = OFF;
    CREATE INDEX accounting_sessions_user ON accounting_sessions (user_name, updated_at);
    CREATE INDEX accounting_sessions_station ON accounting_sessions (calling_station_id, updated_at);
    CREATE INDEX accounting_sessions_stopped ON accounting_sessions (status, stopped_at);
    CREATE INDEX accounting_sessions_updated ON accounting_sessions (updated_at);
  `,
};
