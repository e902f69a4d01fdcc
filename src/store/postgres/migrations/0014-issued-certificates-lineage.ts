import type { Migration } from '../../migration.js';

/**
 * Which LDevID authenticated the re-enrolment that issued a certificate (store/issued-certificates.ts
 * `reissuedFrom`): revoking an LDevID for a compromised key must reach what its key obtained.
 *
 * Certificates re-enrolled before this step are linked from the audit log where it still holds their
 * `ca.ldevid.issued` entry: `authenticatedBy` is `ldevid:` and the serial in hex, written upper-case
 * with leading zeros by earlier versions, so serials are compared without leading zeros. Only
 * details that look like a JSON object are read (every one Gangway writes is one).
 */
export const issuedCertificatesLineageMigration: Migration = {
  version: 14,
  name: 'issued-certificates-lineage',
  up: `
    ALTER TABLE issued_certificates ADD COLUMN reissued_from TEXT;
    CREATE INDEX issued_certificates_reissued_from ON issued_certificates(reissued_from) WHERE reissued_from IS NOT NULL;
    UPDATE issued_certificates AS c SET reissued_from = l.parent
      FROM (SELECT DISTINCT ON (a.serial) a.serial, p.serial AS parent
              FROM (SELECT detail::jsonb ->> 'serial' AS serial, detail::jsonb ->> 'authenticatedBy' AS by
                      FROM audit_log WHERE event = 'ca.ldevid.issued' AND detail LIKE '{%}') AS a
              JOIN issued_certificates AS p ON ltrim(p.serial, '0') = ltrim(lower(substr(a.by, 8)), '0')
             WHERE a.by LIKE 'ldevid:%' AND p.serial <> a.serial
             ORDER BY a.serial, p.serial) AS l
     WHERE c.serial = l.serial AND c.reissued_from IS NULL;
  `,
};
