/**
 * Shape checks on DER values carried in voucher leaves, through asn1js/pkijs: one complete
 * certificate or SubjectPublicKeyInfo with nothing after it.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/** Decodes exactly one BER element covering all of `bytes`, or undefined. */
export function decodeSingleAsn1(bytes: Uint8Array): asn1js.AsnType | undefined {
  const view = new Uint8Array(bytes);
  const parsed = asn1js.fromBER(view);
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

export function isCertificateDer(der: Uint8Array): boolean {
  return parseCertificate(der) !== undefined;
}

export function isSpkiDer(der: Uint8Array): boolean {
  const asn = decodeSingleAsn1(der);
  if (!asn) return false;
  try {
    new pkijs.PublicKeyInfo({ schema: asn });
    return true;
  } catch {
    return false;
  }
}
