import type { Migration } from '../../migration.js';

/**
 * The newest CRL held from each CA key (store/crl-baselines.ts), so that CRL rollback protection
 * outlives a restart. The CRL number is decimal text: RFC 5280 allows 20 octets.
 */
export const crlBaselinesMigration: Migration = {
  version: 13,
  name: 'crl-baselines',
  up: `
    CREATE TABLE crl_baselines (
      issuer_key TEXT NOT NULL,
      signer_key_sha256 TEXT NOT NULL,
      issuer TEXT NOT NULL,
      crl_number TEXT CHECK (crl_number IS NULL OR (crl_number GLOB '[0-9]*' AND crl_number NOT GLOB '*[^0-9]*')),
      this_update TEXT NOT NULL,
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (issuer_key, signer_key_sha256)
    );
  `,
};
