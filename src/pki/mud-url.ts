import 'reflect-metadata';
import * as asn1js from 'asn1js';
import * as x509 from '@peculiar/x509';
import { CertificateDer, CertificateDerError, oidContentOctets, onlyElement } from './certificate-der.js';

/** id-pe-mud-url (RFC 8520 §10): the device's MUD URL, an IA5String, in its IDevID or LDevID. */
export const ID_PE_MUD_URL = '1.3.6.1.5.5.7.1.25';
const MUD_URL_OID = oidContentOctets(ID_PE_MUD_URL);
const TAG_IA5STRING = 0x16;

/**
 * The MUD URL a certificate carries, as written, or undefined (no extension, or not an IA5String).
 * Callers normalise and bound it (policy/mud-url.ts) before acting on it. Read on every
 * Access-Accept with a certificate, so the DER is walked rather than parsed (certificate-der.ts).
 * OpenSSL verifies BER the walk refuses (indefinite or long lengths) and keeps it as signed, so such
 * a certificate is parsed in full rather than losing its MUD URL; throws CertificateDerError when
 * neither can read it.
 */
export function mudUrlOfCertificate(der: Uint8Array): string | undefined {
  let value: Uint8Array | undefined;
  try {
    value = CertificateDer.read(der).extensionValue(MUD_URL_OID);
  } catch (err) {
    if (!(err instanceof CertificateDerError)) throw err;
    value = extensionValueParsed(der, err);
  }
  if (!value) return undefined;
  const ia5 = onlyElement(value, TAG_IA5STRING);
  // IA5String octets are characters one for one (latin1 keeps any stray high octet visible to the normaliser).
  return ia5 ? Buffer.from(ia5.buffer, ia5.byteOffset, ia5.length).toString('latin1') : undefined;
}

function extensionValueParsed(der: Uint8Array, walkError: CertificateDerError): Uint8Array | undefined {
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(der);
  } catch {
    throw walkError;
  }
  const ext = parsed.getExtension(ID_PE_MUD_URL);
  return ext ? new Uint8Array(ext.value) : undefined;
}

/** The DER extension value for a certificate we (or a test) issue with a MUD URL. */
export function mudUrlExtensionValue(url: string): Uint8Array {
  return new Uint8Array(new asn1js.IA5String({ value: url }).toBER());
}
