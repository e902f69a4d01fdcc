import { parseCookies, safeNextPath, sameToken, setCookie, CONTENT_SECURITY_POLICY, securityHeaders } from '../../src/portal/security.js';
import { RateLimiter } from '../../src/portal/rate-limit.js';

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
