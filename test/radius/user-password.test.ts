import fc from 'fast-check';
import { RadiusProtocolError } from '../../src/radius/errors.js';
import { decodePacket, getAttribute } from '../../src/radius/packet.js';
import { decodeUserPassword, encodeUserPassword } from '../../src/radius/user-password.js';
import { SECRET, field, hex, toHex } from './fixtures.js';

function passwordOf(packetHex: string): string {
  const p = decodePacket(hex(packetHex));
  return Buffer.from(decodeUserPassword(getAttribute(p, 2)!, SECRET, p.authenticator)).toString();
}

describe('User-Password vectors', () => {
  test('RFC 2865 §7.1 -> arctangent', () => {
    expect(passwordOf(field('rfc2865_examples', '7.1_access_request'))).toBe(field('rfc2865_examples', '7.1_user_password_plain'));
  });
  test('RFC 2865 §7.3 first request -> challenge', () => {
    expect(passwordOf(field('rfc2865_examples', '7.3_access_request_1'))).toBe(field('rfc2865_examples', '7.3_user_password_1_plain'));
  });
  test('RFC 2865 §7.3 second request (State corrected) -> 99101462', () => {
    const corrected = field('rfc2865_examples', '7.3_access_request_2_as_printed').replace(/1810(3332373639343330)$/, '180a$1');
    expect(passwordOf(corrected)).toBe(field('rfc2865_examples', '7.3_user_password_2_plain'));
  });
  test('encoding reproduces RFC 2865 §7.1 and the PAP request vector', () => {
    const p = decodePacket(hex(field('rfc2865_examples', '7.1_access_request')));
    expect(toHex(encodeUserPassword('arctangent', SECRET, p.authenticator))).toBe(toHex(getAttribute(p, 2)!));
    const ra = hex(field('message_authenticator_pap', 'request_authenticator'));
    expect(toHex(encodeUserPassword(field('message_authenticator_pap', 'user_password_plain'), SECRET, ra))).toBe(field('message_authenticator_pap', 'user_password_hidden'));
  });
});

describe('User-Password limits', () => {
  const ra = new Uint8Array(16).fill(7);
  test('empty password is one zero block; 16 octets get no extra block; 128 is the maximum', () => {
    expect(encodeUserPassword('', SECRET, ra)).toHaveLength(16);
    expect(encodeUserPassword('x'.repeat(16), SECRET, ra)).toHaveLength(16);
    expect(encodeUserPassword('x'.repeat(17), SECRET, ra)).toHaveLength(32);
    expect(encodeUserPassword('x'.repeat(128), SECRET, ra)).toHaveLength(128);
    expect(() => encodeUserPassword('x'.repeat(129), SECRET, ra)).toThrow(RadiusProtocolError);
  });
  test('malformed hidden values are bad-value', () => {
    for (const n of [0, 15, 17, 144]) {
      expect(() => decodeUserPassword(new Uint8Array(n), SECRET, ra)).toThrow(expect.objectContaining({ code: 'bad-value' }));
    }
  });
  test('round trip for passwords without trailing NUL', () => {
    const pw = fc.uint8Array({ minLength: 1, maxLength: 128 }).filter((p) => p[p.length - 1] !== 0);
    fc.assert(
      fc.property(pw, fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.string({ minLength: 1 }), (password, auth, secret) => {
        expect(toHex(decodeUserPassword(encodeUserPassword(password, secret, auth), secret, auth))).toBe(toHex(password));
      }),
      { numRuns: 200 },
    );
  });
});
