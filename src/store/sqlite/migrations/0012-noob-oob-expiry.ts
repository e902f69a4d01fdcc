import type { Migration } from '../../migration.js';

/**
 * Issue 9: each EAP-NOOB OOB message carries the expiry it was stored with, so that a later change
 * of `noobTimeout` in gangway.yaml neither revives nor cuts short a code already shown to someone.
 * The table is rebuilt to make the column NOT NULL.
 *
 * Rows that exist already were stored without their expiry, and the `noobTimeout` they were issued
 * under is recorded nowhere (a migration does not read gangway.yaml: `gangway users` opens the
 * database without it). So:
 *  - issued codes (direction 2), which the server enforces, expire at 3600 s after issue (RFC 9140's
 *    recommended NoobTimeout and our default) but no later than this migration: no code issued
 *    before the upgrade is accepted after it, which is the one rule that can never accept a code
 *    the old configuration would have refused. A person who was about to use one issues a new code.
 *  - received messages (direction 1) get issue + 3600 s; the server never refuses them on time (the
 *    device does), so the value is only what `noob-oob --list` shows.
 * ISO-8601 texts in the format of `Date#toISOString`, as everywhere in this schema.
 */
export const noobOobExpiryMigration: Migration = {
  version: 12,
  name: 'noob-oob-expiry',
  up: `
    CREATE TABLE noob_oob_messages_new (
      peer_id TEXT NOT NULL REFERENCES noob_peers(peer_id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      direction INTEGER NOT NULL CHECK (direction IN (1, 2)),
      noob TEXT NOT NULL CHECK (length(noob) = 22),
      hoob TEXT NOT NULL CHECK (length(hoob) = 22),
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL CHECK (expires_at >= created_at),
      account TEXT,
      PRIMARY KEY (peer_id, seq)
    );
    INSERT INTO noob_oob_messages_new (peer_id, seq, direction, noob, hoob, created_at, expires_at, account)
      SELECT peer_id, seq, direction, noob, hoob, created_at,
        CASE direction
          WHEN 2 THEN max(created_at, min(strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '+3600 seconds'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))
          ELSE strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '+3600 seconds')
        END,
        account
      FROM noob_oob_messages;
    DROP TABLE noob_oob_messages;
    ALTER TABLE noob_oob_messages_new RENAME TO noob_oob_messages;
  `,
};
