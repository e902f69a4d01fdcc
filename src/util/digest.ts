import { createHash, createHmac } from 'node:crypto';
import { nativeAddonPart } from './native-addon.js';

/**
 * One-shot digests and HMACs over a few pieces, for per-packet work: the RADIUS Authenticators and
 * Message-Authenticator, the reply cache's fingerprint, and small HMACs in TEAP and EAP-NOOB.
 *
 * node:crypto spends about 3 µs of CPU on one createHash or createHmac over a few hundred octets,
 * most of it building a JavaScript object and an OpenSSL context; a RADIUS round trip needs four.
 * The native addon (native/digest.c, built by `npm install` with the TLS engine) does an MD5 of
 * the same octets in about 0.6 µs. Without the addon, or with GANGWAY_NATIVE_DIGEST=0, node:crypto
 * computes the same values: test/util/digest.test.ts compares both on random inputs.
 */

export type DigestName = 'md5' | 'sha1' | 'sha256' | 'sha384';

/** The codes native/digest.c knows. */
const CODES: Readonly<Record<DigestName, number>> = { md5: 0, sha1: 1, sha256: 2, sha384: 3 };

/** Octets of each digest. */
export const DIGEST_LENGTH: Readonly<Record<DigestName, number>> = { md5: 16, sha1: 20, sha256: 32, sha384: 48 };

/** Both write into `out`, which must be exactly the digest's length: a Buffer made by Node-API costs more than an MD5. */
interface DigestAddon {
  digest(code: number, pieces: readonly Uint8Array[], out: Uint8Array): void;
  hmac(code: number, key: Uint8Array, pieces: readonly Uint8Array[], out: Uint8Array): void;
}

/** native/digest.c takes at most this many pieces per call. */
const MAX_PIECES = 16;

const native = nativeAddonPart<DigestAddon>('GANGWAY_NATIVE_DIGEST', ['digest', 'hmac']);

/** Which implementation computes digests in this process (the `gangway listening` log line says). */
export const digestEngine: 'native' | 'node' = native ? 'native' : 'node';

export function nodeDigest(name: DigestName, pieces: readonly Uint8Array[]): Buffer {
  const h = createHash(name);
  for (const p of pieces) h.update(p);
  return h.digest();
}

export function nodeHmac(name: DigestName, key: Uint8Array, pieces: readonly Uint8Array[]): Buffer {
  const h = createHmac(name, key);
  for (const p of pieces) h.update(p);
  return h.digest();
}

/**
 * The digest of the pieces' concatenation, for a value that is not a secret (an Authenticator, a
 * MAC that goes on the wire, a fingerprint): it comes from Buffer's pool, since a Buffer of its own
 * costs about 1.2 µs, as much as the digest, and so shares an 8 KB slab with other Buffers. Key
 * material goes through `digestInto` into memory of its own, which the caller can zero.
 */
export function digest(name: DigestName, pieces: readonly Uint8Array[]): Buffer {
  if (!native || pieces.length > MAX_PIECES) return nodeDigest(name, pieces);
  // Every octet is overwritten (the addon refuses an output of another length); a throw discards it.
  const out = Buffer.allocUnsafe(DIGEST_LENGTH[name]);
  native.digest(CODES[name], pieces, out);
  return out;
}

/** HMAC (RFC 2104) of the pieces' concatenation under `key`; not for secrets, as `digest`. */
export function hmac(name: DigestName, key: Uint8Array, pieces: readonly Uint8Array[]): Buffer {
  if (!native || pieces.length > MAX_PIECES) return nodeHmac(name, key, pieces);
  const out = Buffer.allocUnsafe(DIGEST_LENGTH[name]);
  native.hmac(CODES[name], key, pieces, out);
  return out;
}

function checkOut(name: DigestName, out: Uint8Array): void {
  if (out.length !== DIGEST_LENGTH[name]) throw new RangeError(`${name} output must be ${DIGEST_LENGTH[name]} octets, not ${out.length}`);
}

/**
 * As `digest`, written into `out` (exactly the digest's length): for key material, and for a value
 * that lands inside a packet. Every piece is read before `out` is written, so they may overlap.
 */
export function digestInto(name: DigestName, pieces: readonly Uint8Array[], out: Uint8Array): void {
  checkOut(name, out);
  if (native && pieces.length <= MAX_PIECES) return native.digest(CODES[name], pieces, out);
  const value = nodeDigest(name, pieces);
  out.set(value);
  value.fill(0);
}

/** As `hmac`, written into `out`, as `digestInto`. */
export function hmacInto(name: DigestName, key: Uint8Array, pieces: readonly Uint8Array[], out: Uint8Array): void {
  checkOut(name, out);
  if (native && pieces.length <= MAX_PIECES) return native.hmac(CODES[name], key, pieces, out);
  const value = nodeHmac(name, key, pieces);
  out.set(value);
  value.fill(0);
}
