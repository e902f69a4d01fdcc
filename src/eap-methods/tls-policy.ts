import type * as tls from 'node:tls';

/**
 * What the TLS-based EAP methods (EAP-TLS, TEAP and its inner EAP-TLS) offer. Reviewed against
 * RFC 9325 (TLS recommendations) and RFC 9190 / RFC 9930:
 *  - nothing below TLS 1.2 (RFC 8996 deprecates 1.0 and 1.1; TEAP forbids them, RFC 9930 §3.2);
 *  - with TLS 1.2 only ephemeral ECDHE key exchange (forward secrecy, RFC 9325 §4.1) and AEAD
 *    ciphers (no CBC: Lucky13-style padding oracles, RFC 9325 §4.2); the same list keeps TEAP's
 *    PRF hash and Compound-MAC hash in agreement across implementations (hostapd uses HMAC-SHA1
 *    for CBC *_SHA suites). No RSA key transport, no static DH, no NULL, export, RC4, 3DES or
 *    anonymous suites can be negotiated;
 *  - TLS 1.3 keeps OpenSSL's default suites, all AEAD (AES-GCM, ChaCha20-Poly1305).
 * Order: AES-128-GCM first (fast with AES-NI, what wpa_supplicant prefers), ChaCha20 for
 * devices without AES hardware.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const MIN_TLS_VERSION: tls.SecureVersion = 'TLSv1.2';

/** The configured minimum, refusing anything below TLS 1.2. */
export function checkedMinVersion(v: tls.SecureVersion | undefined, method: string): tls.SecureVersion {
  const version = v ?? MIN_TLS_VERSION;
  if (version === 'TLSv1' || version === 'TLSv1.1') throw new Error(`${method} requires TLS 1.2 or later (RFC 8996)`);
  return version;
}
