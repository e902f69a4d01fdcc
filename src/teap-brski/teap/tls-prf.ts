import { DIGEST_LENGTH, hmacInto } from '../../util/digest.js';

/** Hashes a TLS 1.2 PRF (and, for AEAD suites, the TEAP Compound-MAC) can use. */
export type PrfHash = 'sha256' | 'sha384';

/**
 * P_hash from RFC 5246 §5:
 *   A(0) = seed, A(i) = HMAC(secret, A(i-1)),
 *   P_hash = HMAC(secret, A(1) ‖ seed) ‖ HMAC(secret, A(2) ‖ seed) ‖ ...
 * truncated to `length`. Written here because Node exposes no TLS PRF, and TEAP needs it with
 * secrets that never came from TLS (S-IMCK, inner EMSKs).
 */
export function pHash(hash: PrfHash, secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  // Key material in memory of its own, zeroed when done: A(i) and each block.
  const a = new Uint8Array(DIGEST_LENGTH[hash]);
  const block = new Uint8Array(DIGEST_LENGTH[hash]);
  for (let off = 0; off < length; off += block.length) {
    hmacInto(hash, secret, [off === 0 ? seed : a], a);
    hmacInto(hash, secret, [a, seed], block);
    out.set(block.subarray(0, Math.min(block.length, length - off)), off);
  }
  a.fill(0);
  block.fill(0);
  return out;
}

/** TLS 1.2 PRF(secret, label, seed) = P_hash(secret, label ‖ seed), first `length` octets. */
export function tlsPrf(hash: PrfHash, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const l = Buffer.from(label, 'ascii');
  const s = new Uint8Array(l.length + seed.length);
  s.set(l, 0);
  s.set(seed, l.length);
  return pHash(hash, secret, s, length);
}

/**
 * The PRF hash of a negotiated suite: SHA-384 for `*_SHA384` suites (TLS 1.2 0xC02C/0xC030/...,
 * TLS 1.3 0x1302), SHA-256 for everything else. Takes the IANA/OpenSSL suite name.
 */
export function prfHashForCipher(cipherName: string): PrfHash {
  return /SHA384$/i.test(cipherName) ? 'sha384' : 'sha256';
}
