import 'reflect-metadata';
import * as asn1js from 'asn1js';
import * as x509 from '@peculiar/x509';

/** id-pe-mud-url (RFC 8520 §10): the device's MUD URL, an IA5String, in its IDevID or LDevID. */
export const ID_PE_MUD_URL = '1.3.6.1.5.5.7.1.25';

/**
 * The MUD URL a certificate carries, as written, or undefined (no extension, or not an IA5String).
 * Callers normalise and bound it (policy/mud-url.ts) before acting on it.
 */
export function mudUrlOfCertificate(der: Uint8Array): string | undefined {
  const ext = new x509.X509Certificate(der).getExtension(ID_PE_MUD_URL);
  if (!ext) return undefined;
  const parsed = asn1js.fromBER(new Uint8Array(ext.value));
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.IA5String)) return undefined;
  return parsed.result.valueBlock.value;
}

/** The DER extension value for a certificate we (or a test) issue with a MUD URL. */
export function mudUrlExtensionValue(url: string): Uint8Array {
  return new Uint8Array(new asn1js.IA5String({ value: url }).toBER());
}
