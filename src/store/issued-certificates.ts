/**
 * The issued-certificates aggregate: every certificate our registrar CA signed, so that serial
 * numbers are never reused (the store's unique key is the final arbiter), an operator can see what
 * a device holds, and revocation has something to mark.
 *
 * Serials are canonical lower-case hex without leading zero octets (see pki/ca/serial.ts). The
 * interface is asynchronous so a PostgreSQL implementation can follow unchanged.
 */

/** RFC 5280 §5.3.1 CRLReason values a registrar uses for a device's certificate. */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface SubjectAltName {
  /** @peculiar/x509's GeneralName type names: dns, ip, url, email, ... */
  type: string;
  value: string;
}

export interface NewIssuedCertificate {
  serial: string;
  /** Issuer DN (RFC 4514 text) — the CA that signed it. */
  issuer: string;
  subject: string;
  subjectAltNames: SubjectAltName[];
  /** The device the certificate was issued to, as the registrar authenticated it. */
  deviceId: string;
  notBefore: Date;
  notAfter: Date;
  /** The certificate itself, DER. */
  der: Uint8Array;
  issuedAt: Date;
  /** Re-enrolment: the serial of the LDevID that authenticated the request (its key obtained this one). */
  reissuedFrom?: string;
}

export interface IssuedCertificateRecord extends NewIssuedCertificate {
  revokedAt?: Date;
  revocationReason?: RevocationReason;
}

/**
 * A limit on certificates per device: at most `certificates` issued after `since` (revoked ones
 * included). Checked and recorded atomically, so that conversations of one device issuing at the
 * same moment, on one server or on several sharing the store, cannot both take the last place.
 */
export interface IssuanceLimit {
  certificates: number;
  since: Date;
}

export interface IssuedCertificateStore {
  /**
   * Records a certificate; throws SerialInUseError when the serial already exists, and
   * IssuanceLimitReachedError when `limit` is given and the device already holds its places.
   */
  record(cert: NewIssuedCertificate, limit?: IssuanceLimit): Promise<void>;
  /**
   * When the device's certificates issued after `since` were issued, newest first, at most `max`
   * of them: what a limit counts, read through the (device_id, issued_at) index however many
   * certificates the device has had.
   */
  issuedSince(deviceId: string, since: Date, max: number): Promise<Date[]>;
  get(serial: string): Promise<IssuedCertificateRecord | undefined>;
  /** A device's certificates, newest first. */
  listByDevice(deviceId: string): Promise<IssuedCertificateRecord[]>;
  /** The most recently issued certificates, newest first. */
  list(limit: number): Promise<IssuedCertificateRecord[]>;
  /**
   * Marks a certificate revoked. False when the serial is unknown or already revoked (the first
   * revocation's time and reason stay: they are what the CRL has published).
   */
  revoke(serial: string, at: Date, reason: RevocationReason): Promise<boolean>;
  /** The certificates re-enrolments authenticated by this serial obtained (`reissuedFrom`), revoked or not. */
  listReissuedFrom(serial: string): Promise<IssuedCertificateRecord[]>;
  /** Revoked certificates of one issuer that have not yet expired at `now` (what a CRL lists). */
  listRevoked(issuer: string, now: Date): Promise<IssuedCertificateRecord[]>;
  /** The next CRL number for an issuer: strictly increasing, never handed out twice (RFC 5280 §5.2.3). */
  nextCrlNumber(issuer: string): Promise<bigint>;
}

/** The device already holds every place of an IssuanceLimit; nothing was recorded. */
export class IssuanceLimitReachedError extends Error {
  override readonly name = 'IssuanceLimitReachedError';
  constructor(
    readonly deviceId: string,
    /** When the certificates that hold the places were issued, newest first. */
    readonly holding: readonly Date[],
  ) {
    super(`${deviceId} already holds ${holding.length} certificate(s) issued within the limit's interval`);
  }
}

export class SerialInUseError extends Error {
  override readonly name = 'SerialInUseError';
  constructor(readonly serial: string) {
    super(`certificate serial ${serial} has already been issued`);
  }
}
