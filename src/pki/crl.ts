import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * Issues a CRL (RFC 5280 §5) from a P-256 CA, listing the given certificates (hex serials) as
 * revoked. `tls.crl` takes its PEM; OpenSSL then refuses those client certificates in the handshake.
 */
export async function issueCrl(caCertPem: string, caKeyPem: string, revokedSerials: string[], validDays = 7): Promise<string> {
  const ca = new x509.X509Certificate(caCertPem);
  const der = Buffer.from(caKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const now = new Date();
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.subject,
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: new Date(now.getTime() + validDays * 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    signingKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca)],
    entries: revokedSerials.map((serialNumber) => ({ serialNumber, revocationDate: now, reason: x509.X509CrlReason.keyCompromise })),
  });
  // OpenSSL reads only the "X509 CRL" PEM label (RFC 7468 §5); the library writes "CRL".
  const b64 = Buffer.from(crl.rawData).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
}
