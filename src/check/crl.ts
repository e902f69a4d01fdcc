// First: @peculiar/x509 needs the metadata polyfill, and pki/crl.js sets its crypto provider (WebCrypto).
import 'reflect-metadata';
import '../pki/crl.js';
import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { fail, ok, warn, type CheckResult } from './result.js';
import { subjectOf } from './certificates.js';

const DAY_MS = 86_400_000;

function readCrls(path: string): x509.X509Crl[] {
  const data = readFileSync(path);
  const text = data.toString('latin1');
  const blocks = text.match(/-----BEGIN (?:X509 )?CRL-----[\s\S]+?-----END (?:X509 )?CRL-----/g);
  if (blocks) return blocks.map((b) => new x509.X509Crl(Buffer.from(b.replace(/-----[^-]+-----|\s/g, ''), 'base64')));
  return [new x509.X509Crl(data)];
}

/**
 * A CRL in tls.crl: parsed, signed by one of the CAs (tls.ca), and current. An expired CRL is a
 * failure, not a warning: OpenSSL then refuses every certificate of that CA.
 */
export async function checkCrlFile(subject: string, path: string, cas: X509Certificate[], now: Date): Promise<CheckResult[]> {
  let crls: x509.X509Crl[];
  try {
    crls = readCrls(path);
  } catch (err) {
    return [fail(subject, `cannot read a CRL from ${path}: ${(err as Error).message}`)];
  }
  const results: CheckResult[] = [];
  for (const crl of crls) {
    const issuer = cas.find((ca) => sameName(ca, crl));
    if (!issuer) {
      results.push(fail(subject, `CRL of ${crl.issuer}: its issuer is not among the tls.ca certificates`));
      continue;
    }
    let signed = false;
    try {
      signed = await crl.verify({ publicKey: new x509.X509Certificate(issuer.raw) });
    } catch {
      signed = false;
    }
    if (!signed) {
      results.push(fail(subject, `CRL of ${subjectOf(issuer)} is not signed by that CA's key`));
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

function sameName(ca: X509Certificate, crl: x509.X509Crl): boolean {
  // Compare the DER of the names, not their text: the same name prints differently per library.
  const caSubject = new x509.X509Certificate(ca.raw).subjectName.toArrayBuffer();
  return Buffer.from(caSubject).equals(Buffer.from(crl.issuerName.toArrayBuffer()));
}
