import fc from 'fast-check';
import { formatIpv6, parseIpAddress, parseIpv4, parseIpv6 } from '../../src/radius/ip.js';
import { toHex } from './fixtures.js';

describe('ip', () => {
  test('IPv4', () => {
    expect(toHex(parseIpv4('192.0.2.1')!)).toBe('c0000201');
    expect(parseIpv4('192.0.2')).toBeUndefined();
    expect(parseIpv4('::1')).toBeUndefined();
  });
  test('IPv6 forms', () => {
    expect(toHex(parseIpv6('::')!)).toBe('00'.repeat(16));
    expect(toHex(parseIpv6('::1')!)).toBe('00'.repeat(15) + '01');
    expect(toHex(parseIpv6('fe80::1%eth0')!)).toBe('fe80' + '00'.repeat(13) + '01');
    expect(toHex(parseIpv6('::ffff:192.0.2.1')!)).toBe('00'.repeat(10) + 'ffffc0000201');
    expect(toHex(parseIpv6('1:2:3:4:5:6:7:8')!)).toBe('00010002000300040005000600070008');
    expect(parseIpv6('1::2::3')).toBeUndefined();
    expect(parseIpv6('10.0.0.1')).toBeUndefined();
  });
  test('mapped addresses fold to IPv4', () => {
    expect(toHex(parseIpAddress('::ffff:10.0.0.1')!)).toBe('0a000001');
    expect(parseIpAddress('2001:db8::1')).toHaveLength(16);
  });
  test('RFC 5952 formatting round trips', () => {
    expect(formatIpv6(parseIpv6('2001:0db8:0000:0000:0001:0000:0000:0001')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(parseIpv6('2001:db8:0:1:1:1:1:1')!)).toBe('2001:db8:0:1:1:1:1:1');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect(toHex(parseIpv6(formatIpv6(bytes))!)).toBe(toHex(bytes));
      }),
    );
  });
});
