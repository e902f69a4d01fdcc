import type { Migration } from '../../migration.js';

/**
 * Per-user settings of the credential policy made in the portal (store/user-policies.ts). Removing
 * the user removes them. Version 11: 9 and 10 are reserved for work in flight elsewhere.
 */
export const userPoliciesMigration: Migration = {
  version: 11,
  name: 'user-policies',
  up: `
    CREATE TABLE user_policies (
      user_name TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
      vlan INTEGER CHECK (vlan IS NULL OR (vlan BETWEEN 1 AND 4094)),
      set_by TEXT NOT NULL,
      set_at TEXT NOT NULL
    );
  `,
};
