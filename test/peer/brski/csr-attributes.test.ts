import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { CsrAttributesError, MAX_CSR_ATTRIBUTES_BYTES, parseCsrAttributes } from '../../../src/peer/brski/csr-attributes.js';
import { attr, csrAttrs } from './brski-world.js';

const hexBytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const oid = (value: string): asn1js.ObjectIdentifier => new asn1js.ObjectIdentifier({ value });

describe('CSR-Attributes (RFC 9930 TLV 18 value, RFC 7030 CsrAttrs)', () => {
  test('../shared/specs/teap-brski.md §2.4: challengePassword, EC P-256, ECDSA-SHA256', () => {
    // The TLV's value (after the 4-octet header 00 12 00 2e).
    const der = hexBytes('30 2c 06 09 2a 86 48 86 f7 0d 01 09 07 30 15 06 07 2a 86 48 ce 3d 02 01 31 0a 06 08 2a 86 48 ce 3d 03 01 07 06 08 2a 86 48 ce 3d 04 03 02');
    expect(parseCsrAttributes(der)).toEqual({ challengePassword: true, key: { kind: 'ec', curve: 'P-256' }, hash: 'SHA-256', ignored: [] });
  });

  test('§2.4: challengePassword only', () => {
    expect(parseCsrAttributes(hexBytes('30 0b 06 09 2a 86 48 86 f7 0d 01 09 07'))).toEqual({ challengePassword: true, ignored: [] });
  });

  test('RFC 7030 §4.5.2 style: macAddress (ignored), EC P-384 as an Attribute, ecdsa-with-SHA384', () => {
    const der = csrAttrs(oid('1.3.6.1.1.1.1.22'), attr('1.2.840.10045.2.1', oid('1.3.132.0.34')), oid('1.2.840.10045.4.3.3'));
    expect(parseCsrAttributes(der)).toEqual({ challengePassword: false, key: { kind: 'ec', curve: 'P-384' }, hash: 'SHA-384', ignored: ['1.3.6.1.1.1.1.22'] });
  });

  test('bare curve OID, RSA with a size, a signature algorithm alone, an empty CsrAttrs', () => {
    expect(parseCsrAttributes(csrAttrs(oid('1.3.132.0.35'))).key).toEqual({ kind: 'ec', curve: 'P-521' });
    expect(parseCsrAttributes(csrAttrs(attr('1.2.840.113549.1.1.1', new asn1js.Integer({ value: 3072 })))).key).toEqual({ kind: 'rsa', bits: 3072 });
    expect(parseCsrAttributes(csrAttrs(oid('1.2.840.113549.1.1.11')))).toEqual({ challengePassword: false, key: { kind: 'rsa', bits: 2048 }, hash: 'SHA-256', ignored: [] });
    expect(parseCsrAttributes(csrAttrs())).toEqual({ challengePassword: false, ignored: [] });
  });

  test('requests the pledge cannot honour are errors, not silently ignored', () => {
    const cases: [Uint8Array, RegExp][] = [
      [csrAttrs(attr('1.2.840.10045.2.1', oid('1.3.36.3.3.2.8.1.1.7'))), /EC curve 1\.3\.36/],
      [csrAttrs(attr('1.2.840.113549.1.1.1', new asn1js.Integer({ value: 1024 }))), /RSA key of 1024 bits/],
      [csrAttrs(attr('1.2.840.10045.2.1', oid('1.2.840.10045.3.1.7')), oid('1.2.840.113549.1.1.11')), /EC key and a RSA signature/],
      [csrAttrs(new asn1js.Integer({ value: 1 })), /neither an OID nor an Attribute/],
      [csrAttrs(new asn1js.Sequence({ value: [oid('1.2.3'), new asn1js.Set({ value: [] })] })), /SET SIZE/],
      [hexBytes('300b06092a864886f70d01090700'), /one DER SEQUENCE/],
      [hexBytes('0500'), /one DER SEQUENCE/],
      [new Uint8Array(MAX_CSR_ATTRIBUTES_BYTES + 1), /limit/],
    ];
    for (const [der, why] of cases) expect(() => parseCsrAttributes(der)).toThrow(why);
  });

  test('property: arbitrary octets give a request or a CsrAttributesError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const r = parseCsrAttributes(bytes);
          expect(Array.isArray(r.ignored)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(CsrAttributesError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
