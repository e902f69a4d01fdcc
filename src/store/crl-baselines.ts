/**
 * The newest CRL the server has held from each CA, per CA key: what a CRL installed later must not
 * fall behind (RFC 5280 §5.2.3: CRL numbers only grow; an older CRL may lack a revocation the newer
 * one has). Kept in the database so that it outlives a restart: without it, a CRL file swapped back
 * to an old CRL before a restart would be loaded as it is. Only CRLs whose signature was verified
 * under a `tls.ca` key are recorded (server/crls-in-force.ts), so nothing a third party can write
 * raises it.
 */
export interface CrlBaseline {
  /** Hex DER of the CRL's issuer name. */
  issuerKey: string;
  /**
   * SHA-256 (hex) of the SubjectPublicKeyInfo of the CA key that signed it. A CA that starts over
   * with a new key under its old name starts a new numbering, and a new baseline.
   */
  signerKeySha256: string;
  /** The issuer as text, for log lines. */
  issuer: string;
  crlNumber?: bigint;
  thisUpdate: Date;
  /** When it was last raised. */
  recordedAt: Date;
}

export interface CrlBaselineStore {
  list(): Promise<CrlBaseline[]>;
  /**
   * Records `b` as the baseline of its issuer and key unless the one recorded is newer (one
   * decision, whichever server raises it meanwhile). Returns the baseline that holds afterwards.
   */
  raise(b: CrlBaseline): Promise<CrlBaseline>;
}

/** What a CRL is ordered by. */
export interface CrlAge {
  crlNumber?: bigint;
  thisUpdate: Date;
}

/**
 * Why `crl` is older than `than`, or undefined when it is not: by CRL number when both carry one,
 * else by thisUpdate.
 */
export function olderCrlReason(crl: CrlAge, than: CrlAge): string | undefined {
  if (crl.crlNumber !== undefined && than.crlNumber !== undefined) {
    return crl.crlNumber < than.crlNumber ? `CRL number ${crl.crlNumber} < ${than.crlNumber}` : undefined;
  }
  return crl.thisUpdate < than.thisUpdate ? `thisUpdate ${crl.thisUpdate.toISOString()} < ${than.thisUpdate.toISOString()}` : undefined;
}

/** Whether `b` should replace `recorded`: newer, or as new with a number where there was none. */
export function raisesBaseline(b: CrlAge, recorded: CrlAge): boolean {
  if (olderCrlReason(b, recorded) !== undefined) return false;
  if (b.crlNumber !== undefined && recorded.crlNumber !== undefined) return b.crlNumber > recorded.crlNumber || b.thisUpdate > recorded.thisUpdate;
  return b.thisUpdate > recorded.thisUpdate || (b.crlNumber !== undefined && recorded.crlNumber === undefined);
}

/** The key a baseline is found under. */
export function baselineKey(issuerKey: string, signerKeySha256: string): string {
  return `${issuerKey}/${signerKeySha256}`;
}
