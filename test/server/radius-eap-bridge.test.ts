import type { EapAuthenticator, EapInput, EapOutcome } from '../../src/eap-methods/authenticator.js';
import { encodeEap, eapSuccess } from '../../src/eap-methods/eap-packet.js';
import { AttributeType, RadiusCode, splitEapMessage, stringAttribute, type RadiusPacket } from '../../src/radius/index.js';
import { accessReplyFrom, eapInputFrom, handleAccessRequest } from '../../src/server/radius-eap-bridge.js';
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
