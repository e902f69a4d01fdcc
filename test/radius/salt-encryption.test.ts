import fc from 'fast-check';
import { RadiusProtocolError } from '../../src/radius/errors.js';
import { decodePacket } from '../../src/radius/packet.js';
import {
  decryptMppeKey,
  encryptMppeKey,
  generateSalts,
  getMppeKeys,
  mppeKeyAttributes,
  saltDecrypt,
  saltEncrypt,
} from '../../src/radius/salt-encryption.js';
import { SECRET, field, hex, toHex } from './fixtures.js';

const E = 'eap_and_mppe';
const M = 'mppe_16_octet_keys_mschapv2';

describe('MS-MPPE keys, 32 octets (eap_and_mppe)', () => {
  const ra = hex(field(E, 'request_authenticator'));
  test('encryption with the given salts gives the exact octets', () => {
    expect(toHex(encryptMppeKey(hex(field(E, 'ms_mppe_recv_key_plain')), SECRET, ra, hex(field(E, 'ms_mppe_recv_key_salt'))))).toBe(field(E, 'ms_mppe_recv_key_value'));
    expect(toHex(encryptMppeKey(hex(field(E, 'ms_mppe_send_key_plain')), SECRET, ra, hex(field(E, 'ms_mppe_send_key_salt'))))).toBe(field(E, 'ms_mppe_send_key_value'));
  });
  test('decryption', () => {
    expect(toHex(decryptMppeKey(hex(field(E, 'ms_mppe_recv_key_value')), SECRET, ra))).toBe(field(E, 'ms_mppe_recv_key_plain'));
    expect(toHex(decryptMppeKey(hex(field(E, 'ms_mppe_send_key_value')), SECRET, ra))).toBe(field(E, 'ms_mppe_send_key_plain'));
  });
  test('first key-stream block b1 = MD5(S ‖ RA ‖ Salt)', () => {
    const value = hex(field(E, 'ms_mppe_recv_key_value'));
    const p1 = new Uint8Array(16);
    p1[0] = 32;
    p1.set(hex(field(E, 'ms_mppe_recv_key_plain')).subarray(0, 15), 1);
    const b1 = value.subarray(2, 18).map((c, i) => c ^ p1[i]!);
    expect(toHex(b1)).toBe(field(E, 'b1_recv'));
  });
  test('Vendor-Specific encoding (Recv then Send)', () => {
    const attrs = mppeKeyAttributes(
      { recv: hex(field(E, 'ms_mppe_recv_key_plain')), send: hex(field(E, 'ms_mppe_send_key_plain')) },
      SECRET,
      ra,
      [hex('8001'), hex('8002')],
    );
    expect(attrs.map((a) => `1a${(a.value.length + 2).toString(16)}${toHex(a.value)}`)).toEqual([field(E, 'ms_mppe_recv_key_vsa'), field(E, 'ms_mppe_send_key_vsa')]);
  });
  test('getMppeKeys on the designed Access-Accept gives MSK halves', () => {
    const keys = getMppeKeys(decodePacket(hex(field(E, 'access_accept'))), SECRET, ra);
    const msk = field(E, 'msk');
    expect(toHex(keys.recv!)).toBe(msk.slice(0, 64));
    expect(toHex(keys.send!)).toBe(msk.slice(64));
  });
  test('getMppeKeys on the reply radclient accepted', () => {
    const request = hex(field('radclient_exchange', 'access_request_from_radclient'));
    const keys = getMppeKeys(decodePacket(hex(field('radclient_exchange', 'access_accept_built_here'))), SECRET, request.subarray(4, 20));
    const msk = field('radclient_exchange', 'msk_sent');
    expect(toHex(keys.recv!)).toBe(msk.slice(0, 64));
    expect(toHex(keys.send!)).toBe(msk.slice(64));
  });
});

describe('MS-MPPE keys, 16 octets (EAP-MSCHAPv2)', () => {
  const ra = hex(field(M, 'request_authenticator'));
  test('encryption with the given salts gives the exact octets', () => {
    expect(toHex(encryptMppeKey(hex(field(M, 'recv_key_plain')), SECRET, ra, hex(field(M, 'recv_salt'))))).toBe(field(M, 'recv_value'));
    expect(toHex(encryptMppeKey(hex(field(M, 'send_key_plain')), SECRET, ra, hex(field(M, 'send_salt'))))).toBe(field(M, 'send_value'));
  });
  test('decryption, directly and from the Access-Accept', () => {
    expect(toHex(decryptMppeKey(hex(field(M, 'recv_value')), SECRET, ra))).toBe(field(M, 'recv_key_plain'));
    expect(toHex(decryptMppeKey(hex(field(M, 'send_value')), SECRET, ra))).toBe(field(M, 'send_key_plain'));
    const keys = getMppeKeys(decodePacket(hex(field(M, 'access_accept'))), SECRET, ra);
    expect(toHex(keys.recv!)).toBe(field(M, 'recv_key_plain'));
    expect(toHex(keys.send!)).toBe(field(M, 'send_key_plain'));
  });
});

describe('salts and argument checks', () => {
  const ra = new Uint8Array(16);
  test('generated salts have the MSB set and are unique', () => {
    const salts = generateSalts(500);
    expect(salts.every((s) => s.length === 2 && (s[0]! & 0x80) !== 0)).toBe(true);
    expect(new Set(salts.map(toHex)).size).toBe(500);
  });
  test('salt without the MSB, or of the wrong size, is refused', () => {
    expect(() => saltEncrypt(new Uint8Array(16), SECRET, ra, hex('7fff'))).toThrow(RadiusProtocolError);
    expect(() => saltEncrypt(new Uint8Array(16), SECRET, ra, hex('80'))).toThrow(RadiusProtocolError);
    expect(() => mppeKeyAttributes({ recv: new Uint8Array(16), send: new Uint8Array(16) }, SECRET, ra, [hex('8001'), hex('8001')])).toThrow(RadiusProtocolError);
  });
  test('malformed ciphertext is bad-value', () => {
    for (const n of [0, 2, 17, 19, 33]) {
      expect(() => saltDecrypt(new Uint8Array(n).fill(0x80), SECRET, ra)).toThrow(expect.objectContaining({ code: 'bad-value' }));
    }
  });
  test('decrypted length octet larger than the data is bad-value', () => {
    const value = saltEncrypt(new Uint8Array(15), SECRET, ra, hex('8123'));
    // Flipping ciphertext bit 4 of the first octet turns length 15 into 31 > 15.
    value[2] = value[2]! ^ 0x10;
    expect(() => saltDecrypt(value, SECRET, ra)).toThrow(expect.objectContaining({ code: 'bad-value' }));
  });
  test('keys too long for a Vendor-Specific attribute are refused', () => {
    expect(() => mppeKeyAttributes({ recv: new Uint8Array(240), send: new Uint8Array(16) }, SECRET, ra)).toThrow(expect.objectContaining({ code: 'attribute-too-long' }));
    expect(mppeKeyAttributes({ recv: new Uint8Array(239), send: new Uint8Array(16) }, SECRET, ra)[0]!.value).toHaveLength(4 + 2 + 2 + 240);
  });
  test('round trip', () => {
    const salt = fc.tuple(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0, max: 0xff })).map(([a, b]) => Uint8Array.of(a, b));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 239 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), salt, fc.string({ minLength: 1 }), (key, auth, s, secret) => {
        const value = saltEncrypt(key, secret, auth, s);
        expect((value.length - 2) % 16).toBe(0);
        expect(toHex(value.subarray(0, 2))).toBe(toHex(s));
        expect(toHex(saltDecrypt(value, secret, auth))).toBe(toHex(key));
      }),
      { numRuns: 200 },
    );
  });
});
