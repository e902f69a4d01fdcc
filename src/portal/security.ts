/**
 * HTTP-level protections of the portal: response headers (CSP and friends), cookies, tokens and
 * the constant-time comparison of CSRF tokens.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Strict CSP: only our own files; no inline script or style, no eval, no framing, forms post only
 * to us. `img-src data:` is for QR codes we render as data URLs.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(https: boolean): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // OOB URLs carry a Noob in their query: never let them leak in a Referer.
    'referrer-policy': 'no-referrer',
    'permissions-policy': 'camera=(self), microphone=(), geolocation=()',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    ...(https ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}

export const SESSION_COOKIE = 'gangway_session';
/** Pre-login CSRF token for the login form (no session exists yet to hold one). */
export const LOGIN_COOKIE = 'gangway_login';

/** 32 random octets, base64url: session cookies and CSRF tokens. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): Uint8Array {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || a.length === 0) return false;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Cookie header → name/value pairs; the first occurrence wins, malformed pairs are skipped. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header || header.length > 8192) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name.length > 0 && !out.has(name) && /^[A-Za-z0-9_-]{1,200}$/.test(value)) out.set(name, value);
  }
  return out;
}

export function setCookie(name: string, value: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict${opts.secure ? '; Secure' : ''}; Max-Age=${opts.maxAgeSeconds}`;
}

export function clearCookie(name: string, secure: boolean): string {
  return setCookie(name, '', { secure, maxAgeSeconds: 0 });
}

/** Where a login may send the person next: only a path of this site, never `//host` or a scheme. */
export function safeNextPath(next: string | undefined): string {
  if (!next || next.length > 2048 || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/devices';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(next)) return '/devices';
  // It becomes a Location header, which carries only Latin-1 (Node refuses anything else, after
  // the session was made) and where browsers read the octets above ASCII each their own way.
  let encoded: string;
  try {
    encoded = next.replace(/[^\x21-\x7e]+/g, (s) => encodeURIComponent(s));
  } catch {
    // A lone surrogate: no URL names it.
    return '/devices';
  }
  return encoded.length > 2048 ? '/devices' : encoded;
}
