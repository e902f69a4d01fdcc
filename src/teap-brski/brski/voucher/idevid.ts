/**
 * What a voucher-request takes from the pledge's IDevID certificate: the `serial-number` (subject
 * serialNumber attribute, X520SerialNumber 2.5.4.5, not the certificate serial) and the
 * `idevid-issuer` (its Authority Key Identifier).
 *
 * idevid-issuer form: we write the whole AKI extnValue OCTET STRING, tag and length included
 * (`04 18 30 16 80 14 <keyId>`), as 8366bis §6.3 says and the cBRSKI registrar voucher-request
 * vector carries; ../shared/specs/teap-brski.md §5.2 describes it without the OCTET STRING header,
 * so when comparing we accept both.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { VoucherError } from './errors.js';
import { parseCertificate } from './der.js';
import { bytesEqual } from './yang-types.js';
import { CertificateDer, CertificateDerError, oidContentOctets } from '../../../pki/certificate-der.js';

const AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const SERIAL_NUMBER_ATTRIBUTE = '2.5.4.5';

function certificate(der: Uint8Array): pkijs.Certificate {
  const cert = parseCertificate(der);
  if (!cert) throw new VoucherError('malformed', 'IDevID is not a DER X.509 certificate');
  return cert;
}

const SERIAL_NUMBER_OCTETS = oidContentOctets(SERIAL_NUMBER_ATTRIBUTE);

/**
 * The subject's serialNumber attribute as the certificate holds it, or undefined when it has none.
 * The one reader of it: the registrar names devices by it, TEAP names IDevID identities by it and
 * the authorizer finds an administrator's decision by it. A walk of the DER first (microseconds,
 * where a full parse costs a millisecond; TEAP reads it at every IDevID authentication); what the
 * walk will not read (BER that OpenSSL verifies and keeps as signed, a string type other than the
 * usual ones, ill-formed UTF-8) is read by the full parse, so every certificate is named as before.
 */
export function serialNumberOf(idevidDer: Uint8Array): string | undefined {
  try {
    return CertificateDer.read(idevidDer).subjectAttributeText(SERIAL_NUMBER_OCTETS);
  } catch (err) {
    if (!(err instanceof CertificateDerError)) throw err;
  }
  const rdn = certificate(idevidDer).subject.typesAndValues.find((t) => t.type === SERIAL_NUMBER_ATTRIBUTE);
  const value = rdn?.value.valueBlock as { value?: unknown } | undefined;
  return typeof value?.value === 'string' ? value.value : undefined;
}

/** serialNumberOf for those who only name devices: undefined when it is absent, empty or unreadable. */
export function readableSerialNumberOf(idevidDer: Uint8Array): string | undefined {
  try {
    const serial = serialNumberOf(idevidDer);
    return serial !== undefined && serial.length > 0 ? serial : undefined;
  } catch {
    return undefined;
  }
}

/**
 * idevid-issuer for `idevidDer`: its AKI extnValue with the OCTET STRING header; for a certificate
 * without AKI (e.g. RFC 8995's example IDevID), one built from the SHA-1 of the subject public key
 * (RFC 5280 §4.2.1.2 method 1), as 8366bis §6.1 directs.
 */
export function idevidIssuerOf(idevidDer: Uint8Array): Uint8Array {
  const cert = certificate(idevidDer);
  const aki = cert.extensions?.find((e) => e.extnID === AUTHORITY_KEY_IDENTIFIER);
  if (aki) return new Uint8Array(aki.extnValue.toBER());
  const keyId = createHash('sha1').update(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest();
  const akiValue = new asn1js.Sequence({
    value: [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: new Uint8Array(keyId) })],
  });
  return new Uint8Array(new asn1js.OctetString({ valueHex: akiValue.toBER() }).toBER());
}

/** Does a received idevid-issuer name the issuer of `idevidDer`? Either form (see above) matches. */
export function idevidIssuerMatches(idevidIssuer: Uint8Array, idevidDer: Uint8Array): boolean {
  const wrapped = idevidIssuerOf(idevidDer);
  if (bytesEqual(idevidIssuer, wrapped)) return true;
  const inner = asn1js.fromBER(new Uint8Array(wrapped));
  const unwrapped = inner.result instanceof asn1js.OctetString ? inner.result.valueBlock.valueHexView : undefined;
  return unwrapped !== undefined && bytesEqual(idevidIssuer, unwrapped);
}
