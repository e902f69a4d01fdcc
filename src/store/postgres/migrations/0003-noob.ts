import type { Migration } from '../../migration.js';

/**
 * EAP-NOOB peers (RFC 9140), with the same guards against a half-written peer as the SQLite
 * schema: ephemeral data exactly in states 1–2, an association key exactly in states 3–4.
 */
export const noobMigration: Migration = {
  version: 3,
  name: 'noob',
  up: `
    CREATE TABLE noob_peers (
      peer_id TEXT PRIMARY KEY,
      state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 4),
      version INTEGER NOT NULL,
      created_at TIMESTAMPTZ NOT NULL,
      updated_at TIMESTAMPTZ NOT NULL,
      account TEXT,
      peer_info TEXT,
      ephemeral TEXT,
      assoc_verp INTEGER,
      assoc_cryptosuite INTEGER,
      assoc_nai TEXT,
      assoc_kz BYTEA,
      assoc_server_info TEXT,
      last_authenticated_at TIMESTAMPTZ,
      CHECK ((state <= 2) = (ephemeral IS NOT NULL)),
      CHECK ((state >= 3) = (assoc_kz IS NOT NULL AND assoc_verp IS NOT NULL AND assoc_cryptosuite IS NOT NULL AND assoc_nai IS NOT NULL AND assoc_server_info IS NOT NULL)),
      CHECK (assoc_kz IS NULL OR octet_length(assoc_kz) = 32)
    );
    CREATE INDEX noob_peers_state_created ON noob_peers(state, created_at);
    CREATE INDEX noob_peers_account ON noob_peers(account);
    CREATE TABLE noob_oob_messages (
      peer_id TEXT NOT NULL REFERENCES noob_peers(peer_id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      direction INTEGER NOT NULL CHECK (direction IN (1, 2)),
      noob TEXT NOT NULL CHECK (length(noob) = 22),
      hoob TEXT NOT NULL CHECK (length(hoob) = 22),
      created_at TIMESTAMPTZ NOT NULL,
      account TEXT,
      PRIMARY KEY (peer_id, seq)
    );
  `,
};
