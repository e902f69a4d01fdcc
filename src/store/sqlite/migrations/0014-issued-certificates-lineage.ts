import type { Migration } from '../../migration.js';

/**
 * Which LDevID authenticated the re-enrolment that issued a certificate (store/issued-certificates.ts
 * `reissuedFrom`): revoking an LDevID for a compromised key must reach what its key obtained.
 */
export const issuedCertificatesLineageMigration: Migration = {
  version: 14,
  name: 'issued-certificates-lineage',
  up: `
    ALTER TABLE issued_certificates ADD COLUMN reissued_from TEXT;
    CREATE INDEX issued_certificates_reissued_from ON issued_certificates(reissued_from) WHERE reissued_from IS NOT NULL;
  `,
};
