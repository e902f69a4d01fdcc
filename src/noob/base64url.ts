import { NoobError, NoobErrorCode } from './errors.js';

/**
 * base64url without padding (RFC 4648 §5), as RFC 9140 uses for nonces, Noob, NoobId, MACs and
 * JWK coordinates. Decoding is strict: the text must be the one canonical encoding of exactly
 * `bytes` octets. The same octets therefore have exactly one spelling, which matters because the
 * text enters the Hoob/MAC inputs while the octets enter the KDF.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const CANONICAL = /^[A-Za-z0-9_-]*$/;

export function b64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Text length of the unpadded encoding of n octets. */
export function b64urlLength(n: number): number {
  return Math.ceil((n * 4) / 3);
}

/**
 * Decodes `text`, which must encode exactly `bytes` octets canonically (no padding, no whitespace,
 * unused low bits of the last character zero). Anything else is error 1003 (invalid data).
 */
export function b64urlDecodeExact(text: string, bytes: number, what: string): Uint8Array {
  if (text.length !== b64urlLength(bytes) || !CANONICAL.test(text)) {
    throw new NoobError(NoobErrorCode.InvalidData, `${what} must be ${b64urlLength(bytes)} base64url characters (${bytes} octets)`);
  }
  const out = new Uint8Array(Buffer.from(text, 'base64url'));
  // Buffer ignores non-zero trailing bits; re-encoding catches a non-canonical spelling.
  if (out.length !== bytes || b64urlEncode(out) !== text) {
    throw new NoobError(NoobErrorCode.InvalidData, `${what} is not a canonical base64url encoding`);
  }
  return out;
}

/** True when `text` is a canonical unpadded base64url encoding of exactly `bytes` octets. */
export function isB64url(text: string, bytes: number): boolean {
  try {
    b64urlDecodeExact(text, bytes, 'value');
    return true;
  } catch {
    return false;
  }
}

/** Random base64url characters (each 6 bits uniform), used for PeerIds. */
export function randomB64urlChars(random: Uint8Array): string {
  let s = '';
  for (const b of random) s += ALPHABET[b & 63];
  return s;
}
