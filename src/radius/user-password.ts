import { createHash } from 'node:crypto';
import { RadiusProtocolError } from './errors.js';
import { RADIUS_AUTHENTICATOR_LENGTH } from './packet.js';
import { secretBytes, type RadiusSecret } from './secret.js';

/*
 * User-Password hiding, RFC 2865 §5.2: P padded with NULs to 16n (at most 128 octets);
 * b1 = MD5(S ‖ RA), bi = MD5(S ‖ c(i-1)); ci = pi XOR bi.
 */

const BLOCK = 16;
export const USER_PASSWORD_MAX_LENGTH = 128;

function checkRequestAuthenticator(ra: Uint8Array): void {
  if (ra.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    throw new RadiusProtocolError('invalid-argument', `request authenticator has ${ra.length} octets, must be 16`);
  }
}

export function encodeUserPassword(password: string | Uint8Array, secret: RadiusSecret, requestAuthenticator: Uint8Array): Uint8Array {
  checkRequestAuthenticator(requestAuthenticator);
  const p = typeof password === 'string' ? new TextEncoder().encode(password) : password;
  if (p.length > USER_PASSWORD_MAX_LENGTH) {
    throw new RadiusProtocolError('invalid-argument', `password has ${p.length} octets, max ${USER_PASSWORD_MAX_LENGTH}`);
  }
  const s = secretBytes(secret);
  const out = new Uint8Array(Math.max(BLOCK, Math.ceil(p.length / BLOCK) * BLOCK));
  out.set(p);
  let previous = requestAuthenticator;
  for (let offset = 0; offset < out.length; offset += BLOCK) {
    const b = createHash('md5').update(s).update(previous).digest();
    for (let i = 0; i < BLOCK; i++) out[offset + i] = out[offset + i]! ^ b[i]!;
    previous = out.subarray(offset, offset + BLOCK);
  }
  return out;
}

/** Trailing NULs are padding, so a password can never end in NUL (RFC 2865 §5.2). */
export function decodeUserPassword(value: Uint8Array, secret: RadiusSecret, requestAuthenticator: Uint8Array): Uint8Array {
  checkRequestAuthenticator(requestAuthenticator);
  if (value.length < BLOCK || value.length > USER_PASSWORD_MAX_LENGTH || value.length % BLOCK !== 0) {
    throw new RadiusProtocolError('bad-value', `User-Password has ${value.length} octets, needs 16n with 16 <= n*16 <= 128`);
  }
  const s = secretBytes(secret);
  const plain = new Uint8Array(value.length);
  let previous = requestAuthenticator;
  for (let offset = 0; offset < value.length; offset += BLOCK) {
    const b = createHash('md5').update(s).update(previous).digest();
    for (let i = 0; i < BLOCK; i++) plain[offset + i] = value[offset + i]! ^ b[i]!;
    previous = value.subarray(offset, offset + BLOCK);
  }
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  return plain.slice(0, end);
}
