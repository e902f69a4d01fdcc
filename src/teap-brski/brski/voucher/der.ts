/**
 * Shape checks on DER values carried in voucher leaves: one complete certificate or
 * SubjectPublicKeyInfo with nothing after it.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/** Decodes exactly one BER element covering all of `bytes`, or undefined. */
export function decodeSingleAsn1(bytes: Uint8Array): asn1js.AsnType | undefined {
  const view = new Uint8Array(bytes);
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(view);
  } catch {
    // asn1js throws plain Errors for some malformed primitives (an empty GeneralizedTime, say).
    return undefined;
  }
  if (parsed.offset === -1 || parsed.offset !== view.length) return undefined;
  return parsed.result;
}

export function parseCertificate(der: Uint8Array): pkijs.Certificate | undefined {
  const asn = decodeSingleAsn1(der);
  if (!asn) return undefined;
  try {
    return new pkijs.Certificate({ schema: asn });
  } catch {
    return undefined;
  }
}

/**
 * OpenSSL parses (node's X509Certificate, ~40 times faster than a pkijs schema walk) and gives back
 * exactly these bytes: so the input was DER, not PEM, and nothing follows the certificate.
 */
export function isCertificateDer(der: Uint8Array): boolean {
  try {
    const raw = new X509Certificate(der).raw;
    return raw.length === der.length && raw.equals(der);
  } catch {
    return false;
  }
}

/** The same for a SubjectPublicKeyInfo: a key OpenSSL can use, encoded exactly as it would. */
export function isSpkiDer(der: Uint8Array): boolean {
  try {
    const again = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' });
    return again.length === der.length && again.equals(der);
  } catch {
    return false;
  }
}
