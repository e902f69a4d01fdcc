/**
 * Shared secrets arrive as configuration strings but every formula hashes octets; RFC 2865
 * leaves the charset open, and FreeRADIUS/hostapd both use the raw UTF-8 bytes of the string.
 */
export type RadiusSecret = string | Uint8Array;

export function secretBytes(secret: RadiusSecret): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}
