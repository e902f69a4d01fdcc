/**
 * Whether a new CRL file may replace the one in force. A CRL the server cannot vouch for is
 * refused, so that the one in force keeps deciding: unreadable, not signed by its CA, not yet
 * valid, already past its nextUpdate (OpenSSL would refuse every certificate it covers), older
 * than the CRL of the same CA in force (RFC 5280 §5.2.3: CRL numbers only grow; an older CRL may
 * lack a revocation the current one has), or missing a CA the file covered.
 */
import type { X509Certificate } from 'node:crypto';
import { crlFacts, crlIssuersAmong, crlSignerAmong, parseCrlFile, type CrlFacts } from './crl-file.js';

export type CrlJudgement =
  | { ok: true; facts: CrlFacts[]; notes: string[] }
  /** `retryAt`: the same bytes may be acceptable then (a CRL not valid yet). */
  | { ok: false; reason: string; retryAt?: Date };

/**
 * Judges the bytes of one `tls.crl` file. `cas` are the CAs the server trusts (tls.ca); a CRL of
 * another issuer (an intermediate the clients send) cannot be checked here and is accepted with a
 * note: OpenSSL checks its signature against the chain in every handshake. `inForce` are the facts
 * of the CRLs this file held so far.
 */
export async function judgeCrlFile(bytes: Uint8Array, cas: readonly X509Certificate[], now: Date, inForce: readonly CrlFacts[] = []): Promise<CrlJudgement> {
  let crls;
  try {
    crls = parseCrlFile(bytes);
  } catch (err) {
    return { ok: false, reason: `not a CRL (${(err as Error).message})` };
  }
  const facts: CrlFacts[] = [];
  const notes: string[] = [];
  for (const crl of crls) {
    let f: CrlFacts;
    try {
      // The entries and extensions are decoded here, not when the outer structure parsed.
      f = crlFacts(crl);
    } catch (err) {
      return { ok: false, reason: `not a CRL (${(err as Error).message})` };
    }
    const candidates = crlIssuersAmong(crl, cas);
    if (candidates.length === 0) notes.push(`CRL of ${f.issuer}: its issuer is not in tls.ca, so its signature is checked only in the handshake`);
    else if (!(await crlSignerAmong(crl, candidates))) return { ok: false, reason: `CRL of ${f.issuer} is not signed by that CA's key` };
    if (f.thisUpdate > now) return { ok: false, reason: `CRL of ${f.issuer} is not valid before ${f.thisUpdate.toISOString()} (thisUpdate)`, retryAt: f.thisUpdate };
    if (f.nextUpdate !== undefined && f.nextUpdate < now) {
      return { ok: false, reason: `CRL of ${f.issuer} expired at ${f.nextUpdate.toISOString()} (nextUpdate)` };
    }
    const older = olderThanInForce(f, inForce);
    if (older !== undefined) return { ok: false, reason: `CRL of ${f.issuer} is older than the one in force (${older})` };
    facts.push(f);
  }
  // A file that no longer holds a CRL for a CA it held one for is a wrong file (another CA's CRL
  // copied over it, a corrupted issuer name): with one CRL required per CA, it would refuse every
  // certificate of the CA it lost.
  const lost = inForce.find((old) => !facts.some((f) => f.issuerKey === old.issuerKey));
  if (lost) return { ok: false, reason: `the file no longer holds a CRL of ${lost.issuer}, which the CRL in force covers` };
  return { ok: true, facts, notes };
}

/** Why `f` is older than the in-force CRL of its issuer, or undefined when it is not. */
function olderThanInForce(f: CrlFacts, inForce: readonly CrlFacts[]): string | undefined {
  for (const old of inForce) {
    if (old.issuerKey !== f.issuerKey) continue;
    if (old.crlNumber !== undefined && f.crlNumber !== undefined) {
      if (f.crlNumber < old.crlNumber) return `CRL number ${f.crlNumber} < ${old.crlNumber}`;
    } else if (f.thisUpdate < old.thisUpdate) {
      return `thisUpdate ${f.thisUpdate.toISOString()} < ${old.thisUpdate.toISOString()}`;
    }
  }
  return undefined;
}
