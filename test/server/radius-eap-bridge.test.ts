import fc from 'fast-check';
import type { EapAuthenticator, EapInput, EapOutcome } from '../../src/eap-methods/authenticator.js';
import { encodeEap, eapSuccess } from '../../src/eap-methods/eap-packet.js';
import { MIN_REPLY_ROOM, encodeAccessReply, replyRoom } from '../../src/radius/access-reply.js';
import { RADIUS_MAX_PACKET_LENGTH } from '../../src/radius/packet.js';
import { AttributeType, RadiusCode, splitEapMessage, stringAttribute, type RadiusPacket } from '../../src/radius/index.js';
import { accessReplyFrom, eapInputFrom, eapRoom, handleAccessRequest } from '../../src/server/radius-eap-bridge.js';
import { AccessRefusal } from '../../src/server/access-refusal.js';
import { MemoryLog } from '../helpers/silent-log.js';

const eapResponse = encodeEap({ code: 2, identifier: 9, type: 13, data: Uint8Array.of(0) });

function request(extra: RadiusPacket['attributes'] = []): RadiusPacket {
  return {
    code: RadiusCode.AccessRequest,
    identifier: 1,
    authenticator: new Uint8Array(16),
    attributes: [stringAttribute(AttributeType.UserName, 'ceo@corp.example'), ...splitEapMessage(eapResponse), ...extra],
  };
}

function accept(identity: string): Extract<EapOutcome, { kind: 'accept' }> {
  return { kind: 'accept', eap: eapSuccess(9), msk: new Uint8Array(64).fill(7), grant: { identity, method: 'eap-tls' }, identity: 'ceo@corp.example', conversationId: 'c1' };
}

describe('RADIUS ↔ EAP bridge', () => {
  test('the Accept\'s User-Name is the grant identity, not the request\'s', () => {
    const reply = accessReplyFrom(accept('alice'), {});
    expect(reply?.code).toBe(RadiusCode.AccessAccept);
    const names = (reply?.attributes ?? []).filter((a) => a.type === AttributeType.UserName).map((a) => Buffer.from(a.value).toString());
    expect(names).toEqual(['alice']);
  });

  test.each(['', '  '])('an accept whose grant names no one (%j) becomes an Access-Reject with EAP-Failure and no keys', (identity) => {
    expect(accessReplyFrom(accept(identity), {})).toEqual({ code: RadiusCode.AccessReject, eapMessage: Uint8Array.of(4, 9, 0, 4) });
  });

  test('handleAccessRequest fails closed on such an accept and logs it at error level', async () => {
    const log = new MemoryLog();
    const eap = { handle: async (): Promise<EapOutcome> => accept('') } as unknown as EapAuthenticator;
    const reply = await handleAccessRequest(eap, request(), { name: 'nas-1', address: '127.0.0.1' }, {}, log);
    expect(reply).toEqual({ code: RadiusCode.AccessReject, eapMessage: Uint8Array.of(4, 9, 0, 4) });
    expect(log.lines.filter((l) => l.level !== 'debug')).toEqual([expect.objectContaining({ level: 'error', msg: 'Access-Reject: the method granted no authenticated identity (fail closed)' })]);
  });

  test('NAS facts: client entry, source address, NAS-IP/IPv6-Address (a malformed one kept as hex), NAS-Identifier, stations', () => {
    const input = eapInputFrom(request([
      { type: AttributeType.NasIpAddress, value: Uint8Array.of(192, 0, 2, 1) },
      { type: AttributeType.NasIpv6Address, value: Uint8Array.of(1, 2, 3) },
      stringAttribute(AttributeType.NasIdentifier, 'ap-1'),
      stringAttribute(AttributeType.CallingStationId, '02-00-00-00-00-01'),
      stringAttribute(AttributeType.CalledStationId, 'AA-BB-CC-DD-EE-FF:corp'),
    ]), { name: 'nas-1', address: '127.0.0.2' });
    expect(input?.nas).toEqual<EapInput['nas']>({
      clientName: 'nas-1', clientAddress: '127.0.0.2', nasIpAddress: '192.0.2.1', nasIpv6Address: '0x010203',
      nasIdentifier: 'ap-1', callingStationId: '02-00-00-00-00-01', calledStationId: 'AA-BB-CC-DD-EE-FF:corp',
    });
  });
});

describe('RADIUS ↔ EAP bridge: the credential policy\'s authorization', () => {
  const attrs = (reply: Awaited<ReturnType<typeof handleAccessRequest>>, type: number) => (reply?.attributes ?? []).filter((a) => a.type === type).map((a) => Buffer.from(a.value));

  test('VLAN (RFC 3580), Session-Timeout, Filter-Id and Class reach the Accept; the grant\'s own values win', async () => {
    const eap = { handle: async (): Promise<EapOutcome> => accept('alice') } as unknown as EapAuthenticator;
    let seen: { identity: string; nas: string } | undefined;
    const reply = await handleAccessRequest(eap, request(), { name: 'nas-1', address: '127.0.0.1' }, async (grant, nas) => {
      seen = { identity: grant.identity, nas: nas.clientName };
      return { vlan: 'staff', sessionTimeout: 600, filterId: 'staff-acl', class: new TextEncoder().encode('c1'), sources: { vlan: 'users.alice' } };
    }, new MemoryLog());
    expect(seen).toEqual({ identity: 'alice', nas: 'nas-1' });
    expect(attrs(reply, AttributeType.TunnelType)).toEqual([Buffer.from([0, 0, 0, 13])]);
    expect(attrs(reply, AttributeType.TunnelMediumType)).toEqual([Buffer.from([0, 0, 0, 6])]);
    expect(attrs(reply, AttributeType.TunnelPrivateGroupId)).toEqual([Buffer.from('\u0000staff')]);
    expect(attrs(reply, AttributeType.SessionTimeout)).toEqual([Buffer.from([0, 0, 2, 88])]);
    expect(attrs(reply, AttributeType.FilterId)).toEqual([Buffer.from('staff-acl')]);
    expect(attrs(reply, AttributeType.Class)).toEqual([Buffer.from('c1')]);

    const granted: Extract<EapOutcome, { kind: 'accept' }> = { ...accept('bob'), grant: { identity: 'bob', method: 'plugin', vlan: 7, class: Uint8Array.of(9) } };
    const own = accessReplyFrom(granted, { vlan: 20, class: Uint8Array.of(1) });
    expect(attrs(own, AttributeType.TunnelPrivateGroupId)).toEqual([Buffer.from('\u00007')]);
    expect(attrs(own, AttributeType.Class)).toEqual([Buffer.from([9])]);
  });

  test('a policy that cannot be applied turns the Accept into a Reject with EAP-Failure (fail closed), logged', async () => {
    const log = new MemoryLog();
    const eap = { handle: async (): Promise<EapOutcome> => accept('alice') } as unknown as EapAuthenticator;
    const reply = await handleAccessRequest(eap, request(), { name: 'nas-1', address: '127.0.0.1' }, async () => { throw new Error('database is locked'); }, log);
    expect(reply).toEqual({ code: RadiusCode.AccessReject, eapMessage: Uint8Array.of(4, 9, 0, 4) });
    expect(log.lines.filter((l) => l.level !== 'debug')).toEqual([expect.objectContaining({ level: 'error', msg: 'Access-Reject: the authorization policy could not be applied (fail closed)', obj: expect.objectContaining({ err: 'database is locked' }) })]);
  });

  test('the policy\'s deliberate refusal (AccessRefusal) is an Access-Reject with EAP-Failure and its reason, a warning, not an error', async () => {
    const log = new MemoryLog();
    const eap = { handle: async (): Promise<EapOutcome> => accept('acme:SN-2') } as unknown as EapAuthenticator;
    const reply = await handleAccessRequest(eap, request(), { name: 'nas-1', address: '127.0.0.1' }, async () => { throw new AccessRefusal('certificate revoked (LDevID of acme:SN-2)'); }, log);
    expect(reply).toEqual({ code: RadiusCode.AccessReject, eapMessage: Uint8Array.of(4, 9, 0, 4) });
    expect(log.lines.filter((l) => l.level !== 'debug')).toEqual([expect.objectContaining({ level: 'warn', msg: 'Access-Reject: refused by the credential policy', obj: expect.objectContaining({ reason: 'certificate revoked (LDevID of acme:SN-2)', identity: 'acme:SN-2' }) })]);
  });

  test('refusals are rate-limited per client and identity: a second device behind the same NAS is warned about too, a retry is not', async () => {
    const log = new MemoryLog();
    const refuse = async (identity: string) => {
      const eap = { handle: async (): Promise<EapOutcome> => accept(identity) } as unknown as EapAuthenticator;
      await handleAccessRequest(eap, request(), { name: 'nas-limit', address: '127.0.0.1' }, async () => { throw new AccessRefusal(`${identity} revoked`); }, log);
    };
    await refuse('acme:SN-7');
    await refuse('acme:SN-8');
    await refuse('acme:SN-7');
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => (l.obj as { identity: string }).identity)).toEqual(['acme:SN-7', 'acme:SN-8']);
  });
});

describe('RADIUS ↔ EAP bridge: room for the EAP fragment', () => {
  const SECRET = 'bridge-room-secret';
  const proxyStates = (sizes: number[]): RadiusPacket['attributes'] => sizes.map((n, i) => ({ type: AttributeType.ProxyState, value: new Uint8Array(n).fill(0x41 + (i % 26)) }));

  /** The encoded Access-Challenge carrying the largest fragment eapRoom allows and a worker's 17-octet State. */
  function fullChallenge(sizes: number[]): number {
    const req = request(proxyStates(sizes));
    const room = replyRoom(req);
    const eap = encodeEap({ code: 1, identifier: 1, type: 13, data: new Uint8Array(eapRoom(room) - 5).fill(0x17) });
    return encodeAccessReply({ code: RadiusCode.AccessChallenge, eapMessage: eap, state: Uint8Array.of(1, ...new Array<number>(16).fill(0x5a)) }, req, SECRET).length;
  }

  test('a full-size fragment fits beside a worker\'s 17-octet State, with Proxy-States up to the limit', () => {
    // Rooms where the EAP-Message attributes fill exactly what a 16-octet State left: one octet
    // more of State would overflow 4096. One Proxy-State of 213 octets; and eleven of 253 with one
    // of 213, which leaves just over MIN_REPLY_ROOM.
    const near = [...new Array<number>(11).fill(253), 213];
    expect(replyRoom(request(proxyStates(near)))).toBeGreaterThanOrEqual(MIN_REPLY_ROOM);
    for (const sizes of [[213], near, []]) expect(fullChallenge(sizes)).toBeLessThanOrEqual(RADIUS_MAX_PACKET_LENGTH);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 253 }), { maxLength: 12 }), (sizes) => {
      fc.pre(replyRoom(request(proxyStates(sizes))) >= MIN_REPLY_ROOM);
      return fullChallenge(sizes) <= RADIUS_MAX_PACKET_LENGTH;
    }));
  });
});
