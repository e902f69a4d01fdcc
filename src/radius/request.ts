import {
  computeAccountingAuthenticator,
  randomAuthenticator,
  verifyAccountingAuthenticator,
  verifyResponseAuthenticator,
  writeAuthenticator,
} from './authenticator.js';
import { AttributeType } from './dictionary.js';
import { RadiusProtocolError } from './errors.js';
import {
  MESSAGE_AUTHENTICATOR_TYPE,
  checkMessageAuthenticator,
  messageAuthenticatorPlaceholder,
  signMessageAuthenticator,
} from './message-authenticator.js';
import {
  RADIUS_AUTHENTICATOR_LENGTH,
  RadiusCode,
  decodePacket,
  encodePacket,
  readPacketLength,
  type RadiusAttribute,
  type RadiusPacket,
} from './packet.js';
import type { RadiusSecret } from './secret.js';
import { encodeUserPassword } from './user-password.js';

/*
 * The client half: building signed requests and verifying replies to them. Used by our own EAP
 * peers and the load generator, and by the server for CoA/Disconnect (RFC 5176).
 */

export interface BuiltRequest {
  bytes: Uint8Array;
  /** Keep it: replies are verified and MPPE keys decrypted against it. */
  authenticator: Uint8Array;
}

export interface AccessRequestSpec {
  identifier: number;
  attributes: readonly RadiusAttribute[];
  secret: RadiusSecret;
  /** Access-Request (default) or Status-Server: both use a random Request Authenticator. */
  code?: typeof RadiusCode.AccessRequest | typeof RadiusCode.StatusServer;
  /** Only for reproducing fixed vectors; real requests must use a fresh random value. */
  authenticator?: Uint8Array;
  /** Hidden with the request's authenticator and placed after User-Name (or after the MA). */
  userPassword?: string | Uint8Array;
}

function checkAuthenticator(a: Uint8Array): void {
  if (a.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    throw new RadiusProtocolError('invalid-argument', `authenticator has ${a.length} octets, must be 16`);
  }
}

/**
 * Access-Request with a Message-Authenticator, always (BlastRADIUS draft: clients MUST).
 * It goes first unless `attributes` already contains one, which is then signed in place.
 */
export function buildAccessRequest(spec: AccessRequestSpec): BuiltRequest {
  const authenticator = spec.authenticator ?? randomAuthenticator();
  checkAuthenticator(authenticator);
  const attributes = [...spec.attributes];
  if (!attributes.some((a) => a.type === MESSAGE_AUTHENTICATOR_TYPE)) attributes.unshift(messageAuthenticatorPlaceholder());
  if (spec.userPassword !== undefined) {
    const value = encodeUserPassword(spec.userPassword, spec.secret, authenticator);
    const userName = attributes.findIndex((a) => a.type === AttributeType.UserName);
    const after = userName >= 0 ? userName : attributes.findIndex((a) => a.type === MESSAGE_AUTHENTICATOR_TYPE);
    attributes.splice(after + 1, 0, { type: AttributeType.UserPassword, value });
  }
  const bytes = encodePacket({ code: spec.code ?? RadiusCode.AccessRequest, identifier: spec.identifier, authenticator, attributes });
  signMessageAuthenticator(bytes, spec.secret);
  return { bytes, authenticator: authenticator.slice() };
}

/** RFC 5997 §3: Status-Server carries a Message-Authenticator and nothing else is needed. */
export function buildStatusServer(spec: { identifier: number; secret: RadiusSecret; attributes?: readonly RadiusAttribute[]; authenticator?: Uint8Array }): BuiltRequest {
  const built: AccessRequestSpec = { identifier: spec.identifier, secret: spec.secret, attributes: spec.attributes ?? [], code: RadiusCode.StatusServer };
  if (spec.authenticator !== undefined) built.authenticator = spec.authenticator;
  return buildAccessRequest(built);
}

export interface AccountingStyleRequestSpec {
  /** Accounting-Request (4), Disconnect-Request (40) or CoA-Request (43). */
  code: number;
  identifier: number;
  attributes: readonly RadiusAttribute[];
  secret: RadiusSecret;
  /** Default false (optional for these codes). An MA already in `attributes` is always signed. */
  messageAuthenticator?: boolean;
}

/**
 * Requests whose authenticator is MD5 over the packet with a zero authenticator. The MA, if any,
 * is computed first over the packet with both the authenticator and its own value zeroed.
 */
export function buildAccountingStyleRequest(spec: AccountingStyleRequestSpec): BuiltRequest {
  const attributes = [...spec.attributes];
  const hasMa = attributes.some((a) => a.type === MESSAGE_AUTHENTICATOR_TYPE);
  if (!hasMa && spec.messageAuthenticator === true) attributes.unshift(messageAuthenticatorPlaceholder());
  const zero = new Uint8Array(RADIUS_AUTHENTICATOR_LENGTH);
  const bytes = encodePacket({ code: spec.code, identifier: spec.identifier, authenticator: zero, attributes });
  if (hasMa || spec.messageAuthenticator === true) signMessageAuthenticator(bytes, spec.secret, zero);
  const authenticator = computeAccountingAuthenticator(bytes, spec.secret);
  writeAuthenticator(bytes, authenticator);
  return { bytes, authenticator };
}

export interface VerifyResponseOptions {
  /**
   * Default true: a reply without Message-Authenticator is refused. Turn off only for replies
   * that predate RFC 3579 (Accounting-Response, legacy servers); a present MA is always checked.
   */
  requireMessageAuthenticator?: boolean;
}

/** Decodes a reply and checks its Response Authenticator and Message-Authenticator. */
export function verifyResponse(bytes: Uint8Array, requestAuthenticator: Uint8Array, secret: RadiusSecret, options: VerifyResponseOptions = {}): RadiusPacket {
  checkAuthenticator(requestAuthenticator);
  const packet = decodePacket(bytes);
  const exact = bytes.subarray(0, readPacketLength(bytes));
  if (!verifyResponseAuthenticator(exact, requestAuthenticator, secret)) {
    throw new RadiusProtocolError('bad-authenticator', 'Response Authenticator does not verify');
  }
  const ma = checkMessageAuthenticator(exact, secret, requestAuthenticator);
  if (ma === 'invalid') throw new RadiusProtocolError('bad-message-authenticator', 'Message-Authenticator does not verify');
  if (ma === 'absent' && options.requireMessageAuthenticator !== false) {
    throw new RadiusProtocolError('missing-message-authenticator', 'reply carries no Message-Authenticator');
  }
  return packet;
}

/** Receiving side of buildAccountingStyleRequest (a NAS, or tests standing in for one). */
export function verifyAccountingStyleRequest(bytes: Uint8Array, secret: RadiusSecret): RadiusPacket {
  const packet = decodePacket(bytes);
  const exact = bytes.subarray(0, readPacketLength(bytes));
  if (!verifyAccountingAuthenticator(exact, secret)) {
    throw new RadiusProtocolError('bad-authenticator', 'Request Authenticator does not verify');
  }
  if (checkMessageAuthenticator(exact, secret, new Uint8Array(RADIUS_AUTHENTICATOR_LENGTH)) === 'invalid') {
    throw new RadiusProtocolError('bad-message-authenticator', 'Message-Authenticator does not verify');
  }
  return packet;
}
