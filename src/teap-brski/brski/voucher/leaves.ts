/**
 * The leaves of the `ietf-voucher:voucher` and `ietf-voucher-request:voucher` containers
 * (RFC 8366, draft-ietf-anima-rfc8366bis-35 YANG rev. 2025-12-18) with their YANG type, their
 * property name in our classes, and their SIDs (../shared/specs/constrained-voucher.md §1). Both
 * encodings are driven by this one table.
 */

export type Assertion = 'verified' | 'logged' | 'proximity' | 'agent-proximity';

/** The enum's CBOR values (RFC 9254 §6.6: an enumeration is its integer value). */
export const ASSERTION_VALUES: readonly Assertion[] = ['verified', 'logged', 'proximity', 'agent-proximity'];

export type LeafType = 'string' | 'date-and-time' | 'binary' | 'boolean' | 'assertion' | 'uri' | 'string-list';

/** What a binary leaf must hold beyond "some octets". */
export type BinaryShape = 'certificate' | 'spki' | 'sha256' | 'nonce' | 'any';

export interface LeafSpec {
  /** YANG leaf name, the JSON member name and the CBOR name-key. */
  readonly name: string;
  /** Property of `Voucher` / `VoucherRequest`. */
  readonly prop: LeafProp;
  readonly type: LeafType;
  readonly shape?: BinaryShape;
  /** SID in ietf-voucher (absent: the leaf is voucher-request only). */
  readonly voucherSid?: number;
  /** SID in ietf-voucher-request. */
  readonly requestSid: number;
}

export type LeafProp =
  | 'assertion'
  | 'createdOn'
  | 'domainCertRevocationChecks'
  | 'expiresOn'
  | 'idevidIssuer'
  | 'lastRenewalDate'
  | 'nonce'
  | 'pinnedDomainCert'
  | 'pinnedDomainPubk'
  | 'pinnedDomainPubkSha256'
  | 'serialNumber'
  | 'additionalConfigurationUrl'
  | 'estDomain'
  | 'manufacturerProprietary'
  | 'extensions'
  | 'priorSignedVoucherRequest'
  | 'proximityRegistrarCert'
  | 'proximityRegistrarPubkSha256'
  | 'proximityRegistrarPubk'
  | 'agentProvidedProximityRegistrarCert'
  | 'agentSignCert'
  | 'agentSignedData';

/** Container SIDs; the outermost SID reference is 0, so they are also their own delta (RFC 9254 §3.2). */
export const VOUCHER_SID = 2451;
export const VOUCHER_REQUEST_SID = 2501;
export const VOUCHER_CONTAINER = 'ietf-voucher:voucher';
export const VOUCHER_REQUEST_CONTAINER = 'ietf-voucher-request:voucher';

// Order: SID order of the voucher module, then the voucher-request-only leaves; JSON output follows it.
export const LEAVES: readonly LeafSpec[] = [
  { name: 'assertion', prop: 'assertion', type: 'assertion', voucherSid: 2452, requestSid: 2502 },
  { name: 'created-on', prop: 'createdOn', type: 'date-and-time', voucherSid: 2453, requestSid: 2503 },
  { name: 'domain-cert-revocation-checks', prop: 'domainCertRevocationChecks', type: 'boolean', voucherSid: 2454, requestSid: 2504 },
  { name: 'expires-on', prop: 'expiresOn', type: 'date-and-time', voucherSid: 2455, requestSid: 2505 },
  { name: 'idevid-issuer', prop: 'idevidIssuer', type: 'binary', shape: 'any', voucherSid: 2456, requestSid: 2506 },
  { name: 'last-renewal-date', prop: 'lastRenewalDate', type: 'date-and-time', voucherSid: 2457, requestSid: 2507 },
  { name: 'nonce', prop: 'nonce', type: 'binary', shape: 'nonce', voucherSid: 2458, requestSid: 2508 },
  { name: 'pinned-domain-cert', prop: 'pinnedDomainCert', type: 'binary', shape: 'certificate', voucherSid: 2459, requestSid: 2509 },
  { name: 'pinned-domain-pubk', prop: 'pinnedDomainPubk', type: 'binary', shape: 'spki', voucherSid: 2460, requestSid: 2518 },
  { name: 'pinned-domain-pubk-sha256', prop: 'pinnedDomainPubkSha256', type: 'binary', shape: 'sha256', voucherSid: 2461, requestSid: 2519 },
  { name: 'serial-number', prop: 'serialNumber', type: 'string', voucherSid: 2462, requestSid: 2514 },
  { name: 'additional-configuration-url', prop: 'additionalConfigurationUrl', type: 'uri', voucherSid: 2463, requestSid: 2520 },
  { name: 'est-domain', prop: 'estDomain', type: 'uri', voucherSid: 2464, requestSid: 2521 },
  { name: 'manufacturer-proprietary', prop: 'manufacturerProprietary', type: 'binary', shape: 'any', voucherSid: 2465, requestSid: 2523 },
  { name: 'extensions', prop: 'extensions', type: 'string-list', voucherSid: 2466, requestSid: 2522 },
  { name: 'prior-signed-voucher-request', prop: 'priorSignedVoucherRequest', type: 'binary', shape: 'any', requestSid: 2510 },
  { name: 'proximity-registrar-cert', prop: 'proximityRegistrarCert', type: 'binary', shape: 'certificate', requestSid: 2511 },
  { name: 'proximity-registrar-pubk-sha256', prop: 'proximityRegistrarPubkSha256', type: 'binary', shape: 'sha256', requestSid: 2512 },
  { name: 'proximity-registrar-pubk', prop: 'proximityRegistrarPubk', type: 'binary', shape: 'spki', requestSid: 2513 },
  { name: 'agent-provided-proximity-registrar-cert', prop: 'agentProvidedProximityRegistrarCert', type: 'binary', shape: 'certificate', requestSid: 2515 },
  { name: 'agent-sign-cert', prop: 'agentSignCert', type: 'binary', shape: 'certificate', requestSid: 2516 },
  { name: 'agent-signed-data', prop: 'agentSignedData', type: 'binary', shape: 'any', requestSid: 2517 },
];

export type ArtifactKind = 'voucher' | 'voucher-request';

export function leavesOf(kind: ArtifactKind): readonly LeafSpec[] {
  return kind === 'voucher' ? VOUCHER_LEAVES : LEAVES;
}

const VOUCHER_LEAVES = LEAVES.filter((l) => l.voucherSid !== undefined);

export function containerSid(kind: ArtifactKind): number {
  return kind === 'voucher' ? VOUCHER_SID : VOUCHER_REQUEST_SID;
}

export function containerName(kind: ArtifactKind): string {
  return kind === 'voucher' ? VOUCHER_CONTAINER : VOUCHER_REQUEST_CONTAINER;
}

export function leafSid(leaf: LeafSpec, kind: ArtifactKind): number {
  const sid = kind === 'voucher' ? leaf.voucherSid : leaf.requestSid;
  if (sid === undefined) throw new RangeError(`${leaf.name} is not a voucher leaf`);
  return sid;
}

const BY_NAME = new Map(LEAVES.map((l) => [l.name, l]));

export function leafByName(kind: ArtifactKind, name: string): LeafSpec | undefined {
  const leaf = BY_NAME.get(name);
  return leaf && (kind === 'voucher-request' || leaf.voucherSid !== undefined) ? leaf : undefined;
}

const BY_SID: Record<ArtifactKind, Map<number, LeafSpec>> = {
  voucher: new Map(VOUCHER_LEAVES.map((l) => [l.voucherSid as number, l])),
  'voucher-request': new Map(LEAVES.map((l) => [l.requestSid, l])),
};

export function leafBySid(kind: ArtifactKind, sid: number): LeafSpec | undefined {
  return BY_SID[kind].get(sid);
}
