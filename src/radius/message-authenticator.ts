import { hmac, hmacInto } from '../util/digest.js';
import { constantTimeEqual } from './authenticator.js';
import { RadiusProtocolError } from './errors.js';
import { RADIUS_AUTHENTICATOR_LENGTH, findAttributeOffsets, readPacketLength, type RadiusAttribute } from './packet.js';
import { secretBytes, type RadiusSecret } from './secret.js';

/*
 * Message-Authenticator (80), RFC 3579 §3.2 / RFC 5176 §3.4: HMAC-MD5 keyed with the shared
 * secret over the packet with the attribute's value zeroed. What sits in the Authenticator
 * field during the HMAC depends on the packet kind, so callers pass it:
 *   Access-Request, Status-Server        -> omit (the packet's own Request Authenticator)
 *   any reply (Access-*, *-ACK/NAK, ...) -> the Request Authenticator of the request answered
 *   CoA-Request, Disconnect-Request      -> sixteen zero octets
 */

export const MESSAGE_AUTHENTICATOR_TYPE = 80;
const VALUE_LENGTH = 16;
const ZERO_VALUE = new Uint8Array(VALUE_LENGTH);

/** Placeholder attribute: encode it where the MA should sit, then sign the encoded bytes. */
export function messageAuthenticatorPlaceholder(): RadiusAttribute {
  return { type: MESSAGE_AUTHENTICATOR_TYPE, value: new Uint8Array(VALUE_LENGTH) };
}

/** Offset of the single MA attribute's header; undefined when absent, throws when repeated. */
function locate(packet: Uint8Array): number | undefined {
  const offsets = findAttributeOffsets(packet, MESSAGE_AUTHENTICATOR_TYPE);
  if (offsets.length > 1) {
    throw new RadiusProtocolError('bad-message-authenticator', `packet carries ${offsets.length} Message-Authenticator attributes`);
  }
  return offsets[0];
}

function hmacAt(packet: Uint8Array, offset: number, secret: RadiusSecret, authenticatorField: Uint8Array | undefined, into?: Uint8Array): Uint8Array {
  if (authenticatorField !== undefined && authenticatorField.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    throw new RadiusProtocolError('invalid-argument', `authenticator has ${authenticatorField.length} octets, must be 16`);
  }
  const length = readPacketLength(packet);
  // Fed in pieces around the Authenticator field and the MA value, never a copy of the packet
  // and never a write into it (a dgram Buffer arrives here as-is and is the caller's).
  // A value cut short by the packet's end is zeroed as far as it goes, as in the packet itself.
  const valueEnd = Math.min(offset + 2 + VALUE_LENGTH, length);
  const pieces = [
    packet.subarray(0, 4),
    authenticatorField ?? packet.subarray(4, 4 + RADIUS_AUTHENTICATOR_LENGTH),
    packet.subarray(4 + RADIUS_AUTHENTICATOR_LENGTH, offset + 2),
    ZERO_VALUE.subarray(0, Math.max(0, valueEnd - offset - 2)),
    packet.subarray(valueEnd, length),
  ];
  if (into === undefined) return hmac('md5', secretBytes(secret), pieces);
  // Every piece is read before the digest is written, so the MA's own octets may be the target.
  hmacInto('md5', secretBytes(secret), pieces, into);
  return into;
}

/** The HMAC the packet's Message-Authenticator should hold; throws if there is none. */
export function computeMessageAuthenticator(packet: Uint8Array, secret: RadiusSecret, authenticatorField?: Uint8Array): Uint8Array {
  const offset = locate(packet);
  if (offset === undefined) {
    throw new RadiusProtocolError('missing-message-authenticator', 'packet has no Message-Authenticator to compute');
  }
  return hmacAt(packet, offset, secret, authenticatorField);
}

/** Computes and writes the MA value in place. Must run before the Response Authenticator. */
export function signMessageAuthenticator(packet: Uint8Array, secret: RadiusSecret, authenticatorField?: Uint8Array): void {
  const offset = locate(packet);
  if (offset === undefined) {
    throw new RadiusProtocolError('missing-message-authenticator', 'packet has no Message-Authenticator to sign');
  }
  if (offset + 2 + VALUE_LENGTH > readPacketLength(packet)) {
    throw new RadiusProtocolError('bad-message-authenticator', 'Message-Authenticator runs past the packet');
  }
  hmacAt(packet, offset, secret, authenticatorField, packet.subarray(offset + 2, offset + 2 + VALUE_LENGTH));
}

export type MessageAuthenticatorStatus = 'absent' | 'valid' | 'invalid';

/**
 * Verifies wherever the attribute sits: receivers must not care about its position
 * (BlastRADIUS draft). Two MAs make the packet invalid rather than ambiguous.
 */
export function checkMessageAuthenticator(packet: Uint8Array, secret: RadiusSecret, authenticatorField?: Uint8Array): MessageAuthenticatorStatus {
  let offset: number | undefined;
  try {
    offset = locate(packet);
  } catch (e) {
    if (e instanceof RadiusProtocolError && e.code === 'bad-message-authenticator') return 'invalid';
    throw e;
  }
  if (offset === undefined) return 'absent';
  const expected = hmacAt(packet, offset, secret, authenticatorField);
  return constantTimeEqual(expected, packet.subarray(offset + 2, offset + 2 + VALUE_LENGTH)) ? 'valid' : 'invalid';
}

/** Throwing form of checkMessageAuthenticator for callers that require the attribute. */
export function verifyMessageAuthenticator(packet: Uint8Array, secret: RadiusSecret, authenticatorField?: Uint8Array): void {
  const status = checkMessageAuthenticator(packet, secret, authenticatorField);
  if (status === 'absent') throw new RadiusProtocolError('missing-message-authenticator', 'Message-Authenticator required but absent');
  if (status === 'invalid') throw new RadiusProtocolError('bad-message-authenticator', 'Message-Authenticator does not verify');
}
