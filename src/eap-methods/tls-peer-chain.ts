import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/**
 * The peer's certificates as Node reports them (leaf first, up to a self-signed issuer), parsed.
 * getPeerCertificate(true) rebuilds the chain as JS objects, so callers ask only when the issuer
 * matters. Bounded, and safe against the self-referencing root Node returns.
 */
export function peerCertificateChainOf(socket: TLSSocket | undefined): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let c = socket?.getPeerCertificate(true);
  while (c && c.raw && !seen.has(c.fingerprint256) && out.length < 10) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}
