/**
 * EAP-NOOB cryptosuites (RFC 9140 §5.1, IANA "EAP-NOOB Cryptosuites"):
 *   1  X25519 (RFC 7748), JWK {"kty":"OKP","crv":"X25519","x"} (RFC 8037), SHA-256
 *   2  NIST P-256 ECDH,   JWK {"kty":"EC","crv":"P-256","x","y"} (RFC 7518 §6.2.1), SHA-256
 * Keys are node:crypto KeyObjects; public keys travel as JWK text with members in the order
 * kty, crv, x[, y] (the RFC example and every known implementation use that order).
 */
import { createECDH, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';

import { b64urlDecodeExact, b64urlEncode } from '../base64url.js';
import { NoobError, NoobErrorCode } from '../errors.js';
import { isJsonObject, parseObject, type JsonObject } from '../json.js';
import type { JsonText } from '../messages.js';

export type Cryptosuite = 1 | 2;
export const SUPPORTED_CRYPTOSUITES: readonly Cryptosuite[] = [1, 2];

export function isSupportedCryptosuite(n: number): n is Cryptosuite {
  return n === 1 || n === 2;
}

/** Hash H of the cryptosuite, for the KDF, Hoob, NoobId and HMACs. Both suites use SHA-256. */
export function hashOf(_suite: Cryptosuite): 'sha256' {
  return 'sha256';
}

export interface JwkOptions {
  /**
   * The Aalto/Vogeltak C code writes "kty":"EC" for X25519 keys (RFC 9140 requires "OKP"). With
   * true we send "EC" for X25519 and accept either spelling.
   */
  x25519KtyEc?: boolean;
}

export interface EphemeralKeyPair {
  suite: Cryptosuite;
  /**
   * For `ecdhSharedSecret` only. From `generateKeyPair` it still shares its lock with the
   * generation job (see there): exporting it, or a public key made from it, can hang the process.
   */
  privateKey: KeyObject;
  /** Our public key as the JWK text we put on the wire. */
  publicJwk: JsonText;
}

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410): only the last 32 bytes vary.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function jwkText(suite: Cryptosuite, x: Uint8Array, y: Uint8Array | undefined, opts: JwkOptions): JsonText {
  if (suite === 1) {
    const kty = opts.x25519KtyEc ? 'EC' : 'OKP';
    return `{"kty":"${kty}","crv":"X25519","x":"${b64urlEncode(x)}"}`;
  }
  return `{"kty":"EC","crv":"P-256","x":"${b64urlEncode(x)}","y":"${b64urlEncode(y!)}"}`;
}

function publicJwkOf(suite: Cryptosuite, publicKey: KeyObject, opts: JwkOptions): JsonText {
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const y = suite === 2 ? Buffer.from(jwk.y!, 'base64url') : undefined;
  return jwkText(suite, x, y, opts);
}

// SubjectPublicKeyInfo DER of the two suites' public keys (RFC 8410, RFC 5480): a fixed prefix,
// then the 32-octet X25519 key or the uncompressed P-256 point 04 || x || y.
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');

// Node.js returns each half as a KeyObject unless that half's encoding is given; @types/node only
// types both halves encoded or neither. The DER is checked in rawPublicFromSpki.
const generateWithDerPublicKey = generateKeyPairSync as unknown as (
  type: 'x25519' | 'ec',
  options: { namedCurve?: 'P-256'; publicKeyEncoding: { type: 'spki'; format: 'der' } },
) => { publicKey: Buffer; privateKey: KeyObject };

function rawPublicFromSpki(suite: Cryptosuite, der: Buffer): { x: Uint8Array; y?: Uint8Array } {
  const prefix = suite === 1 ? X25519_SPKI_PREFIX : P256_SPKI_PREFIX;
  const length = prefix.length + (suite === 1 ? 32 : 64);
  if (der.length !== length || !der.subarray(0, prefix.length).equals(prefix)) throw new Error(`unexpected public key encoding for cryptosuite ${suite}`);
  const key = der.subarray(prefix.length);
  return suite === 1 ? { x: key } : { x: key.subarray(0, 32), y: key.subarray(32) };
}

/**
 * A fresh ephemeral key pair (RFC 9140 §6.1: never reuse one with the same peer).
 *
 * The public key comes out of the generation already encoded, never through `KeyObject#export`:
 * in Node.js 20 a `generateKeyPairSync` job that is garbage by the time one of its keys is exported
 * can be collected during the export, and its destructor then waits for the lock the export holds,
 * so the process hangs for good (loops here stopped for good after 750 to 12,500 P-256 pairs, and
 * some X25519 loops too; `test/noob/crypto/key-generation-hang.test.ts`). The private key keeps
 * that lock: re-importing it to cut the tie would cost 60–130 µs a pair, so it is only ever used
 * for the shared secret (`diffieHellman` takes no such lock while it allocates).
 */
export function generateKeyPair(suite: Cryptosuite, opts: JwkOptions = {}): EphemeralKeyPair {
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const { privateKey, publicKey } = suite === 1 ? generateWithDerPublicKey('x25519', { publicKeyEncoding }) : generateWithDerPublicKey('ec', { namedCurve: 'P-256', publicKeyEncoding });
  const { x, y } = rawPublicFromSpki(suite, publicKey);
  return { suite, privateKey, publicJwk: jwkText(suite, x, y, opts) };
}

/** A key pair from a raw private key (32 bytes for both suites); for test vectors and replay. */
export function keyPairFromPrivate(suite: Cryptosuite, raw: Uint8Array, opts: JwkOptions = {}): EphemeralKeyPair {
  if (raw.length !== 32) throw new Error('raw private keys are 32 bytes');
  if (suite === 1) {
    const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
    return { suite, privateKey, publicJwk: publicJwkOf(suite, createPublicKey(privateKey), opts) };
  }
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(raw);
  const pub = ecdh.getPublicKey();
  const x = pub.subarray(1, 33);
  const y = pub.subarray(33, 65);
  const privateKey = createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: b64urlEncode(raw), x: b64urlEncode(x), y: b64urlEncode(y) },
    format: 'jwk',
  });
  return { suite, privateKey, publicJwk: jwkText(2, x, y, opts) };
}

function badKey(why: string): NoobError {
  return new NoobError(NoobErrorCode.InvalidEcdheKey, why);
}

function stringMember(jwk: JsonObject, name: string): string {
  const v = jwk[name];
  if (typeof v !== 'string') throw badKey(`JWK member "${name}" missing or not a string`);
  return v;
}

/**
 * Imports the other side's public key for `suite` from its JWK text. Any defect — wrong kty/crv
 * for the negotiated suite, wrong coordinate length, a point not on the curve, a private "d"
 * member — is error 1005.
 */
export function importPublicJwk(suite: Cryptosuite, text: JsonText, opts: JwkOptions = {}): KeyObject {
  let jwk: JsonObject;
  try {
    jwk = parseObject(text);
  } catch {
    throw badKey('JWK is not a JSON object');
  }
  if (!isJsonObject(jwk)) throw badKey('JWK is not a JSON object');
  if ('d' in jwk) throw badKey('JWK contains a private key');
  const kty = stringMember(jwk, 'kty');
  const crv = stringMember(jwk, 'crv');
  const xText = stringMember(jwk, 'x');
  let x: Uint8Array;
  let y: Uint8Array | undefined;
  try {
    x = b64urlDecodeExact(xText, 32, 'x');
    if (suite === 2) y = b64urlDecodeExact(stringMember(jwk, 'y'), 32, 'y');
  } catch (e) {
    throw e instanceof NoobError && e.code === NoobErrorCode.InvalidEcdheKey ? e : badKey('JWK coordinate is not 32 base64url-encoded bytes');
  }
  if (suite === 1) {
    const ktyOk = kty === 'OKP' || (opts.x25519KtyEc === true && kty === 'EC');
    if (!ktyOk || crv !== 'X25519' || 'y' in jwk) throw badKey('not an X25519 JWK (cryptosuite 1)');
  } else if (kty !== 'EC' || crv !== 'P-256') {
    throw badKey('not a P-256 JWK (cryptosuite 2)');
  }
  try {
    return suite === 1
      ? createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64urlEncode(x) }, format: 'jwk' })
      : createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64urlEncode(x), y: b64urlEncode(y!) }, format: 'jwk' });
  } catch {
    // OpenSSL refuses P-256 points that are not on the curve.
    throw badKey('public key is not a valid point');
  }
}

/**
 * Z: the raw ECDH shared secret (X25519 output, or the x-coordinate for P-256). An all-zero X25519
 * result (a low-order public key) is refused with 1005, as RFC 7748 §6.1 allows.
 */
export function ecdhSharedSecret(privateKey: KeyObject, peerPublic: KeyObject): Uint8Array {
  let z: Buffer;
  try {
    z = diffieHellman({ privateKey, publicKey: peerPublic });
  } catch {
    throw badKey('ECDH failed (low-order or mismatched key)');
  }
  if (z.every((b) => b === 0)) throw badKey('ECDH result is all zeros');
  return new Uint8Array(z);
}
