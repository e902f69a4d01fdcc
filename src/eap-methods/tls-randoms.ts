/**
 * Reads the 32-octet random out of the first handshake record of a flight (ClientHello or
 * ServerHello). EAP-TLS under TLS 1.2 names its session with both randoms (RFC 5216 §2.3) and
 * Node does not expose them, but the records pass through our hands anyway.
 */
export function helloRandom(records: Uint8Array, expectedHandshakeType: 1 | 2): Uint8Array | undefined {
  // record header (5) + handshake header (4) + legacy_version (2) + random (32)
  if (records.length < 43) return undefined;
  if (records[0] !== 22) return undefined;
  if (records[5] !== expectedHandshakeType) return undefined;
  return records.slice(11, 43);
}
