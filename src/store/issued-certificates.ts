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

export interface IssuedCertificateStore {
  /** Records a certificate; throws SerialInUseError when the serial already exists. */
  record(cert: NewIssuedCertificate): Promise<void>;
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

export class SerialInUseError extends Error {
  override readonly name = 'SerialInUseError';
  constructor(readonly serial: string) {
    super(`certificate serial ${serial} has already been issued`);
  }
}
