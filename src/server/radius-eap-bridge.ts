import type { AccessReply } from '../radius/access-reply.js';
import {
  decodeInteger, decodeIpv4, decodeIpv6, getStringAttribute, integerAttribute, joinEapMessage, stringAttribute,
} from '../radius/attributes.js';
import { RadiusProtocolError } from '../radius/errors.js';
import { AttributeType } from '../radius/dictionary.js';
import { RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH, RadiusCode, getAttribute, type RadiusAttribute, type RadiusPacket } from '../radius/packet.js';
import { replyRoom } from '../radius/access-reply.js';
import { vlanAttributes } from '../radius/tunnel.js';
import type { EapAuthenticator, EapInput, EapOutcome } from '../eap-methods/authenticator.js';
import { eapFailure } from '../eap-methods/eap-packet.js';
import type { Grant, NasFacts } from '../eap-methods/method.js';
import type { Authorization } from '../policy/authorization-policy.js';
import { describeEap } from '../eap-methods/eap-summary.js';
import type { Log } from '../util/log.js';
import { AccessRefusal } from './access-refusal.js';
import { clipForLog } from '../util/log-fields.js';
import { LogLimiter } from '../util/log-limiter.js';

/** Fixed authorization for every Accept (tests and embedders); the server uses an `Authorize`. */
export type AuthorizationDefaults = Authorization;

/**
 * Decides what an authenticated session gets from its grant (src/server/authorizer.ts over
 * src/policy). It may consult stores; if it throws, the Accept becomes a Reject (fail closed); an
 * AccessRefusal is its deliberate "no", with the reason.
 */
export type Authorize = (grant: Grant, nas: NasFacts) => Promise<AuthorizeResult>;

/** What the Accept gets, where each attribute came from (for the log), and the device it rests on (for the session record). */
export type AuthorizeResult = Authorization & { sources?: Record<string, string>; deviceId?: string };

/**
 * Translates between RADIUS and the EAP authenticator: the only place that knows both, so that
 * neither module imports the other.
 */
/** The RADIUS client a request came from: its client table entry and the datagram's source address. */
export interface RequestOrigin {
  name: string;
  address: string;
}

export function eapInputFrom(packet: RadiusPacket, client: RequestOrigin, log?: Log): EapInput | undefined {
  const eap = joinEapMessage(packet);
  if (eap === undefined) return undefined;
  const state = getAttribute(packet, AttributeType.State);
  const framedMtu = framedMtuOf(packet, client, log);
  const nasIpAddress = addressAttribute(packet, AttributeType.NasIpAddress, decodeIpv4);
  const nasIpv6Address = addressAttribute(packet, AttributeType.NasIpv6Address, decodeIpv6);
  const nasIdentifier = getStringAttribute(packet, AttributeType.NasIdentifier);
  const callingStationId = getStringAttribute(packet, AttributeType.CallingStationId);
  const calledStationId = getStringAttribute(packet, AttributeType.CalledStationId);
  return {
    eap,
    ...(state !== undefined ? { state } : {}),
    ...(framedMtu !== undefined ? { framedMtu } : {}),
    maxEapPacket: eapRoom(replyRoom(packet)),
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
 * State in an Access-Challenge: type, length and our octets, 17 with worker threads (the worker's
 * octet and 16 random ones; src/server/workers/routing.ts), 16 without. Room for the larger.
 */
const STATE_OCTETS = 2 + 17;

/**
 * The largest EAP packet an Access-Challenge can carry in `room` octets: split into EAP-Message
 * attributes of 253 octets (2 more each), with State beside it. Proxy-States shrink the room.
 */
export function eapRoom(room: number): number {
  const perAttribute = RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH + 2;
  const usable = room - STATE_OCTETS;
  if (usable <= 2) return 0;
  const full = Math.floor(usable / perAttribute);
  const rest = usable - full * perAttribute;
  return full * RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH + Math.max(0, rest - 2);
}

/**
 * Framed-MTU is a hint for fragment size; one that is not 4 octets (RFC 2865 §5.12) is ignored, so
 * the conversation runs with the default size instead of the request failing.
 */
function framedMtuOf(packet: RadiusPacket, client: RequestOrigin, log: Log | undefined): number | undefined {
  const value = getAttribute(packet, AttributeType.FramedMtu);
  if (value === undefined) return undefined;
  if (value.length !== 4) {
    log?.debug({ client: client.name, octets: value.length }, 'Framed-MTU that is not 4 octets ignored');
    return undefined;
  }
  return decodeInteger(value);
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

export function accessReplyFrom(outcome: EapOutcome, defaults: AuthorizeResult): AccessReply | null {
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
        ...(defaults.deviceId !== undefined ? { deviceId: defaults.deviceId } : {}),
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
  if (defaults.filterId !== undefined) {
    const filterId = new TextEncoder().encode(defaults.filterId);
    if (filterId.length > 0 && filterId.length <= 253) attrs.push({ type: AttributeType.FilterId, value: filterId });
  }
  const cls = grant.class !== undefined && grant.class.length > 0 ? grant.class : defaults.class;
  if (cls !== undefined && cls.length > 0 && cls.length <= 253) attrs.push({ type: AttributeType.Class, value: cls });
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
  authorization: AuthorizationDefaults | Authorize,
  log: Log,
): Promise<AccessReply | null> {
  const input = eapInputFrom(packet, client, log);
  if (!input) {
    warnings.warn(log, `no-eap|${client.name}`, { client: client.name }, 'Access-Request without EAP-Message rejected: only EAP authentication is offered');
    return { code: RadiusCode.AccessReject };
  }
  const outcome = await eap.handle(input);
  // The NAS and the peer choose User-Name; reasons may quote the peer's identity.
  const userName = getStringAttribute(packet, AttributeType.UserName);
  const user = userName === undefined ? undefined : clipForLog(userName);
  let authz: AuthorizeResult = typeof authorization === 'function' ? {} : authorization;
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
      if (typeof authorization === 'function') {
        try {
          authz = await authorization(outcome.grant, input.nas);
        } catch (err) {
          // A refused device retries: one warning per client, identity and window, the rest at debug.
          if (err instanceof AccessRefusal) warnings.warn(log, `refused|${client.name}|${outcome.grant.identity.slice(0, 128)}`, { client: client.name, conversation: outcome.conversationId, identity: clipForLog(outcome.grant.identity), method: outcome.grant.method, reason: clipForLog(err.reason) }, 'Access-Reject: refused by the credential policy');
          else log.error({ client: client.name, conversation: outcome.conversationId, identity: outcome.grant.identity, err: (err as Error).message }, 'Access-Reject: the authorization policy could not be applied (fail closed)');
          return { code: RadiusCode.AccessReject, eapMessage: eapFailure(outcome.eap[1] ?? 0) };
        }
      }
      log.info(
        {
          client: client.name, conversation: outcome.conversationId, user, identity: outcome.grant.identity, account: outcome.grant.account, method: outcome.grant.method,
          ...(authz.vlan !== undefined ? { vlan: authz.vlan } : {}),
          ...(authz.sources && Object.keys(authz.sources).length > 0 ? { policy: authz.sources } : {}),
        },
        'Access-Accept',
      );
      break;
    case 'reject':
      log.info({ client: client.name, conversation: outcome.conversationId, user, reason: clipForLog(outcome.reason) }, 'Access-Reject');
      break;
    case 'drop':
      warnings.warn(log, `drop|${client.name}`, { client: client.name, user, reason: clipForLog(outcome.reason) }, 'Access-Request dropped');
      break;
    case 'challenge':
      break;
  }
  return accessReplyFrom(outcome, authz);
}

/** Per client, one warning per window for what a flood repeats (as the RADIUS layer does); the rest at debug. */
const warnings = new LogLimiter(10_000);
