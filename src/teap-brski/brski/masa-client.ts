import * as https from 'node:https';
import type { Log } from '../../util/log.js';

/** RFC 8995 §5.5: the registrar POSTs its voucher-request, DER CMS, no base64 (§6 clarification). */
export const VOUCHER_CMS_MEDIA_TYPE = 'application/voucher-cms+json';
const REQUEST_VOUCHER_PATH = 'requestvoucher';

export interface MasaClientOptions {
  /**
   * Whole budget for one voucher, retries included. The PVR came in an Access-Request and the
   * voucher must leave in its Access-Challenge: NAS retransmission timers are a few seconds and
   * supplicant EAP timers about 30 s (teap-brski.md §5.5), so the default stays well inside that.
   */
  timeoutMs?: number;
  /** Extra attempts after a connection failure or a 5xx, within the budget. */
  retries?: number;
  /** PEM trust anchors for the MASA's TLS certificate; default: the system's. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Our TLS client certificate and key for the MASA (RFC 8995 §5.5 RECOMMENDS one). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Largest voucher accepted; checked while reading, before buffering more. */
  maxResponseBytes?: number;
  log?: Log;
  now?: () => number;
}

export type MasaOutcome =
  | { kind: 'voucher'; der: Uint8Array; contentType: string }
  /** The MASA answered and said no (4xx, or a 3xx we do not follow): MASA-Refused. */
  | { kind: 'refused'; status: number; message: string }
  /** No usable answer in time (timeout, TLS or connection failure, 5xx, 202): MASA-Notavailable. */
  | { kind: 'unavailable'; reason: string };

/** Where a MASA URL points: `https://authority[/path]`; without a path, `/.well-known/brski` (RFC 8995 §2.3.2). */
export function requestVoucherUrl(masaUrl: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(masaUrl) ? masaUrl : `https://${masaUrl}`;
  const u = new URL(withScheme);
  if (u.protocol !== 'https:') throw new Error(`MASA URL ${masaUrl} is not https`);
  const base = u.pathname === '/' || u.pathname === '' ? '/.well-known/brski' : u.pathname.replace(/\/+$/, '');
  u.pathname = `${base}/${REQUEST_VOUCHER_PATH}`;
  return u;
}

/**
 * The registrar's side of RFC 8995 §5.5–5.6: one voucher-request in, a voucher (or why not) out.
 * Nothing is kept between requests: every registrar voucher-request is signed afresh for its
 * conversation (its created-on, the pledge's nonce), so the same bytes never come twice, and a
 * voucher kept for them would only hold memory (about 2 KB an enrolment, for as long as it is kept).
 */
export class MasaClient {
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(private readonly opts: MasaClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 8000;
    this.retries = opts.retries ?? 1;
    this.maxBytes = opts.maxResponseBytes ?? 64 * 1024;
    this.now = opts.now ?? Date.now;
  }

  async requestVoucher(masaUrl: string, voucherRequestDer: Uint8Array): Promise<MasaOutcome> {
    let url: URL;
    try {
      url = requestVoucherUrl(masaUrl);
    } catch (err) {
      return { kind: 'refused', status: 0, message: (err as Error).message };
    }
    const deadline = this.now() + this.timeoutMs;
    let last: MasaOutcome = { kind: 'unavailable', reason: 'no attempt made' };
    for (let attempt = 0, redirects = 0; attempt <= this.retries; attempt++) {
      const left = deadline - this.now();
      if (left <= 0) break;
      const r = await this.post(url, voucherRequestDer, left);
      if (r.kind === 'redirect') {
        // RFC 8995 §5.5: follow at most one redirect; it does not use up a retry.
        if (redirects++ >= 1) return { kind: 'refused', status: r.status, message: 'more than one redirect' };
        try {
          url = new URL(r.location, url);
        } catch {
          return { kind: 'refused', status: r.status, message: `unusable redirect to ${r.location}` };
        }
        if (url.protocol !== 'https:') return { kind: 'refused', status: r.status, message: 'redirect away from https' };
        attempt--;
        continue;
      }
      last = r;
      if (r.kind === 'voucher' || r.kind === 'refused') return r;
      this.opts.log?.info({ masa: url.origin, attempt: attempt + 1, reason: r.reason }, 'MASA not available');
    }
    return last.kind === 'unavailable' ? last : { kind: 'unavailable', reason: `no answer within ${this.timeoutMs} ms` };
  }

  private post(url: URL, body: Uint8Array, timeoutMs: number): Promise<MasaOutcome | { kind: 'redirect'; status: number; location: string }> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (v: MasaOutcome | { kind: 'redirect'; status: number; location: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      };
      const req = https.request(url, {
        method: 'POST',
        headers: { 'content-type': VOUCHER_CMS_MEDIA_TYPE, accept: VOUCHER_CMS_MEDIA_TYPE, 'content-length': body.length },
        ...(this.opts.ca !== undefined ? { ca: this.opts.ca } : {}),
        ...(this.opts.cert !== undefined ? { cert: this.opts.cert } : {}),
        ...(this.opts.key !== undefined ? { key: this.opts.key } : {}),
        minVersion: 'TLSv1.2',
        agent: false,
      });
      const timer = setTimeout(() => {
        req.destroy();
        done({ kind: 'unavailable', reason: `timeout after ${timeoutMs} ms` });
      }, timeoutMs);
      req.on('error', (err) => done({ kind: 'unavailable', reason: err.message }));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxBytes) {
            res.destroy();
            done({ kind: 'refused', status, message: `response larger than ${this.maxBytes} octets` });
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => done({ kind: 'unavailable', reason: err.message }));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const text = (): string => bytes.toString('utf8').replace(/[^\x20-\x7e]+/g, ' ').slice(0, 256);
          if (status === 200) {
            if (bytes.length === 0) return done({ kind: 'refused', status, message: 'empty voucher' });
            return done({ kind: 'voucher', der: new Uint8Array(bytes), contentType: String(res.headers['content-type'] ?? '') });
          }
          if (status >= 300 && status < 400 && typeof res.headers.location === 'string') return done({ kind: 'redirect', status, location: res.headers.location });
          if (status === 202) return done({ kind: 'unavailable', reason: `MASA accepted the request but has no voucher yet (Retry-After: ${res.headers['retry-after'] ?? '-'})` });
          if (status >= 500) return done({ kind: 'unavailable', reason: `HTTP ${status}: ${text()}` });
          return done({ kind: 'refused', status, message: text() });
        });
      });
      req.end(Buffer.from(body));
    });
  }
}
