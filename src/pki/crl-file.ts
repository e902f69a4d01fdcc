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
  // As OpenSSL's PEM reader: a block begins and ends at the start of a line. A marker in mid-line is
  // not a block for OpenSSL, so it must not be one here either, or the CRL judged here and the CRL the
  // TLS engine loads could differ (a rollback hidden behind a decoy block).
  const blocks = [...text.matchAll(/^-----BEGIN X509 CRL-----\r?\n([A-Za-z0-9+/=\r\n]+?)^-----END X509 CRL-----/gm)];
  if (blocks.length > 0) return blocks.map((m) => crlFromBase64(m[1]!));
  if (/-----BEGIN X509 CRL-----/.test(text)) throw new Error('a "-----BEGIN X509 CRL-----" marker that does not start a line, or a block that is not base64');
  if (/-----BEGIN CRL-----/.test(text)) throw new Error('its PEM label is "CRL"; OpenSSL reads only "X509 CRL" (RFC 7468 §5)');
  throw new Error('no PEM block "-----BEGIN X509 CRL-----" in the file (DER is not read)');
}

/** One block's DER, which must be exactly one CRL: octets after it would be read by no one. */
function crlFromBase64(body: string): x509.X509Crl {
  const der = Buffer.from(body.replace(/\s/g, ''), 'base64');
  const outer = asn1js.fromBER(new Uint8Array(der));
  if (outer.offset === -1 || outer.offset !== der.length) throw new Error('a CRL block whose DER is not exactly one CRL');
  return new x509.X509Crl(der);
}

/**
 * A CRL file as the TLS engines get it: each judged CRL re-encoded on its own, one buffer each, so an
 * engine loads exactly what was judged (node:tls reads only the first CRL of a buffer).
 */
export function crlFileForEngines(data: Uint8Array): Buffer[] {
  // Written here, not by the library: OpenSSL wants the label "X509 CRL" (RFC 7468 §5).
  return parseCrlFile(data).map((crl) => {
    const lines = Buffer.from(crl.rawData).toString('base64').match(/.{1,64}/g) ?? [];
    return Buffer.from(`-----BEGIN X509 CRL-----\n${lines.join('\n')}\n-----END X509 CRL-----\n`);
  });
}

/**
 * The CAs among `cas` whose subject is the CRL's issuer (compared as DER: texts differ per library).
 * More than one during a CA key rollover: old and new certificate share the subject.
 */
export function crlIssuersAmong(crl: x509.X509Crl, cas: readonly X509Certificate[]): X509Certificate[] {
  const issuer = Buffer.from(crl.issuerName.toArrayBuffer());
  return cas.filter((ca) => Buffer.from(new x509.X509Certificate(ca.raw).subjectName.toArrayBuffer()).equals(issuer));
}

/** The CA among `candidates` whose key signed the CRL, if any. */
export async function crlSignerAmong(crl: x509.X509Crl, candidates: readonly X509Certificate[]): Promise<X509Certificate | undefined> {
  for (const ca of candidates) if (await crlSignedBy(crl, ca)) return ca;
  return undefined;
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
