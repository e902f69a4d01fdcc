import fc from 'fast-check';
import { RadiusProtocolError } from '../../src/radius/errors.js';
import {
  RADIUS_MAX_PACKET_LENGTH,
  RadiusCode,
  decodePacket,
  encodePacket,
  findAttributeOffsets,
  getAttribute,
  getAttributes,
  hasAttribute,
  type RadiusPacket,
} from '../../src/radius/packet.js';
import { field, hex, toHex } from './fixtures.js';

function expectProtocolError(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(RadiusProtocolError);
  expect((thrown as RadiusProtocolError).code).toBe(code);
}

const WELL_FORMED_VECTORS: Array<[string, string]> = [
  ['rfc2865_examples', '7.1_access_request'],
  ['rfc2865_examples', '7.1_access_accept'],
  ['rfc2865_examples', '7.2_access_request_chap'],
  ['rfc2865_examples', '7.2_access_accept'],
  ['rfc2865_examples', '7.3_access_request_1'],
  ['rfc2865_examples', '7.3_access_challenge'],
  ['rfc2865_examples', '7.3_access_reject'],
  ['rfc5997_examples', '6.1_status_server'],
  ['rfc5997_examples', '6.1_access_accept'],
  ['rfc5997_examples', '6.2_status_server_acct_port'],
  ['rfc5997_examples', '6.2_accounting_response_corrected'],
  ['rfc5997_examples', '6.3_status_server'],
  ['rfc5997_examples', '6.3_access_accept'],
  ['message_authenticator_pap', 'access_request'],
  ['message_authenticator_pap', 'freeradius_3.2.1_access_accept_no_ma'],
  ['message_authenticator_pap', 'access_accept_ma_first'],
  ['eap_and_mppe', 'access_request_eap_identity'],
  ['eap_and_mppe', 'freeradius_3.2.1_access_challenge_captured'],
  ['eap_and_mppe', 'access_accept'],
  ['mppe_16_octet_keys_mschapv2', 'access_accept'],
  ['radclient_exchange', 'access_request_from_radclient'],
  ['radclient_exchange', 'access_accept_built_here'],
  ['request_authenticator_md5_captured', 'disconnect_request'],
  ['request_authenticator_md5_captured', 'coa_request_with_ma'],
  ['request_authenticator_md5_captured', 'accounting_request'],
];

describe('decodePacket / encodePacket on the vectors', () => {
  test.each(WELL_FORMED_VECTORS)('%s %s decodes and re-encodes byte for byte', (group, name) => {
    const bytes = hex(field(group, name));
    const packet = decodePacket(bytes);
    expect(toHex(encodePacket(packet))).toBe(toHex(bytes));
  });

  test('RFC 2865 §7.1 Access-Request fields', () => {
    const p = decodePacket(hex(field('rfc2865_examples', '7.1_access_request')));
    expect(p.code).toBe(RadiusCode.AccessRequest);
    expect(p.identifier).toBe(0);
    expect(toHex(p.authenticator)).toBe('0f403f9473978057bd83d5cb98f4227a');
    expect(p.attributes.map((a) => a.type)).toEqual([1, 2, 4, 5]);
    expect(Buffer.from(getAttribute(p, 1)!).toString()).toBe('nemo');
    expect(toHex(getAttribute(p, 4)!)).toBe('c0a80110');
  });

  test('RFC 2865 §7.3 second request as printed is rejected (State header 18 10 overruns)', () => {
    expectProtocolError(() => decodePacket(hex(field('rfc2865_examples', '7.3_access_request_2_as_printed'))), 'attribute-overrun');
  });

  test('RFC 2865 §7.3 second request with the corrected State attribute decodes', () => {
    const corrected = field('rfc2865_examples', '7.3_access_request_2_as_printed').replace(/18103332373639343330$/, '180a3332373639343330');
    const p = decodePacket(hex(corrected));
    expect(Buffer.from(getAttribute(p, 24)!).toString()).toBe('32769430');
  });

  test('decoded values do not alias the input', () => {
    const bytes = hex(field('rfc2865_examples', '7.1_access_request'));
    const p = decodePacket(bytes);
    bytes.fill(0);
    expect(Buffer.from(getAttribute(p, 1)!).toString()).toBe('nemo');
    expect(toHex(p.authenticator)).toBe('0f403f9473978057bd83d5cb98f4227a');
  });

  test('octets after Length are padding and ignored', () => {
    const bytes = hex(field('rfc2865_examples', '7.3_access_reject') + 'deadbeef');
    const p = decodePacket(bytes);
    expect(p.attributes).toEqual([]);
    expect(toHex(encodePacket(p))).toBe(field('rfc2865_examples', '7.3_access_reject'));
  });
});

describe('decodePacket rejects malformed input with typed errors', () => {
  const header = (length: number): string => `0101${length.toString(16).padStart(4, '0')}${'00'.repeat(16)}`;

  test('shorter than the header', () => expectProtocolError(() => decodePacket(new Uint8Array(19)), 'truncated'));
  test('empty input', () => expectProtocolError(() => decodePacket(new Uint8Array(0)), 'truncated'));
  test('Length below 20', () => expectProtocolError(() => decodePacket(hex(header(19))), 'bad-length'));
  test('Length above 4096', () => expectProtocolError(() => decodePacket(new Uint8Array([1, 1, 0x10, 0x01, ...new Array<number>(4113).fill(0)])), 'bad-length'));
  test('fewer octets than Length', () => expectProtocolError(() => decodePacket(hex(header(24) + '0104aa')), 'truncated'));
  test('attribute Length 0', () => expectProtocolError(() => decodePacket(hex(header(22) + '0100')), 'bad-attribute-length'));
  test('attribute Length 1', () => expectProtocolError(() => decodePacket(hex(header(22) + '0101')), 'bad-attribute-length'));
  test('attribute running past Length', () => expectProtocolError(() => decodePacket(hex(header(24) + '0105aaaa' + 'bb')), 'attribute-overrun'));
  test('lone type octet at the end', () => expectProtocolError(() => decodePacket(hex(header(21) + '01')), 'attribute-overrun'));
  test('Message-Authenticator of length 17', () => {
    expectProtocolError(() => decodePacket(hex(header(37) + '5011' + '00'.repeat(15))), 'bad-attribute-length');
  });
  test('empty attribute value (EAP-Start) is fine', () => {
    const p = decodePacket(hex(header(22) + '4f02'));
    expect(p.attributes).toEqual([{ type: 79, value: new Uint8Array(0) }]);
  });
});

describe('encodePacket limits', () => {
  const base = { code: 2, identifier: 7, authenticator: new Uint8Array(16) };
  test('253-octet value is the maximum', () => {
    expect(encodePacket({ ...base, attributes: [{ type: 25, value: new Uint8Array(253) }] }).length).toBe(20 + 255);
    expectProtocolError(() => encodePacket({ ...base, attributes: [{ type: 25, value: new Uint8Array(254) }] }), 'attribute-too-long');
  });
  test('4096 octets is the maximum packet', () => {
    // 16 * 255 = 4080, + 20 = 4100: one octet less per attribute for the last fits exactly.
    const attrs = Array.from({ length: 15 }, () => ({ type: 25, value: new Uint8Array(253) }));
    attrs.push({ type: 25, value: new Uint8Array(4096 - 20 - 15 * 255 - 2) });
    expect(encodePacket({ ...base, attributes: attrs }).length).toBe(RADIUS_MAX_PACKET_LENGTH);
    attrs.push({ type: 25, value: new Uint8Array(0) });
    expectProtocolError(() => encodePacket({ ...base, attributes: attrs }), 'packet-too-long');
  });
  test('bad header fields', () => {
    expectProtocolError(() => encodePacket({ ...base, identifier: 256, attributes: [] }), 'invalid-argument');
    expectProtocolError(() => encodePacket({ ...base, code: -1, attributes: [] }), 'invalid-argument');
    expectProtocolError(() => encodePacket({ ...base, authenticator: new Uint8Array(15), attributes: [] }), 'invalid-argument');
    expectProtocolError(() => encodePacket({ ...base, attributes: [{ type: 256, value: new Uint8Array(1) }] }), 'invalid-argument');
    expectProtocolError(() => encodePacket({ ...base, attributes: [{ type: 80, value: new Uint8Array(4) }] }), 'bad-attribute-length');
  });
});

describe('attribute accessors', () => {
  const p = decodePacket(hex(field('eap_and_mppe', 'access_accept')));
  test('getAttribute / getAttributes / hasAttribute / findAttributeOffsets', () => {
    expect(getAttributes(p, 26)).toHaveLength(2);
    expect(getAttribute(p, 99)).toBeUndefined();
    expect(hasAttribute(p, 80)).toBe(true);
    expect(findAttributeOffsets(hex(field('eap_and_mppe', 'access_accept')), 80)).toEqual([20]);
  });
});

// ---------------------------------------------------------------------------------------------

const attributeArb = fc.oneof(
  fc.record({ type: fc.integer({ min: 0, max: 255 }).filter((t) => t !== 80), value: fc.uint8Array({ maxLength: 253 }) }),
  fc.record({ type: fc.constant(80), value: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
);
const packetArb: fc.Arbitrary<RadiusPacket> = fc.record({
  code: fc.integer({ min: 0, max: 255 }),
  identifier: fc.integer({ min: 0, max: 255 }),
  authenticator: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // 15 attributes of at most 255 octets always fit in 4096.
  attributes: fc.array(attributeArb, { maxLength: 15 }),
});

function decodeOrProtocolError(bytes: Uint8Array): void {
  try {
    const p = decodePacket(bytes);
    // Whatever decodes must re-encode to exactly the octets the Length field covered.
    const length = (bytes[2]! << 8) | bytes[3]!;
    expect(toHex(encodePacket(p))).toBe(toHex(bytes.subarray(0, length)));
  } catch (e) {
    if (!(e instanceof RadiusProtocolError)) throw e;
  }
}

describe('properties', () => {
  test('decode(encode(p)) equals p', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        expect(decodePacket(encodePacket(p))).toEqual(p);
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary bytes: decode returns or throws RadiusProtocolError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => decodeOrProtocolError(bytes)), { numRuns: 1000 });
  });

  test('arbitrary bytes behind a plausible header', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 400 })).map(([code, body]) => {
      const out = new Uint8Array(20 + body.length);
      out[0] = code;
      out[2] = out.length >> 8;
      out[3] = out.length & 0xff;
      out.set(body, 20);
      return out;
    });
    fc.assert(fc.property(arb, (bytes) => decodeOrProtocolError(bytes)), { numRuns: 1000 });
  });

  test('valid packets with corrupted octets or cut short', () => {
    const arb = fc.tuple(packetArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([p, at, byte, cut]) => {
      const bytes = encodePacket(p);
      bytes[at % bytes.length] = byte;
      return bytes.subarray(0, 1 + (cut % bytes.length));
    });
    fc.assert(fc.property(arb, (bytes) => decodeOrProtocolError(bytes)), { numRuns: 1000 });
  });
});
