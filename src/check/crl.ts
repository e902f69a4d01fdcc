import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as x509 from '@peculiar/x509';
import { crlIssuersAmong, crlSignerAmong, parseCrlFile } from '../pki/crl-file.js';
import { fail, ok, warn, type CheckResult } from './result.js';
import { subjectOf } from './certificates.js';

const DAY_MS = 86_400_000;

/**
 * A CRL in tls.crl: parsed, signed by one of the CAs (tls.ca), and current. An expired CRL is a
 * failure, not a warning: OpenSSL then refuses every certificate of that CA.
 */
export async function checkCrlFile(subject: string, path: string, cas: X509Certificate[], now: Date): Promise<CheckResult[]> {
  let crls: x509.X509Crl[];
  try {
    crls = parseCrlFile(readFileSync(path));
  } catch (err) {
    return [fail(subject, `cannot read a CRL from ${path}: ${(err as Error).message}`)];
  }
  const results: CheckResult[] = [];
  for (const crl of crls) {
    const candidates = crlIssuersAmong(crl, cas);
    if (candidates.length === 0) {
      results.push(fail(subject, `CRL of ${crl.issuer}: its issuer is not among the tls.ca certificates`));
      continue;
    }
    const issuer = await crlSignerAmong(crl, candidates);
    if (!issuer) {
      results.push(fail(subject, `CRL of ${subjectOf(candidates[0]!)} is not signed by that CA's key`));
      continue;
    }
    const next = crl.nextUpdate;
    const count = crl.entries.length;
    if (crl.thisUpdate > now) results.push(fail(subject, `CRL of ${subjectOf(issuer)} is not valid before ${crl.thisUpdate.toISOString()}`));
    else if (next !== undefined && next < now) {
      results.push(fail(subject, `CRL of ${subjectOf(issuer)} expired at ${next.toISOString()} (nextUpdate): every certificate of this CA is refused until a new CRL is installed`));
    } else if (next !== undefined && next.getTime() - now.getTime() < DAY_MS) {
      results.push(warn(subject, `CRL of ${subjectOf(issuer)} (${count} revoked) expires at ${next.toISOString()}: install its successor before then`));
    } else {
      results.push(ok(subject, `CRL of ${subjectOf(issuer)}, ${count} revoked, next update ${next?.toISOString() ?? 'not given'}`));
    }
  }
  return results;
}
