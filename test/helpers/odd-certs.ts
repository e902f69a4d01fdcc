/**
 * Client certificates with unusual names (an empty CN, an empty subject, no name at all) issued by
 * an existing test CA. @peculiar/x509 rather than the openssl CLI: `openssl req -subj "/CN="` drops
 * the empty attribute instead of encoding it, and a config file's CN must be at least one character.
 */
// Node 20: X509Certificate.toLegacyObject() (the fixture guard below) before node:tls is first loaded
// leaves tls.createSecureContext undefined for the whole process, every later test file included.
import 'node:tls';
import 'reflect-metadata';
import { webcrypto, randomBytes, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface OddCertificate {
  certPem: string;
  keyPem: string;
}

export interface OddNames {
  /** RFC 4514 text; '' is an empty subject, 'CN=' a subject whose CN is the empty string. */
  subject: string;
  san?: x509.JsonGeneralNames;
  /** More extensions, e.g. a MUD URL (RFC 8520). */
  extensions?: x509.Extension[];
}

export async function issueOddClientCert(caCertPem: string, caKeyPem: string, names: OddNames): Promise<OddCertificate> {
  const caCert = new x509.X509Certificate(caCertPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(caKeyPem), EC_P256, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  // RFC 5280 §4.2.1.6: with an empty subject the SAN extension is critical.
  if (names.san) extensions.push(new x509.SubjectAlternativeNameExtension(names.san, names.subject === ''));
  extensions.push(...(names.extensions ?? []));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: names.subject,
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: SIGNING,
    extensions,
  });
  const certPem = cert.toString('pem');
  // Guard the fixture itself: the test means nothing if the name did not come out as intended.
  const parsed = new NodeX509(certPem).toLegacyObject();
  if (names.subject === 'CN=' && (parsed.subject as { CN?: unknown }).CN !== '') throw new Error('fixture: CN= was not encoded as an empty CN');
  if (names.subject === '' && Object.keys(parsed.subject ?? {}).length !== 0) throw new Error('fixture: subject is not empty');
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { certPem, keyPem };
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
