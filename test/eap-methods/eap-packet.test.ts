import fc from 'fast-check';
import { radiusVectors as vectors } from '../helpers/radius-vectors.js';
import { EapCode, EapType, decodeEap, encodeEap, eapFailure, eapSuccess, type EapPacket } from '../../src/eap-methods/eap-packet.js';
import { EapProtocolError } from '../../src/eap-methods/errors.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const v = vectors.eap_packets;

describe('EAP packet codec (RFC 3748 §4)', () => {
  test('vectors from radius-vectors.json decode and re-encode byte for byte', () => {
    for (const [name, h] of Object.entries(v)) {
      const p = decodeEap(hex(h));
      expect({ name, bytes: toHex(encodeEap(p)) }).toEqual({ name, bytes: h });
    }
  });

  test('EAP-TLS Start, Nak and Identity fields', () => {
    expect(decodeEap(hex(v.eap_tls_start))).toEqual({ code: EapCode.Request, identifier: 0xab, type: EapType.Tls, data: hex('20') });
    expect(decodeEap(hex(v.legacy_nak_prefer_tls))).toEqual({ code: EapCode.Response, identifier: 0x2d, type: EapType.Nak, data: hex('0d') });
    const id = decodeEap(hex(v.identity_response_nemo));
    expect(id.code === 2 && Buffer.from(id.data).toString()).toBe('nemo');
    expect(toHex(eapSuccess(0x7a))).toBe(v.eap_success_id_7a);
    expect(toHex(eapFailure(0x7a))).toBe(v.eap_failure_id_7a);
  });

  test('octets beyond Length are link padding and ignored', () => {
    const p = decodeEap(hex(v.identity_response_nemo + '0000'));
    expect(toHex(encodeEap(p))).toBe(v.identity_response_nemo);
  });

  test.each([
    ['', 'truncated'],
    ['0201', 'truncated'],
    ['02010003', 'length-mismatch'],
    ['0201000a01', 'length-mismatch'],
    ['02010004', 'missing-type'],
    ['07010004', 'bad-code'],
  ])('refuses %s with %s', (h, code) => {
    expect(() => decodeEap(hex(h))).toThrow(expect.objectContaining({ code }) as Error);
  });

  const packet: fc.Arbitrary<EapPacket> = fc.oneof(
    fc.record({
      code: fc.constantFrom(1 as const, 2 as const),
      identifier: fc.integer({ min: 0, max: 255 }),
      type: fc.integer({ min: 1, max: 255 }),
      data: fc.uint8Array({ maxLength: 2000 }),
    }) as fc.Arbitrary<EapPacket>,
    fc.record({ code: fc.constantFrom(3 as const, 4 as const), identifier: fc.integer({ min: 0, max: 255 }) }),
  );

  test('decode(encode(p)) = p', () => {
    fc.assert(fc.property(packet, (p) => {
      expect(decodeEap(encodeEap(p))).toEqual(p);
    }));
  });

  test('arbitrary bytes give a packet or an EapProtocolError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeEap(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(EapProtocolError);
      }
    }));
  });
});
