import fc from 'fast-check';
import { decodeTeapPacket, encodeTeapPacket, isTeapAck, teapAck, type TeapPacket } from '../../../src/teap-brski/teap/outer-framing.js';
import { TeapReassembler, TeapReassemblyLimitError, fragmentTeapMessage, type TeapMessage } from '../../../src/teap-brski/teap/fragmentation.js';
import { TeapFramingError } from '../../../src/teap-brski/teap/errors.js';
import { encodeTeapTlvs, tlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import { bytes, hex } from '../helpers.js';

describe('TEAP outer framing (V0, RFC 9930 §4.1)', () => {
  test('TEAP/Start of hostapd 2.10 decodes and re-encodes byte for byte', () => {
    // 01 94 00 1e 37 | 31 00000014 0001 0010 101112...1f
    const typeData = bytes('31 00000014 0001 0010 101112131415161718191a1b1c1d1e1f');
    const p = decodeTeapPacket(typeData);
    expect(p).toMatchObject({ start: true, more: false, version: 1, outerTlvLength: 20 });
    expect(p.messageLength).toBeUndefined();
    expect(hex(p.data)).toBe('00010010101112131415161718191a1b1c1d1e1f');
    expect(hex(encodeTeapPacket(p))).toBe(hex(typeData));
    // What our server sends for the same Authority-ID:
    const ours = encodeTeapPacket({ more: false, start: true, version: 1, outerTlvLength: 20, data: encodeTeapTlvs([tlv.authorityId(bytes('101112131415161718191a1b1c1d1e1f'))]) });
    expect(hex(ours)).toBe(hex(typeData));
  });

  test('ACK / empty message is Flags=version only: "37 01"', () => {
    expect(hex(teapAck())).toBe('01');
    expect(isTeapAck(decodeTeapPacket(bytes('01')))).toBe(true);
    expect(isTeapAck(decodeTeapPacket(bytes('0116030301')))).toBe(false);
  });

  test('first fragment with L and M: "37 c1 00000435 16 03 03 ..."', () => {
    const p = decodeTeapPacket(bytes('c1 00000435 160303'));
    expect(p).toMatchObject({ more: true, start: false, version: 1, messageLength: 0x435 });
    expect(hex(p.data)).toBe('160303');
  });

  test('reserved bit is ignored on receipt; version is three bits', () => {
    expect(decodeTeapPacket(bytes('09'))).toMatchObject({ version: 1, more: false });
    expect(decodeTeapPacket(bytes('00')).version).toBe(0);
  });

  test.each([
    ['empty', ''],
    ['L without length', '81 0000'],
    ['O without length', '11 000000'],
    ['Outer TLV Length beyond the data', '11 00000010 0001'],
  ])('inconsistent packet (%s) throws TeapFramingError', (_, h) => {
    expect(() => decodeTeapPacket(bytes(h))).toThrow(TeapFramingError);
  });

  test('hostapd fragment_size=300: 1077 TLS octets go out as 295 + 299 + 299 + 184 (EAP lengths 305,305,305,190)', () => {
    const tls = new Uint8Array(1077).map((_, i) => i & 0xff);
    const packets = fragmentTeapMessage({ version: 1, start: false, tls }, 300);
    expect(packets.map((p) => p.data.length)).toEqual([295, 299, 299, 184]);
    expect(packets.map((p) => 5 + encodeTeapPacket(p).length)).toEqual([305, 305, 305, 190]);
    expect(hex(encodeTeapPacket(packets[0]!).subarray(0, 5))).toBe('c100000435');
    expect(encodeTeapPacket(packets[1]!)[0]).toBe(0x41);
    expect(encodeTeapPacket(packets[3]!)[0]).toBe(0x01);
    const r = new TeapReassembler();
    for (const p of packets.slice(0, 3)) expect(r.push(decodeTeapPacket(encodeTeapPacket(p))).done).toBe(false);
    const done = r.push(decodeTeapPacket(encodeTeapPacket(packets[3]!)));
    expect(done.done && hex(done.message.tls)).toBe(hex(tls));
  });

  test('a reassembled message is the reassembler\'s own: the caller may reuse its packets at once', () => {
    const message: TeapMessage = { version: 1, start: true, tls: new Uint8Array(700).fill(0x16), outerTlvs: Uint8Array.of(0, 1, 0, 0) };
    for (const budget of [2000, 300]) {
      const r = new TeapReassembler();
      let result;
      for (const packet of fragmentTeapMessage(message, budget).map(encodeTeapPacket)) {
        const reused = new Uint8Array(4096);
        reused.set(packet);
        result = r.push(decodeTeapPacket(reused.subarray(0, packet.length)));
        reused.fill(0xee);
      }
      expect(result?.done).toBe(true);
      const got = (result as { message: TeapMessage }).message;
      expect(Buffer.from(got.tls).equals(Buffer.from(message.tls))).toBe(true);
      expect([...got.outerTlvs!]).toEqual([0, 1, 0, 0]);
    }
  });

  test('unfragmented message with Outer TLVs: O flag, Outer TLVs at the end', () => {
    const outer = encodeTeapTlvs([tlv.identityType(1)]);
    const [p, ...rest] = fragmentTeapMessage({ version: 1, start: false, tls: bytes('160301'), outerTlvs: outer }, 1400);
    expect(rest).toHaveLength(0);
    expect(hex(encodeTeapPacket(p!))).toBe('11' + '00000006' + '160301' + hex(outer));
  });

  test('fragmented message with Outer TLVs: Message Length counts the Outer TLV Length field (hostapd)', () => {
    const outer = encodeTeapTlvs([tlv.identityType(2)]);
    const tls = new Uint8Array(100).fill(7);
    const packets = fragmentTeapMessage({ version: 1, start: false, tls, outerTlvs: outer }, 40);
    expect(packets[0]!.messageLength).toBe(4 + 100 + 6);
    expect(packets.slice(1).every((p) => p.outerTlvLength === undefined)).toBe(true);
    const r = new TeapReassembler();
    let last;
    for (const p of packets) last = r.push(decodeTeapPacket(encodeTeapPacket(p)));
    expect(last!.done && hex(last!.message.outerTlvs!)).toBe(hex(outer));
    expect(last!.done && last!.message.tls.length).toBe(100);
  });

  test('a Message Length over the cap is refused before allocation', () => {
    const r = new TeapReassembler({ maxMessageLength: 65536, maxFragments: 64 });
    expect(() => r.push(decodeTeapPacket(bytes('c1 ffffffff 16')))).toThrow(TeapReassemblyLimitError);
  });

  test('endless fragments are cut off by the fragment cap', () => {
    const r = new TeapReassembler({ maxMessageLength: 65536, maxFragments: 8 });
    r.push(decodeTeapPacket(bytes('c1 00001000 16')));
    const more = decodeTeapPacket(bytes('41 00'));
    expect(() => {
      for (let i = 0; i < 100; i++) r.push(more);
    }).toThrow(TeapReassemblyLimitError);
  });

  test('fragments exceeding the announced length are refused', () => {
    const r = new TeapReassembler();
    r.push(decodeTeapPacket(bytes('c1 00000004 1603')));
    expect(() => r.push(decodeTeapPacket(bytes('41 030303')))).toThrow(TeapReassemblyLimitError);
  });

  test('without L, reassembly is bounded by the cap', () => {
    const r = new TeapReassembler({ maxMessageLength: 10, maxFragments: 64 });
    r.push(decodeTeapPacket(bytes('41 0102030405')));
    expect(() => r.push(decodeTeapPacket(bytes('41 060708090a0b')))).toThrow(TeapReassemblyLimitError);
  });

  test('S or O on a later fragment is inconsistent', () => {
    const r = new TeapReassembler();
    r.push(decodeTeapPacket(bytes('c1 00000010 16')));
    expect(() => r.push(decodeTeapPacket(bytes('61 03')))).toThrow(TeapFramingError);
    expect(() => r.push(decodeTeapPacket(bytes('51 00000000 03')))).toThrow(TeapFramingError);
  });
});

describe('TEAP framing properties', () => {
  const packetArb: fc.Arbitrary<TeapPacket> = fc.record(
    {
      more: fc.boolean(),
      start: fc.boolean(),
      version: fc.integer({ min: 0, max: 7 }),
      messageLength: fc.integer({ min: 0, max: 0xffffffff }),
      outerTlvLength: fc.integer({ min: 0, max: 64 }),
      data: fc.uint8Array({ maxLength: 200 }),
    },
    { requiredKeys: ['more', 'start', 'version', 'data'] },
  ).filter((p) => p.outerTlvLength === undefined || p.more || p.messageLength !== undefined || p.outerTlvLength <= p.data.length);

  test('decode(encode(p)) = p', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const d = decodeTeapPacket(encodeTeapPacket(p));
        expect({ ...d, data: hex(d.data) }).toEqual({ ...p, data: hex(p.data) });
      }),
    );
  });

  test('junk decodes or throws TeapFramingError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        try {
          decodeTeapPacket(junk);
        } catch (err) {
          expect(err).toBeInstanceOf(TeapFramingError);
        }
      }),
    );
  });

  test('fragment then reassemble gives the message back, every packet within the size limit', () => {
    const msgArb: fc.Arbitrary<TeapMessage> = fc.record(
      { version: fc.constant(1), start: fc.boolean(), tls: fc.uint8Array({ maxLength: 3000 }), outerTlvs: fc.uint8Array({ maxLength: 40 }) },
      { requiredKeys: ['version', 'start', 'tls'] },
    );
    fc.assert(
      fc.property(msgArb, fc.integer({ min: 20, max: 1500 }), (msg, max) => {
        const packets = fragmentTeapMessage(msg, max);
        const r = new TeapReassembler();
        let result;
        for (const p of packets) {
          const wire = encodeTeapPacket(p);
          expect(wire.length).toBeLessThanOrEqual(max);
          result = r.push(decodeTeapPacket(wire));
        }
        expect(result!.done).toBe(true);
        if (!result!.done) return;
        expect(hex(result!.message.tls)).toBe(hex(msg.tls));
        expect(result!.message.start).toBe(msg.start);
        expect(result!.message.outerTlvs && hex(result!.message.outerTlvs)).toBe(msg.outerTlvs && hex(msg.outerTlvs));
      }),
      { numRuns: 200 },
    );
  });

  test('reassembling junk packet streams throws only framing errors', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }), (stream) => {
        const r = new TeapReassembler({ maxMessageLength: 256, maxFragments: 8 });
        for (const junk of stream) {
          try {
            r.push(decodeTeapPacket(junk));
          } catch (err) {
            expect(err).toBeInstanceOf(TeapFramingError);
          }
        }
      }),
    );
  });
});
