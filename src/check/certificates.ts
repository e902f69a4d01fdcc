import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fail, ok, warn, type CheckResult } from './result.js';

/** Certificates expiring sooner than this are reported, so that renewal is not a surprise. */
const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** Every certificate of a PEM file, in order; throws on unreadable files and broken PEM. */
export function readCertificates(path: string): X509Certificate[] {
  const text = readFileSync(path, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate in the file');
  return blocks.map((b) => new X509Certificate(b));
}

export function subjectOf(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

/** Validity period against `now`: expired and not-yet-valid fail, expiring soon warns. */
export function checkValidity(subject: string, cert: X509Certificate, now: Date): CheckResult {
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  const name = subjectOf(cert);
  if (now < notBefore) return fail(subject, `${name} is not valid before ${notBefore.toISOString()}`);
  if (now > notAfter) return fail(subject, `${name} expired on ${notAfter.toISOString()}`);
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  if (days < EXPIRY_WARNING_DAYS) return warn(subject, `${name} expires in ${days} days (${notAfter.toISOString()})`);
  return ok(subject, `${name}, valid until ${notAfter.toISOString().slice(0, 10)} (${days} days)`);
}

/**
 * The server's certificate file: each certificate signed by the next, the last one issued by a CA
 * the file or tls.ca holds (or self-signed), and a serverAuth EKU if it names EKUs at all
 * (Windows supplicants refuse a server certificate without it).
 */
export function checkServerChain(subject: string, chain: X509Certificate[], cas: X509Certificate[]): CheckResult[] {
  const results: CheckResult[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const [child, parent] = [chain[i]!, chain[i + 1]!];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      results.push(fail(subject, `certificate ${i + 1} (${subjectOf(child)}) is not signed by the next one in the file (${subjectOf(parent)}): wrong order or a foreign certificate`));
      return results;
    }
  }
  const last = chain[chain.length - 1]!;
  const selfSigned = last.checkIssued(last) && last.verify(last.publicKey);
  const anchor = cas.find((ca) => last.checkIssued(ca) && last.verify(ca.publicKey));
  if (selfSigned) results.push(warn(subject, `${subjectOf(last)} is self-signed: every client must be given this certificate`));
  else if (anchor) results.push(ok(subject, `chain of ${chain.length} to ${subjectOf(anchor)} (in tls.ca)`));
  else results.push(warn(subject, `chain ends at ${last.issuer.replace(/\n/g, ', ')}, which is neither in the file nor in tls.ca: clients must trust it, and intermediates belong in the file`));
  const eku = chain[0]!.keyUsage;
  if (eku !== undefined && eku.length > 0 && !eku.includes(SERVER_AUTH)) {
    results.push(warn(subject, `${subjectOf(chain[0]!)} has Extended Key Usage without serverAuth (${SERVER_AUTH}); Windows and Apple supplicants refuse it`));
  }
  return results;
}

/** The key file is readable and is the private key of the certificate. */
export function checkKeyMatch(subject: string, keyPath: string, cert: X509Certificate): CheckResult {
  let key;
  try {
    key = createPrivateKey(readFileSync(keyPath));
  } catch (err) {
    return fail(subject, `cannot read a private key from ${keyPath}: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) return fail(subject, `${keyPath} is not the key of ${subjectOf(cert)}`);
  return ok(subject, `${key.asymmetricKeyType} key matches the certificate`);
}

/** A CA certificate clients' certificates must chain to. */
export function checkCa(subject: string, cert: X509Certificate, now: Date): CheckResult {
  if (!cert.ca) return fail(subject, `${subjectOf(cert)} is not a CA certificate (basicConstraints cA is not set)`);
  return checkValidity(subject, cert, now);
}
