import type { Migration } from '../../migration.js';

/**
 * Certificates our registrar CA issued. The serial is the primary key across all issuers: whichever
 * server draws a serial another already recorded gets a unique violation and draws again. `id` gives
 * "newest first" its tie-break (SQLite's rowid). `crl_numbers` keeps each issuer's last CRL number;
 * its upsert takes the row lock, so CRL numbers of all servers form one increasing sequence.
 */
export const issuedCertificatesMigration: Migration = {
  version: 5,
  name: 'issued-certificates',
  up: `
    CREATE TABLE issued_certificates (
      id BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
      serial TEXT PRIMARY KEY CHECK (length(serial) BETWEEN 2 AND 40 AND serial ~ '^[0-9a-f]+$'),
      issuer TEXT NOT NULL,
      subject TEXT NOT NULL,
      subject_alt_names TEXT NOT NULL,
      device_id TEXT NOT NULL,
      not_before TIMESTAMPTZ NOT NULL,
      not_after TIMESTAMPTZ NOT NULL,
      der BYTEA NOT NULL,
      issued_at TIMESTAMPTZ NOT NULL,
      revoked_at TIMESTAMPTZ,
      revocation_reason TEXT CHECK (revocation_reason IS NULL OR revocation_reason IN
        ('unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn')),
      CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
    );
    CREATE INDEX issued_certificates_device ON issued_certificates(device_id, issued_at);
    CREATE INDEX issued_certificates_issued_at ON issued_certificates(issued_at);
    CREATE INDEX issued_certificates_revoked ON issued_certificates(issuer, not_after) WHERE revoked_at IS NOT NULL;
    CREATE TABLE crl_numbers (
      issuer TEXT PRIMARY KEY,
      last_number BIGINT NOT NULL CHECK (last_number >= 1)
    );
  `,
};
