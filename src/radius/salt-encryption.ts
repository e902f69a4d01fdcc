import { digestInto } from '../util/digest.js';
import { randomOctets } from '../util/random-octets.js';
import { encodeVendorSpecific, getVendorAttributes } from './attributes.js';
import { MicrosoftAttributeType, VendorId } from './dictionary.js';
import { RadiusProtocolError } from './errors.js';
import { RADIUS_AUTHENTICATOR_LENGTH, type RadiusAttribute, type RadiusPacket } from './packet.js';
import { secretBytes, type RadiusSecret } from './secret.js';

/*
 * The salted MD5 stream of RFC 2548 §2.4.2 (MS-MPPE-Send/Recv-Key), identical to RFC 2868 §3.5
 * Tunnel-Password: P = KeyLength ‖ Key ‖ zero padding to 16n;
 * b1 = MD5(S ‖ RA ‖ Salt), bi = MD5(S ‖ c(i-1)); value = Salt ‖ c1 ‖ c2 ‖ ...
 * RA is the Request Authenticator of the Access-Request being answered.
 */

export const SALT_LENGTH = 2;
const BLOCK = 16;
const MAX_KEY_LENGTH = 255; // the length prefix is one octet

function checkRequestAuthenticator(ra: Uint8Array): void {
  if (ra.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    throw new RadiusProtocolError('invalid-argument', `request authenticator has ${ra.length} octets, must be 16`);
  }
}

/**
 * `count` distinct salts with the most significant bit set, as RFC 2548 requires for every salt
 * in one packet (a repeated salt would reuse the key stream).
 */
export function generateSalts(count: number): Uint8Array[] {
  const seen = new Set<number>();
  const out: Uint8Array[] = [];
  while (out.length < count) {
    const r = randomOctets(SALT_LENGTH);
    const n = ((r[0]! | 0x80) << 8) | r[1]!;
    if (seen.has(n)) continue;
    seen.add(n);
    out.push(Uint8Array.of(n >> 8, n & 0xff));
  }
  return out;
}

/** The next key-stream block into `b`: it decrypts the key, so it lives in memory of its own, zeroed after. */
function keyStream(secret: Uint8Array, seed: Uint8Array[], b: Uint8Array): void {
  digestInto('md5', [secret, ...seed], b);
}

export function saltEncrypt(key: Uint8Array, secret: RadiusSecret, requestAuthenticator: Uint8Array, salt: Uint8Array): Uint8Array {
  checkRequestAuthenticator(requestAuthenticator);
  if (salt.length !== SALT_LENGTH || (salt[0]! & 0x80) === 0) {
    throw new RadiusProtocolError('invalid-argument', 'salt must be 2 octets with the most significant bit set');
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new RadiusProtocolError('invalid-argument', `key has ${key.length} octets, max ${MAX_KEY_LENGTH}`);
  }
  const s = secretBytes(secret);
  const padded = Math.ceil((key.length + 1) / BLOCK) * BLOCK;
  const out = new Uint8Array(SALT_LENGTH + padded);
  out.set(salt, 0);
  out[SALT_LENGTH] = key.length;
  out.set(key, SALT_LENGTH + 1);
  const b = new Uint8Array(BLOCK);
  keyStream(s, [requestAuthenticator, salt], b);
  for (let offset = SALT_LENGTH; offset < out.length; offset += BLOCK) {
    for (let i = 0; i < BLOCK; i++) out[offset + i] = out[offset + i]! ^ b[i]!;
    keyStream(s, [out.subarray(offset, offset + BLOCK)], b);
  }
  b.fill(0);
  return out;
}

export function saltDecrypt(value: Uint8Array, secret: RadiusSecret, requestAuthenticator: Uint8Array): Uint8Array {
  checkRequestAuthenticator(requestAuthenticator);
  const cipherLength = value.length - SALT_LENGTH;
  if (cipherLength < BLOCK || cipherLength % BLOCK !== 0) {
    throw new RadiusProtocolError('bad-value', `salt-encrypted value has ${value.length} octets, needs 2 + 16n`);
  }
  const s = secretBytes(secret);
  const plain = new Uint8Array(cipherLength);
  const b = new Uint8Array(BLOCK);
  keyStream(s, [requestAuthenticator, value.subarray(0, SALT_LENGTH)], b);
  for (let offset = 0; offset < cipherLength; offset += BLOCK) {
    const c = value.subarray(SALT_LENGTH + offset, SALT_LENGTH + offset + BLOCK);
    for (let i = 0; i < BLOCK; i++) plain[offset + i] = c[i]! ^ b[i]!;
    keyStream(s, [c], b);
  }
  b.fill(0);
  const keyLength = plain[0]!;
  if (keyLength > cipherLength - 1) {
    // A wrong secret or authenticator usually lands here: the length octet is then noise.
    throw new RadiusProtocolError('bad-value', 'decrypted key length exceeds the encrypted data');
  }
  return plain.slice(1, 1 + keyLength);
}

export const encryptMppeKey = saltEncrypt;
export const decryptMppeKey = saltDecrypt;

export interface MppeKeys {
  recv: Uint8Array;
  send: Uint8Array;
}

/**
 * MS-MPPE-Recv-Key then MS-MPPE-Send-Key, each in its own Vendor-Specific attribute (the form
 * radclient and hostapd produce). Salts are drawn fresh unless given (tests).
 */
export function mppeKeyAttributes(keys: MppeKeys, secret: RadiusSecret, requestAuthenticator: Uint8Array, salts?: readonly [Uint8Array, Uint8Array]): RadiusAttribute[] {
  const [recvSalt, sendSalt] = salts ?? (generateSalts(2) as [Uint8Array, Uint8Array]);
  if (recvSalt[0] === sendSalt[0] && recvSalt[1] === sendSalt[1]) {
    throw new RadiusProtocolError('invalid-argument', 'MS-MPPE salts must differ within a packet');
  }
  return [
    encodeVendorSpecific(VendorId.Microsoft, [
      { vendorType: MicrosoftAttributeType.MsMppeRecvKey, value: saltEncrypt(keys.recv, secret, requestAuthenticator, recvSalt) },
    ]),
    encodeVendorSpecific(VendorId.Microsoft, [
      { vendorType: MicrosoftAttributeType.MsMppeSendKey, value: saltEncrypt(keys.send, secret, requestAuthenticator, sendSalt) },
    ]),
  ];
}

/** Decrypted MS-MPPE keys of a reply (first of each kind); RA is the request's authenticator. */
export function getMppeKeys(p: RadiusPacket, secret: RadiusSecret, requestAuthenticator: Uint8Array): Partial<MppeKeys> {
  const recv = getVendorAttributes(p, VendorId.Microsoft, MicrosoftAttributeType.MsMppeRecvKey)[0];
  const send = getVendorAttributes(p, VendorId.Microsoft, MicrosoftAttributeType.MsMppeSendKey)[0];
  const out: Partial<MppeKeys> = {};
  if (recv !== undefined) out.recv = saltDecrypt(recv, secret, requestAuthenticator);
  if (send !== undefined) out.send = saltDecrypt(send, secret, requestAuthenticator);
  return out;
}
