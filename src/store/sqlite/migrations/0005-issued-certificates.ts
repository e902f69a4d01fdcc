import type { Migration } from '../../migration.js';

/**
 * Certificates our registrar CA issued (store/issued-certificates.ts). The serial is the primary
 * key across all issuers, stricter than RFC 5280's per-issuer uniqueness, so a serial alone names
 * one certificate and a collision of random serials is caught here, in one place. Revocation time
 * and reason come and go together. `crl_numbers` keeps each issuer's last CRL number.
 */
export const issuedCertificatesMigration: Migration = {
  version: 5,
  name: 'issued-certificates',
  up: `
    CREATE TABLE issued_certificates (
      serial TEXT PRIMARY KEY CHECK (length(serial) BETWEEN 2 AND 40 AND serial NOT GLOB '*[^0-9a-f]*'),
      issuer TEXT NOT NULL,
      subject TEXT NOT NULL,
      subject_alt_names TEXT NOT NULL,
      device_id TEXT NOT NULL,
      not_before TEXT NOT NULL,
      not_after TEXT NOT NULL,
      der BLOB NOT NULL,
      issued_at TEXT NOT NULL,
      revoked_at TEXT,
      revocation_reason TEXT CHECK (revocation_reason IS NULL OR revocation_reason IN
        ('unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn')),
      CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
    );
    CREATE INDEX issued_certificates_device ON issued_certificates(device_id, issued_at);
    CREATE INDEX issued_certificates_issued_at ON issued_certificates(issued_at);
    CREATE INDEX issued_certificates_revoked ON issued_certificates(issuer, not_after) WHERE revoked_at IS NOT NULL;
    CREATE TABLE crl_numbers (
      issuer TEXT PRIMARY KEY,
      last_number INTEGER NOT NULL CHECK (last_number >= 1)
    );
  `,
};
