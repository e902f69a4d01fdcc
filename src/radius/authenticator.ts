import { randomBytes, timingSafeEqual } from 'node:crypto';
import { digest } from '../util/digest.js';
import { RADIUS_AUTHENTICATOR_LENGTH, RADIUS_HEADER_LENGTH, readPacketLength } from './packet.js';
import { secretBytes, type RadiusSecret } from './secret.js';

/*
 * The MD5 Authenticator field (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3). Every function takes
 * an encoded packet; only the first Length octets count, so received padding is harmless.
 */

const ZERO_AUTHENTICATOR = new Uint8Array(RADIUS_AUTHENTICATOR_LENGTH);

/** Access-Request / Status-Server authenticators must be unpredictable (RFC 2865 §3). */
export function randomAuthenticator(): Uint8Array {
  return new Uint8Array(randomBytes(RADIUS_AUTHENTICATOR_LENGTH));
}

/** Length-safe wrapper: timingSafeEqual throws on unequal sizes. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function md5WithAuthenticator(packet: Uint8Array, authenticator: Uint8Array, secret: RadiusSecret): Uint8Array {
  const length = readPacketLength(packet);
  return digest('md5', [packet.subarray(0, 4), authenticator, packet.subarray(RADIUS_HEADER_LENGTH, length), secretBytes(secret)]);
}

/** MD5(Code ‖ Id ‖ Length ‖ RequestAuthenticator ‖ Attributes ‖ Secret): every reply code. */
export function computeResponseAuthenticator(packet: Uint8Array, requestAuthenticator: Uint8Array, secret: RadiusSecret): Uint8Array {
  return md5WithAuthenticator(packet, requestAuthenticator, secret);
}

export function verifyResponseAuthenticator(packet: Uint8Array, requestAuthenticator: Uint8Array, secret: RadiusSecret): boolean {
  const expected = computeResponseAuthenticator(packet, requestAuthenticator, secret);
  return constantTimeEqual(expected, packet.subarray(4, RADIUS_HEADER_LENGTH));
}

/**
 * Request Authenticator of Accounting-Request, Disconnect-Request and CoA-Request:
 * the same MD5 with sixteen zero octets in place of the authenticator.
 */
export function computeAccountingAuthenticator(packet: Uint8Array, secret: RadiusSecret): Uint8Array {
  return md5WithAuthenticator(packet, ZERO_AUTHENTICATOR, secret);
}

export function verifyAccountingAuthenticator(packet: Uint8Array, secret: RadiusSecret): boolean {
  const expected = computeAccountingAuthenticator(packet, secret);
  return constantTimeEqual(expected, packet.subarray(4, RADIUS_HEADER_LENGTH));
}

export function writeAuthenticator(packet: Uint8Array, authenticator: Uint8Array): void {
  packet.set(authenticator, 4);
}
