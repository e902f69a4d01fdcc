import type { Migration } from '../../migration.js';

/**
 * An accounting session is one RADIUS client's: keyed by client, NAS and Acct-Session-Id, so that
 * one client (another secret) cannot update, stop or close (Accounting-On/Off) the sessions of
 * another by naming its NAS, and two clients' NASes that report the same name and session id keep
 * two sessions.
 */
export const accountingSessionsByClientMigration: Migration = {
  version: 17,
  name: 'accounting-sessions-by-client',
  up: `
    ALTER TABLE accounting_sessions DROP CONSTRAINT accounting_sessions_pkey;
    ALTER TABLE accounting_sessions ADD PRIMARY KEY (client_name, nas, session_id);
  `,
};
