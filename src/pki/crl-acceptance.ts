/**
 * Whether a new CRL file may replace the one in force. A CRL the server cannot vouch for is
 * refused, so that the one in force keeps deciding: unreadable, not signed by its CA, not yet
 * valid, already past its nextUpdate (OpenSSL would refuse every certificate it covers), older
 * than the CRL of the same CA in force (RFC 5280 §5.2.3: CRL numbers only grow; an older CRL may
 * lack a revocation the current one has), or missing a CA the file covered.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { baselineKey, olderCrlReason, type CrlBaseline } from '../store/crl-baselines.js';
import { crlFacts, crlIssuersAmong, crlSignerAmong, parseCrlFile, type CrlFacts } from './crl-file.js';

/**
 * What the server keeps of a CRL it holds. `verified`: its signature was checked against a CA of
 * tls.ca. Only a verified CRL is a baseline that later CRLs of its issuer must not fall behind (or
 * drop): one nobody could check — an intermediate's, or a badly signed one loaded at start — could
 * carry any CRL number, and would otherwise lock out every genuine CRL of that issuer.
 */
export interface JudgedCrlFacts extends CrlFacts {
  verified: boolean;
  /** When verified: SHA-256 (hex) of the SubjectPublicKeyInfo of the tls.ca key that signed it. */
  signerKeySha256?: string;
}

/** Recorded baselines (store/crl-baselines.ts) by `baselineKey`. */
export type RecordedCrlBaselines = ReadonlyMap<string, CrlBaseline>;

/** The key a CA certificate's CRLs are recorded under, with their issuer name. */
export function signerKeySha256(ca: X509Certificate): string {
  return createHash('sha256').update(ca.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

export type CrlJudgement =
  | { ok: true; facts: JudgedCrlFacts[]; notes: string[] }
  /** `retryAt`: the same bytes may be acceptable then (a CRL not valid yet). */
  | { ok: false; reason: string; retryAt?: Date };

/**
 * Judges the bytes of one `tls.crl` file. `cas` are the CAs the server trusts (tls.ca); a CRL of
 * another issuer (an intermediate the clients send) cannot be checked here and is accepted with a
 * note: OpenSSL checks its signature against the chain in every handshake; it is held unverified,
 * so it never becomes a baseline. `inForce` are the facts of the CRLs this file held so far; only
 * the verified ones are compared with. `recorded` are the newest CRLs held of each CA key, kept
 * across restarts; a CRL older than the one recorded for its issuer and signing key is refused too.
 */
export async function judgeCrlFile(
  bytes: Uint8Array,
  cas: readonly X509Certificate[],
  now: Date,
  inForce: readonly JudgedCrlFacts[] = [],
  recorded: RecordedCrlBaselines = new Map(),
): Promise<CrlJudgement> {
  const baseline = inForce.filter((f) => f.verified);
  let crls;
  try {
    crls = parseCrlFile(bytes);
  } catch (err) {
    return { ok: false, reason: `not a CRL (${(err as Error).message})` };
  }
  const facts: JudgedCrlFacts[] = [];
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
    let signer: X509Certificate | undefined;
    if (candidates.length === 0) notes.push(`CRL of ${f.issuer}: its issuer is not in tls.ca, so its signature is checked only in the handshake`);
    else if (!(signer = await crlSignerAmong(crl, candidates))) return { ok: false, reason: `CRL of ${f.issuer} is not signed by that CA's key` };
    if (f.thisUpdate > now) return { ok: false, reason: `CRL of ${f.issuer} is not valid before ${f.thisUpdate.toISOString()} (thisUpdate)`, retryAt: f.thisUpdate };
    if (f.nextUpdate !== undefined && f.nextUpdate < now) {
      return { ok: false, reason: `CRL of ${f.issuer} expired at ${f.nextUpdate.toISOString()} (nextUpdate)` };
    }
    const older = olderThanInForce(f, baseline);
    if (older !== undefined) return { ok: false, reason: `CRL of ${f.issuer} is older than the one in force (${older})` };
    const judged: JudgedCrlFacts = signer ? { ...f, verified: true, signerKeySha256: signerKeySha256(signer) } : { ...f, verified: false };
    const behind = olderThanRecorded(judged, recorded);
    if (behind !== undefined) return { ok: false, reason: `CRL of ${f.issuer} is older than the newest CRL of that CA held so far (${behind})` };
    facts.push(judged);
  }
  // A file that no longer holds a CRL for a CA it held one for is a wrong file (another CA's CRL
  // copied over it, a corrupted issuer name): with one CRL required per CA, it would refuse every
  // certificate of the CA it lost.
  // Only verified CRLs count: a planted CRL of an invented issuer must not make every genuine file "lose" it.
  const lost = baseline.find((old) => !facts.some((f) => f.issuerKey === old.issuerKey));
  if (lost) return { ok: false, reason: `the file no longer holds a CRL of ${lost.issuer}, which the CRL in force covers` };
  return { ok: true, facts, notes };
}

/**
 * The facts of every CRL of a file, each marked verified when a CA of `cas` signed it: what the
 * server holds for a file it loads without judging (at start). Throws when the file does not parse.
 */
export async function crlFactsChecked(bytes: Uint8Array, cas: readonly X509Certificate[]): Promise<JudgedCrlFacts[]> {
  const out: JudgedCrlFacts[] = [];
  for (const crl of parseCrlFile(bytes)) {
    const f = crlFacts(crl);
    const signer = await crlSignerAmong(crl, crlIssuersAmong(crl, cas));
    out.push(signer ? { ...f, verified: true, signerKeySha256: signerKeySha256(signer) } : { ...f, verified: false });
  }
  return out;
}

/** Why `f` is older than the in-force CRL of its issuer, or undefined when it is not. */
function olderThanInForce(f: CrlFacts, inForce: readonly CrlFacts[]): string | undefined {
  for (const old of inForce) {
    if (old.issuerKey !== f.issuerKey) continue;
    const older = olderCrlReason(f, old);
    if (older !== undefined) return older;
  }
  return undefined;
}

/**
 * Why `f` is older than the CRL recorded for its issuer and signing key, or undefined. Only a
 * verified CRL has a signing key to look under; an unverified one was refused or has no record.
 */
export function olderThanRecorded(f: JudgedCrlFacts, recorded: RecordedCrlBaselines): string | undefined {
  if (f.signerKeySha256 === undefined) return undefined;
  const b = recorded.get(baselineKey(f.issuerKey, f.signerKeySha256));
  if (!b) return undefined;
  const older = olderCrlReason(f, b);
  return older === undefined ? undefined : `${older}, held ${b.recordedAt.toISOString()}`;
}
