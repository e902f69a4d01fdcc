/**
 * Which registrar domain may have a voucher for which serial-number (RFC 8995 §5.5.5 leaves the
 * "ownership" decision to the MASA).
 *
 * A registrar is recognised through its voucher-request's signing chain: the signer and each
 * certificate in the request that the signer validly chains to. A configured domain matches when
 * one of those certificates has a listed SPKI hash, or when the signer chains to the domain's CA
 * file. Certificates merely carried along, to which the signer does not chain, prove nothing.
 *
 * Order of the decision:
 *  1. a configured domain that recognises the registrar and lists a pattern matching the serial:
 *     granted (configuration is authoritative, also over an earlier first claim);
 *  2. a serial some other configured domain lists: refused (reserved);
 *  3. `configured-only`: refused;
 *  4. `first-claim`: the serial's claim, if any, must name a key in the registrar's chain; with
 *     no claim the registrar claims it now. The claim records the SPKI of the certificate the
 *     voucher pins, so the owner is exactly whom the voucher empowers: with `pinScope: ee` one
 *     registrar key, with `pinScope: ca` every registrar under that CA.
 */
import { validateCertificatePath } from '../teap-brski/brski/voucher/index.js';
import type { MasaDomain, OwnershipMode } from './config.js';
import { JsonLinesFile, stringField } from './json-lines.js';

/** The registrar behind a voucher-request, as its signing chain shows it. */
export interface RegistrarChain {
  /** DER of the certificate that signed the request. */
  signer: Uint8Array;
  /** Every certificate the request carried (the signer's included). */
  carried: readonly Uint8Array[];
  /** The signer first, then every carried certificate it validly chains to. */
  chain: readonly Uint8Array[];
  /** Hex SHA-256 of the SPKI of each certificate of `chain`. */
  spkiSha256: ReadonlySet<string>;
}

export interface ClaimRecord {
  serialNumber: string;
  /** Hex SHA-256 of the SPKI of the pinned certificate at claim time: the owner's key. */
  ownerSpkiSha256: string;
  domain: string | null;
  registrar: string;
  claimedAt: string;
}

interface ReleaseRecord {
  serialNumber: string;
  releasedAt: string;
  by: string;
}

type ClaimsLine = ClaimRecord | ReleaseRecord;

function readClaimsLine(v: unknown): ClaimsLine | undefined {
  const serialNumber = stringField(v, 'serialNumber');
  if (!serialNumber) return undefined;
  const releasedAt = stringField(v, 'releasedAt');
  if (releasedAt) return { serialNumber, releasedAt, by: stringField(v, 'by') ?? '' };
  const ownerSpkiSha256 = stringField(v, 'ownerSpkiSha256');
  const claimedAt = stringField(v, 'claimedAt');
  if (!ownerSpkiSha256 || !/^[0-9a-f]{64}$/.test(ownerSpkiSha256) || !claimedAt) return undefined;
  const domain = stringField(v, 'domain') ?? null;
  return { serialNumber, ownerSpkiSha256, domain, registrar: stringField(v, 'registrar') ?? '', claimedAt };
}

export type OwnershipDecision =
  | { allowed: true; basis: 'configured' | 'claimed' | 'first-claim'; domain?: string; newClaim?: ClaimRecord }
  | { allowed: false; reason: string };

export class OwnershipPolicy {
  private readonly claims: JsonLinesFile<ClaimsLine>;

  constructor(
    private readonly mode: OwnershipMode,
    private readonly domains: readonly MasaDomain[],
    claimsPath: string,
  ) {
    this.claims = new JsonLinesFile(claimsPath, readClaimsLine);
  }

  /** The configured domains that recognise this registrar. */
  domainsOf(registrar: RegistrarChain, at: Date): MasaDomain[] {
    return this.domains.filter(
      (d) =>
        d.spkiSha256.some((h) => registrar.spkiSha256.has(h)) ||
        (d.caCertificates.length > 0 && validateCertificatePath(registrar.signer, registrar.carried, d.caCertificates, { at }).ok),
    );
  }

  /** The serial's current claim, if any. */
  claimOf(serialNumber: string): ClaimRecord | undefined {
    const lines = this.claims.records();
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i] as ClaimsLine;
      if (line.serialNumber !== serialNumber) continue;
      return 'releasedAt' in line ? undefined : line;
    }
    return undefined;
  }

  /**
   * May `registrar` have a voucher for `serialNumber`? No side effect: a first claim comes back as
   * `newClaim`, for the caller to `record` once every other check has passed.
   */
  decide(serialNumber: string, registrar: RegistrarChain, pinnedSpkiSha256: string, registrarName: string, at: Date): OwnershipDecision {
    const recognised = this.domainsOf(registrar, at);
    const granted = recognised.find((d) => d.serials.matches(serialNumber));
    if (granted) return { allowed: true, basis: 'configured', domain: granted.name };
    const reserved = this.domains.find((d) => d.serials.matches(serialNumber));
    if (reserved) return { allowed: false, reason: `serial-number ${serialNumber} is reserved for domain "${reserved.name}"` };
    if (this.mode === 'configured-only') {
      return { allowed: false, reason: `no configured domain of this registrar may claim serial-number ${serialNumber}` };
    }
    const claim = this.claimOf(serialNumber);
    if (claim) {
      if (registrar.spkiSha256.has(claim.ownerSpkiSha256)) return { allowed: true, basis: 'claimed', ...(claim.domain ? { domain: claim.domain } : {}) };
      return { allowed: false, reason: `serial-number ${serialNumber} was claimed by another registrar domain on ${claim.claimedAt}` };
    }
    const domain = recognised[0]?.name;
    return {
      allowed: true,
      basis: 'first-claim',
      ...(domain ? { domain } : {}),
      newClaim: { serialNumber, ownerSpkiSha256: pinnedSpkiSha256, domain: domain ?? null, registrar: registrarName, claimedAt: at.toISOString() },
    };
  }

  /** Would `registrar` be given a voucher for this serial, without claiming it? (audit log access) */
  isOwner(serialNumber: string, registrar: RegistrarChain, at: Date): boolean {
    if (this.domainsOf(registrar, at).some((d) => d.serials.matches(serialNumber))) return true;
    const claim = this.claimOf(serialNumber);
    return claim !== undefined && registrar.spkiSha256.has(claim.ownerSpkiSha256);
  }

  record(claim: ClaimRecord): void {
    this.claims.append(claim);
  }

  /** Forgets a serial's first claim (an operator's decision, e.g. after a resale). */
  release(serialNumber: string, by: string, at = new Date()): boolean {
    if (!this.claimOf(serialNumber)) return false;
    this.claims.append({ serialNumber, releasedAt: at.toISOString(), by });
    return true;
  }
}
