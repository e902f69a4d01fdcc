import { splitEapMessage } from './attributes.js';
import { AttributeType } from './dictionary.js';
import { RadiusProtocolError } from './errors.js';
import { MESSAGE_AUTHENTICATOR_TYPE, messageAuthenticatorPlaceholder } from './message-authenticator.js';
import { RADIUS_HEADER_LENGTH, RADIUS_MAX_PACKET_LENGTH, RadiusCode, getAttributes, type RadiusAttribute, type RadiusPacket } from './packet.js';
import { encodeResponse } from './response.js';
import { mppeKeyAttributes } from './salt-encryption.js';
import type { RadiusSecret } from './secret.js';

/** What an Access-Request handler answers; the codec adds MA, Proxy-State and signatures. */
export interface AccessReply {
  code: typeof RadiusCode.AccessAccept | typeof RadiusCode.AccessReject | typeof RadiusCode.AccessChallenge;
  /** One whole EAP packet; split into 253-octet EAP-Message attributes. */
  eapMessage?: Uint8Array;
  state?: Uint8Array;
  /** Access-Accept only; salt-encrypted with the request authenticator and the client secret. */
  mppe?: { recv: Uint8Array; send: Uint8Array };
  /**
   * Anything else (Session-Timeout, Tunnel-*, Class, User-Name, EAP-Key-Name, ...).
   * Message-Authenticator and Proxy-State here are ignored: the encoder owns both.
   */
  attributes?: RadiusAttribute[];
  /**
   * Not sent. Access-Accept only: the device (TEAP-BRSKI `manufacturer:serialNumber`) whose
   * certificate the Accept rests on, for the server's record of the session.
   */
  deviceId?: string;
}

/** Message-Authenticator as an attribute: type, length, 16 octets. */
const MESSAGE_AUTHENTICATOR_OCTETS = 18;

/**
 * Octets a reply to `request` has for the handler's attributes (EAP-Message, State, keys, ...)
 * once the header, Message-Authenticator and the echoed Proxy-States are counted.
 */
export function replyRoom(request: RadiusPacket): number {
  let proxyStates = 0;
  for (const value of getAttributes(request, AttributeType.ProxyState)) proxyStates += 2 + value.length;
  return RADIUS_MAX_PACKET_LENGTH - RADIUS_HEADER_LENGTH - MESSAGE_AUTHENTICATOR_OCTETS - proxyStates;
}

/**
 * The room every Access-Request must leave, or it is dropped before the handler runs. The largest
 * Accept our server sends needs 912 octets (User-Name, EAP-Key-Name and Class at 255 each, the two
 * MS-MPPE keys 116, Session-Timeout, three tunnel attributes and EAP-Success); an Access-Challenge
 * shrinks its EAP fragment to what is left (server/radius-eap-bridge.ts). 1024 leaves a margin and
 * still allows eleven full-size Proxy-States.
 */
export const MIN_REPLY_ROOM = 1024;

const REPLY_CODES: ReadonlySet<number> = new Set([RadiusCode.AccessAccept, RadiusCode.AccessReject, RadiusCode.AccessChallenge]);

/**
 * Encodes the reply to `request` in the order MA, Proxy-State* (echoed in request order,
 * RFC 2865 §5.33), the handler's attributes, EAP-Message*, State, MS-MPPE-Recv/Send-Key.
 * MA first and before every echoed octet is the BlastRADIUS mitigation.
 */
export function encodeAccessReply(
  reply: AccessReply,
  request: RadiusPacket,
  secret: RadiusSecret,
  options: { salts?: readonly [Uint8Array, Uint8Array] } = {},
): Uint8Array {
  if (!REPLY_CODES.has(reply.code)) {
    throw new RadiusProtocolError('invalid-argument', `Access reply code ${String(reply.code)} is not Accept, Reject or Challenge`);
  }
  if (reply.mppe !== undefined && reply.code !== RadiusCode.AccessAccept) {
    // RFC 2548: keys ride only in Access-Accept; anywhere else is a leak.
    throw new RadiusProtocolError('invalid-argument', 'MS-MPPE keys may only be sent in Access-Accept');
  }
  const attributes: RadiusAttribute[] = [messageAuthenticatorPlaceholder()];
  for (const value of getAttributes(request, AttributeType.ProxyState)) {
    attributes.push({ type: AttributeType.ProxyState, value });
  }
  for (const a of reply.attributes ?? []) {
    if (a.type !== MESSAGE_AUTHENTICATOR_TYPE && a.type !== AttributeType.ProxyState) attributes.push(a);
  }
  if (reply.eapMessage !== undefined) attributes.push(...splitEapMessage(reply.eapMessage));
  if (reply.state !== undefined) attributes.push({ type: AttributeType.State, value: reply.state });
  if (reply.mppe !== undefined) attributes.push(...mppeKeyAttributes(reply.mppe, secret, request.authenticator, options.salts));
  return encodeResponse({
    code: reply.code,
    identifier: request.identifier,
    requestAuthenticator: request.authenticator,
    attributes,
    secret,
  });
}
