import type { Migration } from '../../migration.js';

/**
 * EAP-NOOB re-binding guard (issue 7): which OOB messages a registration has accepted, kept even
 * when RFC 9140's 2003 rule sends it back to state 1, and whether an accepted delivery has fixed
 * the device's account.
 *
 * Rows that exist already: a registration in state 2 holds the delivery it accepted (direction-1
 * messages exist only there), so those are consumed; an account on a record could only have come
 * from a delivery or a completed registration, so it is bound, as is every record past state 1.
 */
export const noobConsumedOobsMigration: Migration = {
  version: 4,
  name: 'noob-consumed-oobs',
  up: `
    ALTER TABLE noob_peers ADD COLUMN account_bound INTEGER NOT NULL DEFAULT 0 CHECK (account_bound IN (0, 1));
    UPDATE noob_peers SET account_bound = 1 WHERE state >= 2 OR account IS NOT NULL;
    CREATE TABLE noob_consumed_oobs (
      peer_id TEXT NOT NULL REFERENCES noob_peers(peer_id) ON DELETE CASCADE,
      hoob TEXT NOT NULL CHECK (length(hoob) = 22),
      seq INTEGER NOT NULL,
      direction INTEGER NOT NULL CHECK (direction IN (1, 2)),
      account TEXT,
      consumed_at TEXT NOT NULL,
      PRIMARY KEY (peer_id, hoob)
    );
    INSERT INTO noob_consumed_oobs (peer_id, hoob, seq, direction, account, consumed_at)
      SELECT peer_id, hoob, seq, direction, account, created_at FROM noob_oob_messages WHERE direction = 1;
  `,
};
