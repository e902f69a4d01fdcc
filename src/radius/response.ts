import { computeResponseAuthenticator, writeAuthenticator } from './authenticator.js';
import { RadiusProtocolError } from './errors.js';
import { MESSAGE_AUTHENTICATOR_TYPE, messageAuthenticatorPlaceholder, signMessageAuthenticator } from './message-authenticator.js';
import { RADIUS_AUTHENTICATOR_LENGTH, encodePacket, type RadiusAttribute } from './packet.js';
import type { RadiusSecret } from './secret.js';

export interface ResponseSpec {
  code: number;
  identifier: number;
  /** Authenticator of the request being answered. */
  requestAuthenticator: Uint8Array;
  attributes: readonly RadiusAttribute[];
  secret: RadiusSecret;
  /**
   * Default true: a Message-Authenticator is inserted as the first attribute (BlastRADIUS
   * mitigation). When `attributes` already holds one, that one is signed where it stands.
   */
  messageAuthenticator?: boolean;
}

/**
 * Encodes and signs any reply (Access-*, Accounting-Response, CoA/Disconnect ACK/NAK):
 * MA first with the request's authenticator in the header, then the Response Authenticator over
 * the finished packet (RFC 3579 §3.2, RFC 2865 §3).
 */
export function encodeResponse(spec: ResponseSpec): Uint8Array {
  if (spec.requestAuthenticator.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    throw new RadiusProtocolError('invalid-argument', `request authenticator has ${spec.requestAuthenticator.length} octets, must be 16`);
  }
  const hasMa = spec.attributes.some((a) => a.type === MESSAGE_AUTHENTICATOR_TYPE);
  const withMa = !hasMa && spec.messageAuthenticator !== false;
  const attributes = withMa ? [messageAuthenticatorPlaceholder(), ...spec.attributes] : [...spec.attributes];
  const bytes = encodePacket({
    code: spec.code,
    identifier: spec.identifier,
    authenticator: spec.requestAuthenticator,
    attributes,
  });
  if (hasMa || withMa) signMessageAuthenticator(bytes, spec.secret);
  writeAuthenticator(bytes, computeResponseAuthenticator(bytes, spec.requestAuthenticator, spec.secret));
  return bytes;
}
