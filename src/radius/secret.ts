/**
 * Shared secrets arrive as configuration strings but every formula hashes octets; RFC 2865
 * leaves the charset open, and FreeRADIUS/hostapd both use the raw UTF-8 bytes of the string.
 */
export type RadiusSecret = string | Uint8Array;

const encoder = new TextEncoder();
/** Encoded secrets by string: every packet hashes its client's secret, and a NAS has one. */
const encoded = new Map<string, Uint8Array>();
/** More distinct secrets than any client table holds means churn, not reuse: start over. */
const MAX_ENCODED = 1024;

export function secretBytes(secret: RadiusSecret): Uint8Array {
  if (typeof secret !== 'string') return secret;
  let bytes = encoded.get(secret);
  if (bytes === undefined) {
    if (encoded.size >= MAX_ENCODED) encoded.clear();
    bytes = encoder.encode(secret);
    encoded.set(secret, bytes);
  }
  return bytes;
}
