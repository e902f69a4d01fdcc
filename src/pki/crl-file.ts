/**
 * Reading the CRLs an operator installs (`tls.crl`) and judging one against the CAs it claims to
 * come from: what `gangway check` reports and what the server asks before it puts a changed CRL in
 * force. Pure: bytes and certificates in, facts out.
 */
// First: pki/crl.js installs @peculiar/x509's metadata polyfill and crypto provider.
import './crl.js';
import type { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as x509 from '@peculiar/x509';

const OID_CRL_NUMBER = '2.5.29.20';

/**
 * Every CRL of a file, read as the TLS engines read `tls.crl`: PEM blocks labelled "X509 CRL"
 * (RFC 7468 §5). OpenSSL skips other labels and does not take DER there, so neither do we: a file
 * it would not load is refused here with the reason.
 */
export function parseCrlFile(data: Uint8Array): x509.X509Crl[] {
  const text = Buffer.from(data).toString('latin1');
  const blocks = text.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g);
  if (blocks) return blocks.map((b) => new x509.X509Crl(Buffer.from(b.replace(/-----[^-]+-----|\s/g, ''), 'base64')));
  if (/-----BEGIN CRL-----/.test(text)) throw new Error('its PEM label is "CRL"; OpenSSL reads only "X509 CRL" (RFC 7468 §5)');
  throw new Error('no PEM block "-----BEGIN X509 CRL-----" in the file (DER is not read)');
}

/** The CA among `cas` whose subject is the CRL's issuer (compared as DER: texts differ per library). */
export function crlIssuerAmong(crl: x509.X509Crl, cas: readonly X509Certificate[]): X509Certificate | undefined {
  const issuer = Buffer.from(crl.issuerName.toArrayBuffer());
  return cas.find((ca) => Buffer.from(new x509.X509Certificate(ca.raw).subjectName.toArrayBuffer()).equals(issuer));
}

/** True when `ca`'s key signed the CRL; a malformed signature counts as not signed. */
export async function crlSignedBy(crl: x509.X509Crl, ca: X509Certificate): Promise<boolean> {
  try {
    return await crl.verify({ publicKey: new x509.X509Certificate(ca.raw) });
  } catch {
    return false;
  }
}

/** RFC 5280 §5.2.3 cRLNumber, when the CRL carries one. */
export function crlNumberOf(crl: x509.X509Crl): bigint | undefined {
  const ext = crl.getExtension(OID_CRL_NUMBER);
  if (!ext) return undefined;
  const parsed = asn1js.fromBER(ext.value);
  return parsed.offset !== -1 && parsed.result instanceof asn1js.Integer ? parsed.result.toBigInt() : undefined;
}

/** Hex DER of the issuer name: the key under which CRLs of one CA are compared. */
export function crlIssuerKey(crl: x509.X509Crl): string {
  return Buffer.from(crl.issuerName.toArrayBuffer()).toString('hex');
}

/** What the server remembers of a CRL in force. */
export interface CrlFacts {
  issuer: string;
  issuerKey: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: bigint;
  revoked: number;
}

export function crlFacts(crl: x509.X509Crl): CrlFacts {
  const number = crlNumberOf(crl);
  return {
    issuer: crl.issuer,
    issuerKey: crlIssuerKey(crl),
    thisUpdate: crl.thisUpdate,
    ...(crl.nextUpdate !== undefined ? { nextUpdate: crl.nextUpdate } : {}),
    ...(number !== undefined ? { crlNumber: number } : {}),
    revoked: crl.entries.length,
  };
}
