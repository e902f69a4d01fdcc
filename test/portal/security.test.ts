import { parseCookies, safeNextPath, sameToken, setCookie, CONTENT_SECURITY_POLICY, securityHeaders } from '../../src/portal/security.js';
import { RateLimiter } from '../../src/portal/rate-limit.js';
import { addressKey, ReportBudget } from '../../src/portal/report-budget.js';

describe('portal security helpers', () => {
  it('session cookies are HttpOnly, SameSite=Strict, and Secure only under HTTPS', () => {
    expect(setCookie('s', 'v', { secure: true, maxAgeSeconds: 60 })).toBe('s=v; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=60');
    expect(setCookie('s', 'v', { secure: false, maxAgeSeconds: 60 })).not.toContain('Secure');
  });

  it('parses cookies: first wins, odd values are ignored, oversized headers give nothing', () => {
    const c = parseCookies('a=1; b=x y; a=2; c=tok_-9; =z; d');
    expect([...c.entries()]).toEqual([['a', '1'], ['c', 'tok_-9']]);
    expect(parseCookies(`a=${'x'.repeat(9000)}`).size).toBe(0);
  });

  it('CSRF tokens compare only when equal and present', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abc', 'abd')).toBe(false);
    expect(sameToken('abc', 'abcd')).toBe(false);
    expect(sameToken(undefined, 'abc')).toBe(false);
    expect(sameToken('', '')).toBe(false);
  });

  it('a login only redirects within the site', () => {
    expect(safeNextPath('/noob?P=a&N=b&H=c')).toBe('/noob?P=a&N=b&H=c');
    for (const bad of ['https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)', '/a\nb', undefined, '']) {
      expect(safeNextPath(bad)).toBe('/devices');
    }
  });

  it('a next path outside ASCII is percent-encoded for the Location header; one that cannot be is refused', () => {
    expect(safeNextPath('/日本')).toBe('/%E6%97%A5%E6%9C%AC');
    expect(safeNextPath('/a b?c=é&d=%41')).toBe('/a%20b?c=%C3%A9&d=%41');
    expect(safeNextPath('/devices\u2028')).toBe('/devices%E2%80%A8');
    expect(safeNextPath('/\ud800')).toBe('/devices');
    expect(safeNextPath(`/${'日'.repeat(500)}`)).toBe('/devices');
    // What comes out is a valid header value of ASCII only.
    for (const p of ['/é', '/\u0100', '/😀', '/\u00a0x']) expect(safeNextPath(p)).toMatch(/^\/[\x21-\x7e]*$/);
  });

  it('refusal reports: once per kind and address and window, the rest counted into the next, all addresses capped', () => {
    let now = 0;
    const b = new ReportBudget({ windowMs: 1000, perWindow: 3, maxKeys: 5, now: () => now });
    expect([b.admit('csrf', '192.0.2.1'), b.admit('csrf', '192.0.2.1'), b.admit('csrf', '192.0.2.1')]).toEqual([0, undefined, undefined]);
    expect(b.admit('login', '192.0.2.1')).toBe(0);
    expect([b.admit('csrf', '192.0.2.2'), b.admit('csrf', '192.0.2.3'), b.admit('csrf', '192.0.2.4')]).toEqual([0, 0, undefined]);
    now = 1000;
    expect(b.admit('csrf', '192.0.2.1')).toBe(2);
    expect(b.admit('csrf', '192.0.2.4')).toBe(1);
    // Bounded: a sixth key forgets the one heard of least recently (login 192.0.2.1), and its count.
    expect(b.admit('csrf', '192.0.2.5')).toBe(0);
    expect(b.admit('login', '192.0.2.1')).toBe(0);
    expect((b as unknown as { sources: Map<string, unknown> }).sources.size).toBe(5);
  });

  it('an IPv6 client is its /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('::ffff:192.0.2.7');
    expect(addressKey('2001:db8:0:1:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:DB8:0000:1::5')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('CSP forbids inline script, eval, framing and foreign origins', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(securityHeaders(true)['strict-transport-security']).toBeDefined();
    expect(securityHeaders(false)['strict-transport-security']).toBeUndefined();
    expect(securityHeaders(false)['referrer-policy']).toBe('no-referrer');
  });

  it('rate limiter: a fixed window per key, bounded in keys', () => {
    const r = new RateLimiter(2, 1000, 3);
    expect([r.hit('a', 0), r.hit('a', 10), r.hit('a', 20)]).toEqual([true, true, false]);
    expect(r.retryAfter('a', 20)).toBe(1);
    expect(r.hit('a', 1000)).toBe(true);
    for (const k of ['b', 'c', 'd', 'e']) r.hit(k, 1000);
    // 'a' was the oldest window and has been dropped: it starts afresh.
    expect([r.hit('a', 1001), r.hit('a', 1002), r.hit('a', 1003)]).toEqual([true, true, false]);
  });
});
