import type { Migration } from '../../migration.js';

/**
 * Issue 8: which NAS an EAP-NOOB registration came through, so that one NAS cannot fill the
 * ephemeral table with unbound registrations (store/noob-peers.ts `registeredVia`). Existing rows
 * have none and count against no NAS.
 */
export const noobRegisteredViaMigration: Migration = {
  version: 9,
  name: 'noob-registered-via',
  up: `
    ALTER TABLE noob_peers ADD COLUMN registered_via TEXT;
    CREATE INDEX noob_peers_unbound ON noob_peers(registered_via, created_at) WHERE state = 1 AND account_bound = 0;
  `,
};
