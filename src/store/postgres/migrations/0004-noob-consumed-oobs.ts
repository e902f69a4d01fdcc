import type { Migration } from '../../migration.js';

/** EAP-NOOB re-binding guard (issue 7); see the SQLite migration of the same version for the backfill's reasoning. */
export const noobConsumedOobsMigration: Migration = {
  version: 4,
  name: 'noob-consumed-oobs',
  up: `
    ALTER TABLE noob_peers ADD COLUMN account_bound BOOLEAN NOT NULL DEFAULT FALSE;
    UPDATE noob_peers SET account_bound = TRUE WHERE state >= 2 OR account IS NOT NULL;
    CREATE TABLE noob_consumed_oobs (
      peer_id TEXT NOT NULL REFERENCES noob_peers(peer_id) ON DELETE CASCADE,
      hoob TEXT NOT NULL CHECK (length(hoob) = 22),
      seq INTEGER NOT NULL,
      direction INTEGER NOT NULL CHECK (direction IN (1, 2)),
      account TEXT,
      consumed_at TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (peer_id, hoob)
    );
    INSERT INTO noob_consumed_oobs (peer_id, hoob, seq, direction, account, consumed_at)
      SELECT peer_id, hoob, seq, direction, account, created_at FROM noob_oob_messages WHERE direction = 1;
  `,
};
