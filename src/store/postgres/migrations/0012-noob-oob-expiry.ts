import type { Migration } from '../../migration.js';

/**
 * Issue 9: each EAP-NOOB OOB message carries the expiry it was stored with. Existing rows get the
 * SQLite migration's values (see its reasoning): issued codes expire an hour after issue but no
 * later than this migration, received messages an hour after receipt.
 */
export const noobOobExpiryMigration: Migration = {
  version: 12,
  name: 'noob-oob-expiry',
  up: `
    ALTER TABLE noob_oob_messages ADD COLUMN expires_at TIMESTAMPTZ;
    UPDATE noob_oob_messages SET expires_at = CASE direction
      WHEN 2 THEN GREATEST(created_at, LEAST(created_at + interval '3600 seconds', now()))
      ELSE created_at + interval '3600 seconds'
    END;
    ALTER TABLE noob_oob_messages ALTER COLUMN expires_at SET NOT NULL;
    ALTER TABLE noob_oob_messages ADD CONSTRAINT noob_oob_messages_expiry CHECK (expires_at >= created_at);
  `,
};
