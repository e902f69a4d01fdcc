import { RadiusProtocolError } from '../../src/radius/errors.js';
import type { RadiusPacket } from '../../src/radius/packet.js';
import { decodePacket } from '../../src/radius/packet.js';
import {
  decodeTaggedInteger,
  decodeTaggedString,
  decodeTunnelPassword,
  encodeTaggedString,
  encodeTunnelPassword,
  getVlan,
  vlanAttributes,
} from '../../src/radius/tunnel.js';
import { SECRET, hex, list, toHex } from './fixtures.js';

const asPacket = (attrHex: string[]): RadiusPacket => {
  const body = attrHex.join('');
  const length = 20 + body.length / 2;
  return decodePacket(hex(`0201${length.toString(16).padStart(4, '0')}${'00'.repeat(16)}${body}`));
};
const encoded = (attrs: { type: number; value: Uint8Array }[]): string[] =>
  attrs.map((a) => `${a.type.toString(16).padStart(2, '0')}${(a.value.length + 2).toString(16).padStart(2, '0')}${toHex(a.value)}`);

describe('VLAN vectors (RFC 3580 §3.31)', () => {
  test.each(['untagged_as_freeradius_encodes', 'untagged_rfc3580_style', 'tag_1'])('%s decodes to VLAN 100', (name) => {
    const vlan = getVlan(asPacket(list('vlan_attributes', name)));
    expect(vlan).toEqual({ tag: name === 'tag_1' ? 1 : 0, groupId: '100', vlanId: 100 });
  });
  test('encoder emits the RFC 3580 style (tag octet always present)', () => {
    expect(encoded(vlanAttributes(100))).toEqual(list('vlan_attributes', 'untagged_rfc3580_style'));
    expect(encoded(vlanAttributes(100, 1))).toEqual(list('vlan_attributes', 'tag_1'));
  });
  test('mismatched tags give no VLAN', () => {
    const [type, medium] = list('vlan_attributes', 'tag_1');
    expect(getVlan(asPacket([type!, medium!, '5105313030']))).toBeUndefined();
  });
  test('wrong Tunnel-Type or missing group give no VLAN', () => {
    expect(getVlan(asPacket(['400600000003', '410600000006', '510600313030']))).toBeUndefined();
    expect(getVlan(asPacket(['40060000000d', '410600000006']))).toBeUndefined();
  });
  test('VLAN names are returned without an id', () => {
    expect(getVlan(asPacket(encoded(vlanAttributes('guests'))))).toEqual({ tag: 0, groupId: 'guests' });
  });
  test('argument checks', () => {
    expect(() => vlanAttributes(0)).toThrow(RadiusProtocolError);
    expect(() => vlanAttributes(4095)).toThrow(RadiusProtocolError);
    expect(() => vlanAttributes(10, 32)).toThrow(RadiusProtocolError);
    expect(() => decodeTaggedInteger(hex('000000'))).toThrow(expect.objectContaining({ code: 'bad-value' }));
  });
});

describe('tagged values', () => {
  test('strings: a leading octet <= 0x1F is a tag', () => {
    expect(decodeTaggedString(hex('1f41'))).toEqual({ tag: 31, value: hex('41') });
    expect(decodeTaggedString(hex('2041'))).toEqual({ tag: 0, value: hex('2041') });
    expect(toHex(encodeTaggedString(0, '\u0005x'))).toBe('000578');
    expect(decodeTaggedString(encodeTaggedString(0, '\u0005x'))).toEqual({ tag: 0, value: hex('0578') });
  });
  test('Tunnel-Password round trip (RFC 2868 §3.5, same salt construction)', () => {
    const ra = hex('0102030405060708090a0b0c0d0e0f10');
    const value = encodeTunnelPassword('tunnel-secret', 3, SECRET, ra, hex('8abc'));
    expect(value[0]).toBe(3);
    expect(toHex(value.subarray(1, 3))).toBe('8abc');
    const decoded = decodeTunnelPassword(value, SECRET, ra);
    expect(decoded.tag).toBe(3);
    expect(Buffer.from(decoded.value).toString()).toBe('tunnel-secret');
  });
});
