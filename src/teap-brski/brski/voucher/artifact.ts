/**
 * Vouchers and voucher-requests as typed, validated, immutable values, independent of their
 * encoding (JSON in CMS, or CBOR in COSE). Every leaf is checked against its YANG type when an
 * object is built, so a `Voucher` in hand is always a well-formed one.
 */
import { VoucherError } from './errors.js';
import { isCertificateDer, isSpkiDer } from './der.js';
import {
  ASSERTION_VALUES, type ArtifactKind, type Assertion, type LeafProp, type LeafSpec, leavesOf,
} from './leaves.js';
import { decodeBase64Binary, isDateAndTime, isUri, bytesEqual } from './yang-types.js';

export type { Assertion } from './leaves.js';

/** Leaves of `ietf-voucher:voucher`. Dates are yang:date-and-time strings, binaries raw octets. */
export interface VoucherContent {
  assertion?: Assertion;
  createdOn?: string;
  domainCertRevocationChecks?: boolean;
  expiresOn?: string;
  /** Authority Key Identifier of the pledge's IDevID (see idevid.ts for the form we write). */
  idevidIssuer?: Uint8Array;
  lastRenewalDate?: string;
  /** 8-32 octets. */
  nonce?: Uint8Array;
  /** DER X.509 certificate. */
  pinnedDomainCert?: Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  pinnedDomainPubk?: Uint8Array;
  /** SHA-256 of the DER SubjectPublicKeyInfo. */
  pinnedDomainPubkSha256?: Uint8Array;
  /** The only mandatory leaf (8366bis). */
  serialNumber: string;
  additionalConfigurationUrl?: string;
  estDomain?: string;
  manufacturerProprietary?: Uint8Array;
  extensions?: readonly string[];
}

/** Leaves of `ietf-voucher-request:voucher`: every voucher leaf plus the request-only ones. */
export interface VoucherRequestContent extends VoucherContent {
  /** The pledge voucher-request exactly as signed (CMS DER, or the COSE_Sign1 with its tag). */
  priorSignedVoucherRequest?: Uint8Array;
  proximityRegistrarCert?: Uint8Array;
  proximityRegistrarPubkSha256?: Uint8Array;
  proximityRegistrarPubk?: Uint8Array;
  agentProvidedProximityRegistrarCert?: Uint8Array;
  agentSignCert?: Uint8Array;
  agentSignedData?: Uint8Array;
}

/** What a decoder saw besides the leaves; never needed to build an artefact. */
export interface ArtifactMeta {
  /** Member names (JSON) or keys (CBOR: "sid:N" or a name) that we do not know and ignored. */
  unknownMembers?: readonly string[];
  /**
   * For binary leaves whose JSON text was not the standard padded base64 of the value (e.g. the
   * base64url nonces of RFC 8995's examples): that text, so that re-serializing, or copying a nonce
   * from a pledge's request into ours, reproduces what the pledge wrote.
   */
  base64Spelling?: Readonly<Partial<Record<LeafProp, string>>>;
}

abstract class VoucherArtifact {
  declare readonly assertion?: Assertion;
  declare readonly createdOn?: string;
  declare readonly domainCertRevocationChecks?: boolean;
  declare readonly expiresOn?: string;
  declare readonly idevidIssuer?: Uint8Array;
  declare readonly lastRenewalDate?: string;
  declare readonly nonce?: Uint8Array;
  declare readonly pinnedDomainCert?: Uint8Array;
  declare readonly pinnedDomainPubk?: Uint8Array;
  declare readonly pinnedDomainPubkSha256?: Uint8Array;
  declare readonly serialNumber: string;
  declare readonly additionalConfigurationUrl?: string;
  declare readonly estDomain?: string;
  declare readonly manufacturerProprietary?: Uint8Array;
  declare readonly extensions?: readonly string[];
  declare readonly kind: ArtifactKind;
  declare readonly unknownMembers: readonly string[];
  declare readonly base64Spelling: Readonly<Partial<Record<LeafProp, string>>>;

  protected constructor(kind: ArtifactKind, content: VoucherRequestContent, meta: ArtifactMeta) {
    const self = this as unknown as Record<string, unknown>;
    self.kind = kind;
    const source = content as unknown as Record<string, unknown>;
    const allowed = new Set<string>(leavesOf(kind).map((l) => l.prop));
    for (const [prop, value] of Object.entries(source)) {
      if (value === undefined) continue;
      if (!allowed.has(prop)) {
        throw new VoucherError('invalid-content', `${prop} is not a leaf of ${kind === 'voucher' ? 'a voucher' : 'a voucher-request'}`);
      }
    }
    for (const leaf of leavesOf(kind)) {
      const value = source[leaf.prop];
      if (value === undefined) continue;
      self[leaf.prop] = checkedLeafValue(leaf, value);
    }
    if (content.serialNumber === undefined) throw new VoucherError('invalid-content', 'serial-number is missing');
    // RFC 8366 YANG: last-renewal-date "must ../expires-on".
    if (content.lastRenewalDate !== undefined && content.expiresOn === undefined) {
      throw new VoucherError('invalid-content', 'last-renewal-date without expires-on');
    }
    self.unknownMembers = Object.freeze([...(meta.unknownMembers ?? [])]);
    self.base64Spelling = Object.freeze(checkedSpellings(self, meta.base64Spelling ?? {}));
    Object.freeze(this);
  }

  /** The leaves as a plain object, e.g. to build a changed copy. */
  toContent(): VoucherRequestContent {
    const out: Record<string, unknown> = {};
    const self = this as unknown as Record<string, unknown>;
    for (const leaf of leavesOf(this.kind)) if (self[leaf.prop] !== undefined) out[leaf.prop] = self[leaf.prop];
    return out as unknown as VoucherRequestContent;
  }
}

/** An RFC 8366 / 8366bis voucher: the MASA's statement that the pledge may trust a domain. */
export class Voucher extends VoucherArtifact {
  declare readonly kind: 'voucher';

  constructor(content: VoucherContent, meta: ArtifactMeta = {}) {
    super('voucher', content, meta);
  }
}

/** A voucher-request, from a pledge (PVR) or a registrar (RVR) (RFC 8995 §3). */
export class VoucherRequest extends VoucherArtifact {
  declare readonly kind: 'voucher-request';
  declare readonly priorSignedVoucherRequest?: Uint8Array;
  declare readonly proximityRegistrarCert?: Uint8Array;
  declare readonly proximityRegistrarPubkSha256?: Uint8Array;
  declare readonly proximityRegistrarPubk?: Uint8Array;
  declare readonly agentProvidedProximityRegistrarCert?: Uint8Array;
  declare readonly agentSignCert?: Uint8Array;
  declare readonly agentSignedData?: Uint8Array;

  constructor(content: VoucherRequestContent, meta: ArtifactMeta = {}) {
    super('voucher-request', content, meta);
  }
}

export type AnyVoucherArtifact = Voucher | VoucherRequest;

/** The artefact as a voucher, or 'invalid-content' when a voucher-request came where a voucher belongs. */
export function expectVoucher(a: AnyVoucherArtifact): Voucher {
  if (a.kind !== 'voucher') throw new VoucherError('invalid-content', 'expected a voucher, found a voucher-request');
  return a;
}

/** The artefact as a voucher-request, or 'invalid-content' when a voucher came instead. */
export function expectVoucherRequest(a: AnyVoucherArtifact): VoucherRequest {
  if (a.kind !== 'voucher-request') throw new VoucherError('invalid-content', 'expected a voucher-request, found a voucher');
  return a;
}

function checkedLeafValue(leaf: LeafSpec, value: unknown): unknown {
  const bad = (why: string): VoucherError => new VoucherError('invalid-content', `${leaf.name}: ${why}`);
  switch (leaf.type) {
    case 'string':
      if (typeof value !== 'string') throw bad('not a string');
      // An empty serial-number would match no device; treat it as broken rather than as "anyone".
      if (leaf.prop === 'serialNumber' && value.length === 0) throw bad('empty');
      return value;
    case 'date-and-time':
      if (typeof value !== 'string' || !isDateAndTime(value)) throw bad('not a yang:date-and-time');
      return value;
    case 'uri':
      if (typeof value !== 'string' || !isUri(value)) throw bad('not a URI');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('not a boolean');
      return value;
    case 'assertion':
      if (typeof value !== 'string' || !(ASSERTION_VALUES as readonly string[]).includes(value)) {
        throw bad(`not one of ${ASSERTION_VALUES.join(', ')}`);
      }
      return value;
    case 'string-list':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
        throw bad('not a list of names');
      }
      return Object.freeze([...(value as string[])]);
    case 'binary': {
      if (!(value instanceof Uint8Array)) throw bad('not binary');
      const bytes = new Uint8Array(value);
      checkBinaryShape(leaf, bytes, bad);
      return bytes;
    }
  }
}

function checkBinaryShape(leaf: LeafSpec, bytes: Uint8Array, bad: (why: string) => VoucherError): void {
  switch (leaf.shape) {
    case 'nonce':
      // ../shared/specs/teap-brski.md §6.2 and constrained-voucher.md §2: 8-32 octets.
      if (bytes.length < 8 || bytes.length > 32) throw bad(`${bytes.length} octets, not 8-32`);
      return;
    case 'sha256':
      if (bytes.length !== 32) throw bad(`${bytes.length} octets, not a SHA-256 value`);
      return;
    case 'certificate':
      if (!isCertificateDer(bytes)) throw bad('not one DER X.509 certificate');
      return;
    case 'spki':
      if (!isSpkiDer(bytes)) throw bad('not one DER SubjectPublicKeyInfo');
      return;
    case 'any':
    case undefined:
      if (bytes.length === 0) throw bad('empty');
      return;
  }
}

function checkedSpellings(
  self: Record<string, unknown>,
  spellings: Readonly<Partial<Record<LeafProp, string>>>,
): Partial<Record<LeafProp, string>> {
  const out: Partial<Record<LeafProp, string>> = {};
  for (const [prop, text] of Object.entries(spellings) as [LeafProp, string | undefined][]) {
    if (text === undefined) continue;
    const value = self[prop];
    const decoded = decodeBase64Binary(text);
    if (!(value instanceof Uint8Array) || !decoded || !bytesEqual(decoded.bytes, value)) {
      throw new VoucherError('invalid-content', `base64 spelling of ${prop} does not encode its value`);
    }
    if (!decoded.canonical) out[prop] = text;
  }
  return out;
}
