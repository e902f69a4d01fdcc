import fc from 'fast-check';
import { decodeTeapTlvs, encodeTeapTlvs, encodeTeapTlv, tlv, tlvTypeOf, TlvType, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import { decodeRawTlvs, MAX_TLVS_PER_MESSAGE } from '../../../src/teap-brski/teap/raw-tlv.js';
import { vendorSpecificTlv, vendorTlvs } from '../../../src/teap-brski/teap/vendor-specific-tlv.js';
import { TeapErrorCode, TeapError, TeapTlvError, teapErrorClass, teapErrorName } from '../../../src/teap-brski/teap/errors.js';
import { bytes, hex } from '../helpers.js';

const roundTrip = (h: string): TeapTlv[] => {
  const t = decodeTeapTlvs(bytes(h));
  expect(hex(encodeTeapTlvs(t))).toBe(h.replace(/\s+/g, ''));
  return t;
};

describe('TEAP TLVs (RFC 9930 §4.2) against captured bytes', () => {
  test('Authority-ID (M=0, erratum 5765)', () => {
    expect(roundTrip('00010010101112131415161718191a1b1c1d1e1f')).toEqual([{ kind: 'authority-id', mandatory: false, id: bytes('101112131415161718191a1b1c1d1e1f') }]);
  });
  test('Identity-Type as hostapd sends it (M=0) and as RFC 9930 says (M=1)', () => {
    expect(roundTrip('000200020002')).toEqual([{ kind: 'identity-type', mandatory: false, identityType: 2 }]);
    expect(hex(encodeTeapTlv(tlv.identityType(1)))).toBe('800200020001');
  });
  test('Intermediate-Result + Result + Crypto-Binding (V1 server message)', () => {
    const t = roundTrip('800a00020001800300020001800c004c00010120a1a987ae475bb51ad0a7d1974a81efc6110263be9892335d9028b101aa8348ca0000000000000000000000000000000000000000aedadad658b10fcfb9a000e611818928f62a9a7a');
    expect(t.map((x) => x.kind)).toEqual(['intermediate-result', 'result', 'crypto-binding']);
    const cb = t[2]!;
    expect(cb.kind === 'crypto-binding' && { v: cb.version, rv: cb.receivedVersion, f: cb.flags, s: cb.subType }).toEqual({ v: 1, rv: 1, f: 2, s: 0 });
  });
  test('EAP-Payload carrying EAP-Request/Identity, with a trailing optional TLV', () => {
    expect(roundTrip('800900050102000501')[0]).toMatchObject({ kind: 'eap-payload', eap: bytes('0102000501'), tlvs: [] });
    const t = roundTrip('80090009' + '0102000501' + '00130000'.slice(0, 0) + '3fff0000');
    expect(t[0]).toMatchObject({ kind: 'eap-payload', tlvs: [{ kind: 'unknown', type: 0x3fff, mandatory: false }] });
  });
  test('Basic-Password-Auth-Req (empty prompt, M=0 as hostapd) and -Resp', () => {
    expect(roundTrip('000d0000')).toEqual([{ kind: 'basic-password-auth-req', mandatory: false, prompt: new Uint8Array(0) }]);
    const [r] = roundTrip('000e000f05616c6963650870617373776f7264');
    expect(r).toMatchObject({ kind: 'basic-password-auth-resp', username: bytes('616c696365'), password: bytes('70617373776f7264') });
  });
  test('NAK, Error, Request-Action, Vendor-Specific, Trusted-Server-Root, PKCS#7/#10, CSR-Attributes, Identity-Hint, Channel-Binding, PAC', () => {
    roundTrip('80040006 00000000 000d');
    expect(roundTrip('80050004000007d1')).toEqual([{ kind: 'error', mandatory: true, code: 2001 }]);
    expect(roundTrip('80080006 0201 00060000'.replace(/ /g, ''))[0]).toMatchObject({ kind: 'request-action', status: 2, action: 1, tlvs: [{ kind: 'channel-binding', data: new Uint8Array(0) }] });
    const vs = roundTrip('0007000c 00000137 00010004deadbeef'.replace(/ /g, ''))[0]!;
    expect(vs).toMatchObject({ kind: 'vendor-specific', vendorId: 311 });
    if (vs.kind === 'vendor-specific') expect(vendorTlvs(vs)).toEqual([{ type: 1, mandatory: false, value: bytes('deadbeef') }]);
    expect(hex(encodeTeapTlv(vendorSpecificTlv(311, [{ type: 1, mandatory: false, value: bytes('deadbeef') }])))).toBe('0007000c0000013700010004deadbeef');
    expect(roundTrip('00110006 0001 000f0000'.replace(/ /g, ''))[0]).toMatchObject({ kind: 'trusted-server-root', credentialFormat: 1, tlvs: [{ kind: 'pkcs7' }] });
    roundTrip('00100003 308100'.replace(/ /g, ''));
    roundTrip('00120002 3000'.replace(/ /g, ''));
    expect(roundTrip('0013000a 686f73742f6d61636831'.replace(/ /g, '') + '')[0]).toMatchObject({ kind: 'identity-hint' });
    expect(roundTrip('800b0002abcd')[0]).toMatchObject({ kind: 'pac', mandatory: true });
  });
  test('unknown types keep their M bit (M=1 ⇒ NAK, M=0 ⇒ ignore is the caller\'s rule)', () => {
    const t = roundTrip('80140000 00150001ff'.replace(/ /g, ''));
    expect(t).toEqual([
      { kind: 'unknown', mandatory: true, type: 20, value: new Uint8Array(0) },
      { kind: 'unknown', mandatory: false, type: 21, value: bytes('ff') },
    ]);
  });
  test('the R bit is ignored on receipt', () => {
    expect(decodeTeapTlvs(bytes('c00300020001'))).toEqual([{ kind: 'result', mandatory: true, status: 1 }]);
  });
});

describe('malformed TLVs throw TeapTlvError (code 2002)', () => {
  test.each([
    ['truncated header', '800300'],
    ['length overruns the message', '800300ff0001'],
    ['Result with length 3', '800300030001ff'],
    ['Identity-Type with length 1', '8002000101'],
    ['Error with length 2', '800500020001'],
    ['NAK shorter than 6', '8004000400000000'],
    ['Crypto-Binding not 76 octets', '800c0004 00010100'.replace(/ /g, '')],
    ['EAP-Payload whose EAP Length overruns', '80090005 0102 00ff 01'.replace(/ /g, '')],
    ['EAP-Payload whose EAP Length is below 4', '80090004 01020002'.replace(/ /g, '')],
    ['Basic-Password-Resp with zero Userlen', '000e0003 00 01 61'.replace(/ /g, '')],
    ['Basic-Password-Resp with zero Passlen', '000e0003 01 61 00'.replace(/ /g, '')],
    ['Basic-Password-Resp lengths beyond the TLV', '000e0004 05 61 01 62'.replace(/ /g, '')],
    ['Vendor-Specific shorter than 4', '00070002 0000'.replace(/ /g, '')],
    ['Vendor-Id with a high octet', '00070004 01000000'.replace(/ /g, '')],
    ['Identity-Hint shorter than 2', '00130001 61'.replace(/ /g, '')],
    ['nested junk in Intermediate-Result', '800a0005 0001 800300'.replace(/ /g, '')],
  ])('%s', (_, h) => {
    let err: unknown;
    try {
      decodeTeapTlvs(bytes(h));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TeapTlvError);
    expect((err as TeapError).code).toBe(TeapErrorCode.UnexpectedTlvsExchanged);
  });

  test('too many TLVs in one message', () => {
    expect(() => decodeRawTlvs(new Uint8Array(4 * (MAX_TLVS_PER_MESSAGE + 1)))).toThrow(TeapTlvError);
  });

  test('nesting deeper than the limit', () => {
    let inner = bytes('00150000');
    for (let i = 0; i < 6; i++) {
      const wrap = new Uint8Array(6 + inner.length);
      wrap.set([0x80, 0x0a, (2 + inner.length) >> 8, (2 + inner.length) & 0xff, 0, 1]);
      wrap.set(inner, 6);
      inner = wrap;
    }
    expect(() => decodeTeapTlvs(inner)).toThrow(/nested deeper/);
  });
});

describe('error codes as typed values', () => {
  test('classes and names', () => {
    expect(teapErrorClass(TeapErrorCode.TunnelCompromiseError)).toBe('fatal');
    expect(teapErrorClass(TeapErrorCode.InnerMethodError)).toBe('warning');
    expect(teapErrorClass(TeapErrorCode.ContactAdministrator)).toBe('info');
    expect(teapErrorClass(0)).toBe('unassigned');
    expect(teapErrorName(2009)).toBe('EmskCompoundMacWithoutEmsk(2009)');
    expect(teapErrorName(4242)).toBe('Error(4242)');
    expect(new TeapError(TeapErrorCode.MskCompoundMacInvalid, 'x').message).toBe('MskCompoundMacInvalid(2006): x');
  });
});

// ---- properties ----

const mBit = fc.boolean();
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const blob = (max = 40): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const eapPacket = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 255 }), blob(30)).map(([code, id, data]) => {
  const out = new Uint8Array(4 + data.length);
  out.set([code, id, out.length >> 8, out.length & 0xff]);
  out.set(data, 4);
  return out;
});

const { tlvArb } = fc.letrec<{ tlvArb: TeapTlv; list: TeapTlv[] }>((tie) => ({
  list: fc.array(tie('tlvArb'), { maxLength: 2, depthIdentifier: 'tlv' }) as fc.Arbitrary<TeapTlv[]>,
  tlvArb: fc.oneof(
    // The decoder refuses nesting beyond MAX_TLV_NESTING (2002); stay within it, so that the
    // round trip is what is tested (junk and too-deep input are tested separately).
    { depthSize: 'small', withCrossShrink: true, maxDepth: 3, depthIdentifier: 'tlv' },
    fc.record({ kind: fc.constant('authority-id' as const), mandatory: mBit, id: blob() }),
    fc.record({ kind: fc.constant('identity-type' as const), mandatory: mBit, identityType: u16 }),
    fc.record({ kind: fc.constant('result' as const), mandatory: mBit, status: u16 }),
    fc.record({ kind: fc.constant('nak' as const), mandatory: mBit, vendorId: u32, nakType: u16, tlvs: tie('list') as fc.Arbitrary<TeapTlv[]> }),
    fc.record({ kind: fc.constant('error' as const), mandatory: mBit, code: u32 }),
    fc.record({ kind: fc.constant('channel-binding' as const), mandatory: mBit, data: blob() }),
    fc.record({ kind: fc.constant('vendor-specific' as const), mandatory: mBit, vendorId: fc.integer({ min: 0, max: 0xffffff }), data: blob() }),
    fc.record({ kind: fc.constant('request-action' as const), mandatory: mBit, status: fc.integer({ min: 0, max: 255 }), action: fc.integer({ min: 0, max: 255 }), tlvs: tie('list') as fc.Arbitrary<TeapTlv[]> }),
    fc.record({ kind: fc.constant('eap-payload' as const), mandatory: mBit, eap: eapPacket, tlvs: tie('list') as fc.Arbitrary<TeapTlv[]> }),
    fc.record({ kind: fc.constant('intermediate-result' as const), mandatory: mBit, status: u16, tlvs: tie('list') as fc.Arbitrary<TeapTlv[]> }),
    fc.record({ kind: fc.constant('pac' as const), mandatory: mBit, data: blob() }),
    fc.record({
      kind: fc.constant('crypto-binding' as const),
      mandatory: mBit,
      reserved: fc.integer({ min: 0, max: 255 }),
      version: fc.integer({ min: 0, max: 255 }),
      receivedVersion: fc.integer({ min: 0, max: 255 }),
      flags: fc.integer({ min: 0, max: 15 }),
      subType: fc.integer({ min: 0, max: 15 }),
      nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      emskCompoundMac: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      mskCompoundMac: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    }),
    fc.record({ kind: fc.constant('basic-password-auth-req' as const), mandatory: mBit, prompt: blob() }),
    fc.record({ kind: fc.constant('basic-password-auth-resp' as const), mandatory: mBit, username: fc.uint8Array({ minLength: 1, maxLength: 255 }), password: fc.uint8Array({ minLength: 1, maxLength: 255 }) }),
    fc.record({ kind: fc.constant('pkcs7' as const), mandatory: mBit, der: blob() }),
    fc.record({ kind: fc.constant('pkcs10' as const), mandatory: mBit, der: blob() }),
    fc.record({ kind: fc.constant('trusted-server-root' as const), mandatory: mBit, credentialFormat: u16, tlvs: tie('list') as fc.Arbitrary<TeapTlv[]> }),
    fc.record({ kind: fc.constant('csr-attributes' as const), mandatory: mBit, der: fc.uint8Array({ minLength: 2, maxLength: 40 }) }),
    fc.record({ kind: fc.constant('identity-hint' as const), mandatory: mBit, identity: fc.uint8Array({ minLength: 2, maxLength: 40 }) }),
    fc.record({ kind: fc.constant('unknown' as const), mandatory: mBit, type: fc.oneof(fc.constant(0), fc.integer({ min: 20, max: 0x3fff })), value: blob() }),
  ) as fc.Arbitrary<TeapTlv>,
}));

/** Uint8Arrays compare by content. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (v instanceof Uint8Array ? hex(v) : v)));

describe('TLV codec properties', () => {
  test('decode(encode(x)) = x for every TLV type, nested ones included', () => {
    fc.assert(
      fc.property(fc.array(tlvArb, { maxLength: 5 }), (tlvs) => {
        const wire = encodeTeapTlvs(tlvs);
        expect(plain(decodeTeapTlvs(wire))).toEqual(plain(tlvs));
        expect(decodeTeapTlvs(wire).map(tlvTypeOf)).toEqual(tlvs.map(tlvTypeOf));
      }),
      { numRuns: 500 },
    );
  });

  test('junk decodes or throws TeapTlvError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (junk) => {
        try {
          const t = decodeTeapTlvs(junk);
          expect(hex(encodeTeapTlvs(t)).length).toBeLessThanOrEqual(junk.length * 2);
        } catch (err) {
          expect(err).toBeInstanceOf(TeapTlvError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('junk that looks like TLVs (valid headers, random types and values) decodes or throws TeapTlvError', () => {
    const tlvLike = fc.tuple(fc.integer({ min: 0, max: 0xffff }), blob(90)).map(([word, v]) => {
      const out = new Uint8Array(4 + v.length);
      out.set([word >> 8, word & 0xff, v.length >> 8, v.length & 0xff]);
      out.set(v, 4);
      return out;
    });
    fc.assert(
      fc.property(fc.array(tlvLike, { maxLength: 6 }), (parts) => {
        const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) {
          buf.set(p, o);
          o += p.length;
        }
        try {
          decodeTeapTlvs(buf);
        } catch (err) {
          expect(err).toBeInstanceOf(TeapTlvError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('every assigned type number maps to its own kind', () => {
    const minimal: Record<number, string> = { 2: '0001', 3: '0001', 4: '000000000001', 5: '00000001', 7: '00000000', 8: '0101', 9: '01010004', 10: '0001', 12: '00'.repeat(76), 14: '01610162', 17: '0001', 18: '3000', 19: '6869' };
    const kinds = new Set<string>();
    for (const type of Object.values(TlvType)) {
      const v = minimal[type] ?? '';
      const h = type.toString(16).padStart(4, '0') + (v.length / 2).toString(16).padStart(4, '0') + v;
      const [t] = decodeTeapTlvs(bytes(h));
      expect(tlvTypeOf(t!)).toBe(type);
      expect(t!.kind).not.toBe('unknown');
      kinds.add(t!.kind);
    }
    expect(kinds.size).toBe(Object.keys(TlvType).length);
  });
});
