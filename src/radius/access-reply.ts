import { splitEapMessage } from './attributes.js';
import { AttributeType } from './dictionary.js';
import { RadiusProtocolError } from './errors.js';
import { MESSAGE_AUTHENTICATOR_TYPE, messageAuthenticatorPlaceholder } from './message-authenticator.js';
import { RadiusCode, getAttributes, type RadiusAttribute, type RadiusPacket } from './packet.js';
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
}

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
