import type { AccessReply } from '../radius/access-reply.js';
import {
  decodeIpv4, decodeIpv6, getIntegerAttribute, getStringAttribute, integerAttribute, joinEapMessage, stringAttribute,
} from '../radius/attributes.js';
import { RadiusProtocolError } from '../radius/errors.js';
import { AttributeType } from '../radius/dictionary.js';
import { RadiusCode, getAttribute, type RadiusAttribute, type RadiusPacket } from '../radius/packet.js';
import { vlanAttributes } from '../radius/tunnel.js';
import type { EapAuthenticator, EapInput, EapOutcome } from '../eap-methods/authenticator.js';
import { eapFailure } from '../eap-methods/eap-packet.js';
import { describeEap } from '../eap-methods/eap-summary.js';
import type { Grant } from '../eap-methods/method.js';
import type { Log } from '../util/log.js';

export interface AuthorizationDefaults {
  sessionTimeout?: number;
  vlan?: number;
}

/**
 * Translates between RADIUS and the EAP authenticator: the only place that knows both, so that
 * neither module imports the other.
 */
/** The RADIUS client a request came from: its client table entry and the datagram's source address. */
export interface RequestOrigin {
  name: string;
  address: string;
}

export function eapInputFrom(packet: RadiusPacket, client: RequestOrigin): EapInput | undefined {
  const eap = joinEapMessage(packet);
  if (eap === undefined) return undefined;
  const state = getAttribute(packet, AttributeType.State);
  const framedMtu = getIntegerAttribute(packet, AttributeType.FramedMtu);
  const nasIpAddress = addressAttribute(packet, AttributeType.NasIpAddress, decodeIpv4);
  const nasIpv6Address = addressAttribute(packet, AttributeType.NasIpv6Address, decodeIpv6);
  const nasIdentifier = getStringAttribute(packet, AttributeType.NasIdentifier);
  const callingStationId = getStringAttribute(packet, AttributeType.CallingStationId);
  const calledStationId = getStringAttribute(packet, AttributeType.CalledStationId);
  return {
    eap,
    ...(state !== undefined ? { state } : {}),
    ...(framedMtu !== undefined ? { framedMtu } : {}),
    nas: {
      clientName: client.name,
      clientAddress: client.address,
      ...(nasIpAddress !== undefined ? { nasIpAddress } : {}),
      ...(nasIpv6Address !== undefined ? { nasIpv6Address } : {}),
      ...(nasIdentifier !== undefined ? { nasIdentifier } : {}),
      ...(callingStationId !== undefined ? { callingStationId } : {}),
      ...(calledStationId !== undefined ? { calledStationId } : {}),
    },
  };
}

/**
 * An address attribute as text. A value of the wrong length is kept as its octets in hex rather
 * than refused: it still identifies the NAS for conversation binding, and refusing is not ours to do.
 */
function addressAttribute(packet: RadiusPacket, type: number, decode: (value: Uint8Array) => string): string | undefined {
  const value = getAttribute(packet, type);
  if (value === undefined) return undefined;
  try {
    return decode(value);
  } catch (err) {
    if (!(err instanceof RadiusProtocolError)) throw err;
    return `0x${Buffer.from(value).toString('hex')}`;
  }
}

export function accessReplyFrom(outcome: EapOutcome, defaults: AuthorizationDefaults): AccessReply | null {
  switch (outcome.kind) {
    case 'drop':
      return null;
    case 'challenge':
      return { code: RadiusCode.AccessChallenge, eapMessage: outcome.eap, state: outcome.state };
    case 'reject':
      return { code: RadiusCode.AccessReject, eapMessage: outcome.eap };
    case 'accept': {
      // Fail closed: the User-Name of an Accept is who was authenticated, and there is no one.
      if (!hasGrantIdentity(outcome)) return { code: RadiusCode.AccessReject, eapMessage: eapFailure(outcome.eap[1] ?? 0) };
      // RFC 2548 / RFC 5216 §2.3: Recv-Key is the first half of the MSK, Send-Key the second;
      // a 32-octet MSK (EAP-MSCHAPv2) gives two 16-octet keys.
      const half = Math.min(32, outcome.msk.length >> 1);
      return {
        code: RadiusCode.AccessAccept,
        eapMessage: outcome.eap,
        mppe: { recv: outcome.msk.slice(0, half), send: outcome.msk.slice(half, 2 * half) },
        attributes: grantAttributes(outcome.grant, outcome.sessionId, defaults),
      };
    }
  }
}

function grantAttributes(grant: Grant, sessionId: Uint8Array | undefined, defaults: AuthorizationDefaults): RadiusAttribute[] {
  const attrs: RadiusAttribute[] = [];
  // RFC 3579 §3: an Accept answering a request with User-Name carries one. It is always the
  // authenticated identity, never the request's User-Name, which the peer and the NAS choose.
  attrs.push(stringAttribute(AttributeType.UserName, truncateUtf8(grant.identity, 253)));
  if (sessionId !== undefined && sessionId.length <= 253) attrs.push({ type: AttributeType.EapKeyName, value: sessionId });
  const timeout = grant.sessionTimeout ?? defaults.sessionTimeout;
  if (timeout !== undefined) attrs.push(integerAttribute(AttributeType.SessionTimeout, timeout));
  const vlan = grant.vlan ?? defaults.vlan;
  if (vlan !== undefined) attrs.push(...vlanAttributes(vlan));
  if (grant.class !== undefined && grant.class.length > 0 && grant.class.length <= 253) attrs.push({ type: AttributeType.Class, value: grant.class });
  return attrs;
}

function hasGrantIdentity(outcome: Extract<EapOutcome, { kind: 'accept' }>): boolean {
  return outcome.grant.identity.trim().length > 0;
}

function truncateUtf8(s: string, max: number): string {
  let b = Buffer.from(s, 'utf8');
  if (b.length <= max) return s;
  b = b.subarray(0, max);
  return b.toString('utf8').replace(/\uFFFD+$/, '');
}

/** Runs one Access-Request through EAP; logs the outcome with the reason a person needs. */
export async function handleAccessRequest(
  eap: EapAuthenticator,
  packet: RadiusPacket,
  client: RequestOrigin,
  defaults: AuthorizationDefaults,
  log: Log,
): Promise<AccessReply | null> {
  const input = eapInputFrom(packet, client);
  if (!input) {
    log.warn({ client: client.name }, 'Access-Request without EAP-Message rejected: only EAP authentication is offered');
    return { code: RadiusCode.AccessReject };
  }
  const outcome = await eap.handle(input);
  const user = getStringAttribute(packet, AttributeType.UserName);
  // One line per round trip at debug level: what came in and what goes out, headers only.
  log.debug(
    { client: client.name, conversation: 'conversationId' in outcome ? outcome.conversationId : undefined, in: describeEap(input.eap), out: outcome.kind === 'drop' ? `dropped: ${outcome.reason}` : describeEap(outcome.eap), result: outcome.kind },
    'EAP step',
  );
  switch (outcome.kind) {
    case 'accept':
      if (!hasGrantIdentity(outcome)) {
        log.error({ client: client.name, conversation: outcome.conversationId, user, method: outcome.grant.method }, 'Access-Reject: the method granted no authenticated identity (fail closed)');
        break;
      }
      log.info({ client: client.name, conversation: outcome.conversationId, user, identity: outcome.grant.identity, account: outcome.grant.account, method: outcome.grant.method }, 'Access-Accept');
      break;
    case 'reject':
      log.info({ client: client.name, conversation: outcome.conversationId, user, reason: outcome.reason }, 'Access-Reject');
      break;
    case 'drop':
      log.warn({ client: client.name, user, reason: outcome.reason }, 'Access-Request dropped');
      break;
    case 'challenge':
      break;
  }
  return accessReplyFrom(outcome, defaults);
}
