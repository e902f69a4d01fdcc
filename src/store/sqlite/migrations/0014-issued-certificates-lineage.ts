import type { Migration } from '../../migration.js';

/**
 * Which LDevID authenticated the re-enrolment that issued a certificate (store/issued-certificates.ts
 * `reissuedFrom`): revoking an LDevID for a compromised key must reach what its key obtained.
 *
 * Certificates re-enrolled before this step are linked from the audit log where it still holds their
 * `ca.ldevid.issued` entry: `authenticatedBy` is `ldevid:` and the serial in hex, written upper-case
 * with leading zeros by earlier versions, so serials are compared without leading zeros. An entry
 * whose detail is not JSON is passed over, never an error.
 */
export const issuedCertificatesLineageMigration: Migration = {
  version: 14,
  name: 'issued-certificates-lineage',
  up: `
    ALTER TABLE issued_certificates ADD COLUMN reissued_from TEXT;
    CREATE INDEX issued_certificates_reissued_from ON issued_certificates(reissued_from) WHERE reissued_from IS NOT NULL;
    UPDATE issued_certificates SET reissued_from = (
      SELECT p.serial
        FROM (SELECT CASE WHEN json_valid(detail) THEN json_extract(detail, '$.serial') END AS serial,
                     CASE WHEN json_valid(detail) THEN json_extract(detail, '$.authenticatedBy') END AS by
                FROM audit_log WHERE event = 'ca.ldevid.issued') AS a
        JOIN issued_certificates AS p ON ltrim(p.serial, '0') = ltrim(lower(substr(a.by, 8)), '0')
       WHERE a.serial = issued_certificates.serial AND a.by LIKE 'ldevid:%' AND p.serial <> issued_certificates.serial
       LIMIT 1)
    WHERE reissued_from IS NULL;
  `,
};
