import 'reflect-metadata';
import type { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as x509 from '@peculiar/x509';

/** id-pe-masa-url (RFC 8995 §2.3.2): the manufacturer's MASA, as an IA5String in the IDevID. */
export const ID_PE_MASA_URL = '1.3.6.1.5.5.7.1.32';

/**
 * The MASA URL an IDevID names, or undefined. Without a scheme or path it is an authority only
 * (`host[:port]`), which the MASA client completes to https://authority/.well-known/brski.
 */
export function masaUrlOf(idevid: X509Certificate | Uint8Array): string | undefined {
  const raw = idevid instanceof Uint8Array ? idevid : new Uint8Array(idevid.raw);
  const ext = new x509.X509Certificate(raw).getExtension(ID_PE_MASA_URL);
  if (!ext) return undefined;
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(new Uint8Array(ext.value));
  } catch {
    return undefined;
  }
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.IA5String)) return undefined;
  const url = parsed.result.valueBlock.value.trim();
  return url.length > 0 && url.length <= 2048 ? url : undefined;
}

/** The DER extension value for an IDevID we issue (our reference MASA's issue-idevid). */
export function masaUrlExtensionValue(url: string): Uint8Array {
  return new Uint8Array(new asn1js.IA5String({ value: url }).toBER());
}
