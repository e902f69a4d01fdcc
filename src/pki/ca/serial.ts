import { randomBytes } from 'node:crypto';

export const SERIAL_OCTETS = 16;

/**
 * A random, positive 16-octet certificate serial number (RFC 5280 §4.1.2.2: positive, at most 20
 * octets). The top bit is cleared so DER needs no 0x00 pad, and a first octet of zero is redrawn
 * so every serial encodes in exactly 16 octets: the hex form is then canonical as it stands.
 */
export function randomSerial(): Uint8Array {
  for (;;) {
    const b = randomBytes(SERIAL_OCTETS);
    b[0] = b[0]! & 0x7f;
    if (b[0] !== 0) return new Uint8Array(b);
  }
}

/**
 * Canonical hex of a serial as the store keys it: lower case, no leading zero octets. Node prints
 * serials in upper case; @peculiar/x509 in lower case; DER adds a 0x00 before a high bit.
 */
export function canonicalSerialHex(hex: string): string {
  if (!/^[0-9a-fA-F]+$/.test(hex)) throw new Error(`not a hexadecimal serial number: "${hex}"`);
  let h = hex.toLowerCase();
  if (h.length % 2 === 1) h = `0${h}`;
  while (h.length > 2 && h.startsWith('00')) h = h.slice(2);
  return h;
}
