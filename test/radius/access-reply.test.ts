import { encodeAccessReply } from '../../src/radius/access-reply.js';
import { integerAttribute, ipv4Attribute, joinEapMessage, stringAttribute } from '../../src/radius/attributes.js';
import { RadiusProtocolError } from '../../src/radius/errors.js';
import { decodePacket, getAttributes, type RadiusPacket } from '../../src/radius/packet.js';
import { verifyResponse } from '../../src/radius/request.js';
import { getMppeKeys } from '../../src/radius/salt-encryption.js';
import { SECRET, field, hex, toHex } from './fixtures.js';

const requestOf = (group: string, name: string): RadiusPacket => decodePacket(hex(field(group, name)));
const EAP_SUCCESS = hex('03000004');

describe('encodeAccessReply reproduces the designed replies', () => {
  test('eap_and_mppe Access-Accept (EAP-Success + 32-octet MPPE keys, salts 8001/8002)', () => {
    const msk = hex(field('eap_and_mppe', 'msk'));
    const bytes = encodeAccessReply(
      { code: 2, attributes: [stringAttribute(1, 'nemo')], eapMessage: EAP_SUCCESS, mppe: { recv: msk.subarray(0, 32), send: msk.subarray(32) } },
      requestOf('eap_and_mppe', 'access_request_eap_identity'),
      SECRET,
      { salts: [hex('8001'), hex('8002')] },
    );
    expect(toHex(bytes)).toBe(field('eap_and_mppe', 'access_accept'));
  });

  test('16-octet MPPE keys (salts 8003/8004)', () => {
    const m = 'mppe_16_octet_keys_mschapv2';
    const bytes = encodeAccessReply(
      { code: 2, eapMessage: EAP_SUCCESS, mppe: { recv: hex(field(m, 'recv_key_plain')), send: hex(field(m, 'send_key_plain')) } },
      requestOf('eap_and_mppe', 'access_request_eap_identity'),
      SECRET,
      { salts: [hex(field(m, 'recv_salt')), hex(field(m, 'send_salt'))] },
    );
    expect(toHex(bytes)).toBe(field(m, 'access_accept'));
  });

  test('the reply radclient accepted', () => {
    const msk = hex(field('radclient_exchange', 'msk_sent'));
    const bytes = encodeAccessReply(
      { code: 2, attributes: [stringAttribute(1, 'nemo')], mppe: { recv: msk.subarray(0, 32), send: msk.subarray(32) } },
      requestOf('radclient_exchange', 'access_request_from_radclient'),
      SECRET,
      { salts: [hex('8001'), hex('8002')] },
    );
    expect(toHex(bytes)).toBe(field('radclient_exchange', 'access_accept_built_here'));
  });

  test('MA-first PAP Access-Accept', () => {
    const bytes = encodeAccessReply(
      { code: 2, attributes: [integerAttribute(6, 1), integerAttribute(15, 0), ipv4Attribute(14, '192.168.1.3')] },
      requestOf('message_authenticator_pap', 'access_request'),
      SECRET,
    );
    expect(toHex(bytes)).toBe(field('message_authenticator_pap', 'access_accept_ma_first'));
  });
});

describe('encodeAccessReply rules', () => {
  const request = requestOf('eap_and_mppe', 'access_request_eap_identity');
  request.attributes.push({ type: 33, value: hex('aa01') }, { type: 1, value: hex('41') }, { type: 33, value: hex('bb02') });

  test('MA first, then every Proxy-State in order; handler MA/Proxy-State ignored', () => {
    const bytes = encodeAccessReply(
      { code: 11, eapMessage: new Uint8Array(600).fill(1), state: hex('0102'), attributes: [{ type: 33, value: hex('ff') }, { type: 80, value: new Uint8Array(16) }, integerAttribute(27, 30)] },
      request,
      SECRET,
    );
    const p = verifyResponse(bytes, request.authenticator, SECRET);
    expect(p.attributes.map((a) => a.type)).toEqual([80, 33, 33, 27, 79, 79, 79, 24]);
    expect(getAttributes(p, 33).map(toHex)).toEqual(['aa01', 'bb02']);
    expect(joinEapMessage(p)).toEqual(new Uint8Array(600).fill(1));
  });

  test('fresh salts every time, keys still decrypt', () => {
    const keys = { recv: new Uint8Array(32).fill(1), send: new Uint8Array(32).fill(2) };
    const a = encodeAccessReply({ code: 2, eapMessage: EAP_SUCCESS, mppe: keys }, request, SECRET);
    const b = encodeAccessReply({ code: 2, eapMessage: EAP_SUCCESS, mppe: keys }, request, SECRET);
    expect(toHex(a)).not.toBe(toHex(b));
    for (const bytes of [a, b]) {
      const got = getMppeKeys(verifyResponse(bytes, request.authenticator, SECRET), SECRET, request.authenticator);
      expect(toHex(got.recv!)).toBe(toHex(keys.recv));
      expect(toHex(got.send!)).toBe(toHex(keys.send));
    }
  });

  test('keys outside Access-Accept, bad codes and oversize replies are refused', () => {
    const keys = { recv: new Uint8Array(32), send: new Uint8Array(32) };
    expect(() => encodeAccessReply({ code: 11, mppe: keys }, request, SECRET)).toThrow(RadiusProtocolError);
    expect(() => encodeAccessReply({ code: 5 as 2 }, request, SECRET)).toThrow(RadiusProtocolError);
    expect(() => encodeAccessReply({ code: 11, eapMessage: new Uint8Array(4096) }, request, SECRET)).toThrow(expect.objectContaining({ code: 'packet-too-long' }));
  });
});
