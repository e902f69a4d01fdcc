import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const OID_CRL_NUMBER = '2.5.29.20';

export interface CrlEntry {
  /** Hex serial of the revoked certificate. */
  serial: string;
  revokedAt: Date;
  reason?: x509.X509CrlReason;
}

export interface CrlParams {
  issuer: x509.X509Certificate;
  signingKey: webcrypto.CryptoKey;
  /** WebCrypto signing parameters matching the key, e.g. { name: 'ECDSA', hash: 'SHA-256' }. */
  signingAlgorithm: { name: string; hash: string };
  entries: CrlEntry[];
  thisUpdate: Date;
  nextUpdate: Date;
  /** RFC 5280 §5.2.3: conforming issuers number their CRLs; absent only for ad-hoc test CRLs. */
  crlNumber?: bigint;
}

/** A v2 CRL (RFC 5280 §5) with the issuer's AKI and, when given, its CRL number. */
export async function createCrl(params: CrlParams): Promise<x509.X509Crl> {
  const extensions: x509.Extension[] = [await x509.AuthorityKeyIdentifierExtension.create(params.issuer)];
  if (params.crlNumber !== undefined) {
    if (params.crlNumber < 0n) throw new Error('CRL number must not be negative');
    extensions.push(new x509.Extension(OID_CRL_NUMBER, false, asn1js.Integer.fromBigInt(params.crlNumber).toBER()));
  }
  return x509.X509CrlGenerator.create({
    issuer: params.issuer.subjectName,
    thisUpdate: params.thisUpdate,
    nextUpdate: params.nextUpdate,
    signingAlgorithm: params.signingAlgorithm,
    signingKey: params.signingKey,
    extensions,
    entries: params.entries.map((e) => ({
      serialNumber: e.serial,
      revocationDate: e.revokedAt,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
    })),
  });
}

/** PEM with the "X509 CRL" label: OpenSSL reads only that one (RFC 7468 §5); the library writes "CRL". */
export function crlToPem(der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
}

/** When an issued CRL is valid, and its number; by default from a minute ago for `validDays`, unnumbered. */
export interface IssueCrlValidity {
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber?: bigint;
}

/**
 * Issues a CRL from a P-256 CA, listing the given certificates (hex serials) as revoked.
 * `tls.crl` takes its PEM; OpenSSL then refuses those client certificates in the handshake.
 */
export async function issueCrl(caCertPem: string, caKeyPem: string, revokedSerials: string[], validity: number | IssueCrlValidity = 7): Promise<string> {
  const ca = new x509.X509Certificate(caCertPem);
  const der = Buffer.from(caKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const now = new Date();
  const times: IssueCrlValidity = typeof validity === 'number'
    ? { thisUpdate: new Date(now.getTime() - 60_000), nextUpdate: new Date(now.getTime() + validity * 86_400_000) }
    : validity;
  const crl = await createCrl({
    issuer: ca,
    signingKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    thisUpdate: times.thisUpdate,
    nextUpdate: times.nextUpdate,
    ...(times.crlNumber !== undefined ? { crlNumber: times.crlNumber } : {}),
    entries: revokedSerials.map((serial) => ({ serial, revokedAt: times.thisUpdate, reason: x509.X509CrlReason.keyCompromise })),
  });
  return crlToPem(crl.rawData);
}
