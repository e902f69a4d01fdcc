import fc from 'fast-check';
import {
  decodeInteger,
  decodeIpv4,
  decodeIpv6,
  decodeString,
  decodeVendorSpecific,
  encodeInteger,
  encodeIpv4,
  encodeIpv6,
  encodeString,
  encodeVendorSpecific,
  getIntegerAttribute,
  getIpv4Attribute,
  getStringAttribute,
  getVendorAttributes,
  integerAttribute,
  joinEapMessage,
  splitEapMessage,
  stringAttribute,
} from '../../src/radius/attributes.js';
import { RadiusProtocolError } from '../../src/radius/errors.js';
import { decodePacket, encodePacket, type RadiusAttribute, type RadiusPacket } from '../../src/radius/packet.js';
import { field, hex, toHex } from './fixtures.js';

const packetWith = (attributes: RadiusAttribute[]): RadiusPacket => ({ code: 1, identifier: 1, authenticator: new Uint8Array(16), attributes });

describe('value codecs', () => {
  test('integer', () => {
    expect(toHex(encodeInteger(0x05dc))).toBe('000005dc');
    expect(decodeInteger(hex('fffffffe'))).toBe(0xfffffffe);
    expect(() => encodeInteger(-1)).toThrow(RadiusProtocolError);
    expect(() => encodeInteger(2 ** 32)).toThrow(RadiusProtocolError);
    expect(() => decodeInteger(hex('000001'))).toThrow(expect.objectContaining({ code: 'bad-value' }));
  });
  test('ipaddr', () => {
    expect(toHex(encodeIpv4('192.168.1.16'))).toBe('c0a80110');
    expect(decodeIpv4(hex('c0a80103'))).toBe('192.168.1.3');
    expect(() => encodeIpv4('192.168.1')).toThrow(RadiusProtocolError);
    expect(() => decodeIpv4(hex('c0a80103ff'))).toThrow(expect.objectContaining({ code: 'bad-value' }));
  });
  test('ipv6addr', () => {
    expect(toHex(encodeIpv6('2001:db8::1'))).toBe('20010db8000000000000000000000001');
    expect(decodeIpv6(hex('20010db8000000000000000000000001'))).toBe('2001:db8::1');
    expect(() => decodeIpv6(new Uint8Array(4))).toThrow(RadiusProtocolError);
  });
  test('string keeps UTF-8 and never throws on bad UTF-8', () => {
    expect(decodeString(encodeString('bjørn'))).toBe('bjørn');
    expect(decodeString(hex('ff'))).toBe('\ufffd');
  });
  test('typed getters on RFC 2865 §7.1', () => {
    const p = decodePacket(hex(field('rfc2865_examples', '7.1_access_request')));
    expect(getStringAttribute(p, 1)).toBe('nemo');
    expect(getIpv4Attribute(p, 4)).toBe('192.168.1.16');
    expect(getIntegerAttribute(p, 5)).toBe(3);
    expect(getIntegerAttribute(p, 27)).toBeUndefined();
    expect(integerAttribute(5, 3)).toEqual({ type: 5, value: hex('00000003') });
    expect(stringAttribute(1, 'nemo')).toEqual({ type: 1, value: hex('6e656d6f') });
  });
});

describe('Vendor-Specific', () => {
  test('decode the Microsoft VSA vector', () => {
    const vsa = hex(field('eap_and_mppe', 'ms_mppe_recv_key_vsa')).subarray(2);
    const decoded = decodeVendorSpecific(vsa);
    expect(decoded.vendorId).toBe(311);
    expect(decoded.attributes).toHaveLength(1);
    expect(decoded.attributes[0]!.vendorType).toBe(17);
    expect(toHex(decoded.attributes[0]!.value)).toBe(field('eap_and_mppe', 'ms_mppe_recv_key_value'));
  });
  test('encode / decode round trip with several sub-attributes', () => {
    const attr = encodeVendorSpecific(9, [
      { vendorType: 1, value: encodeString('shell:priv-lvl=15') },
      { vendorType: 2, value: new Uint8Array(0) },
    ]);
    expect(attr.type).toBe(26);
    expect(decodeVendorSpecific(attr.value)).toEqual({ vendorId: 9, attributes: [{ vendorType: 1, value: encodeString('shell:priv-lvl=15') }, { vendorType: 2, value: new Uint8Array(0) }] });
  });
  test('malformed sub-attributes are bad-value; other vendors are skipped unparsed', () => {
    expect(() => decodeVendorSpecific(hex('000001'))).toThrow(expect.objectContaining({ code: 'bad-value' }));
    expect(() => decodeVendorSpecific(hex('0000013711'))).toThrow(expect.objectContaining({ code: 'bad-value' }));
    expect(() => decodeVendorSpecific(hex('000001371105aa'))).toThrow(expect.objectContaining({ code: 'bad-value' }));
    const p = packetWith([
      { type: 26, value: hex('00000009ffff') }, // not in the recommended format: someone else's business
      { type: 26, value: hex('000001370203aa') },
      { type: 26, value: hex('00') },
    ]);
    expect(getVendorAttributes(p, 311, 2).map(toHex)).toEqual(['aa']);
  });
  test('too long for one attribute', () => {
    expect(() => encodeVendorSpecific(311, [{ vendorType: 1, value: new Uint8Array(248) }])).toThrow(expect.objectContaining({ code: 'attribute-too-long' }));
  });
});

describe('EAP-Message split / join', () => {
  test('EAP-Response/Identity from the eap_and_mppe request', () => {
    const p = decodePacket(hex(field('eap_and_mppe', 'access_request_eap_identity')));
    expect(toHex(joinEapMessage(p)!)).toBe(field('eap_packets', 'identity_response_nemo'));
  });
  test('chunk sizes', () => {
    expect(splitEapMessage(new Uint8Array(0)).map((a) => a.value.length)).toEqual([0]);
    expect(splitEapMessage(new Uint8Array(253)).map((a) => a.value.length)).toEqual([253]);
    expect(splitEapMessage(new Uint8Array(254)).map((a) => a.value.length)).toEqual([253, 1]);
    expect(splitEapMessage(new Uint8Array(1020)).map((a) => a.value.length)).toEqual([253, 253, 253, 253, 8]);
    expect(splitEapMessage(new Uint8Array(3)).every((a) => a.type === 79)).toBe(true);
  });
  test('join ignores other attributes in between and returns undefined without EAP', () => {
    const p = packetWith([
      { type: 79, value: hex('0102') },
      { type: 1, value: hex('41') },
      { type: 79, value: hex('0304') },
    ]);
    expect(toHex(joinEapMessage(p)!)).toBe('01020304');
    expect(joinEapMessage(packetWith([{ type: 1, value: hex('41') }]))).toBeUndefined();
  });
  test('round trip through a packet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3800 }), (eap) => {
        const bytes = encodePacket(packetWith(splitEapMessage(eap)));
        expect(toHex(joinEapMessage(decodePacket(bytes))!)).toBe(toHex(eap));
      }),
      { numRuns: 200 },
    );
  });
});
