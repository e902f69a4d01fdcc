import { X509Certificate } from 'node:crypto';
import type { AuditStore } from '../../store/audit.js';
import { AuditBudget, DEVICE_AUDIT_BUDGET } from './audit-budget.js';
import { parseBrskiDeviceId, type BrskiDevice, type BrskiDeviceStore } from '../../store/brski-devices.js';
import { IssuanceLimitReachedError, type IssuanceLimit, type IssuedCertificateRecord, type IssuedCertificateStore, type RevocationReason } from '../../store/issued-certificates.js';
import type { Log } from '../../util/log.js';
import { TeapErrorCode } from '../teap/errors.js';
import {
  SignedVoucherCms,
  VoucherError,
  VoucherRequest,
  checkPledgeVoucherRequest,
  checkVoucherSigner,
  createRegistrarVoucherRequest,
  serialNumberOf,
  signVoucherCms,
  type CmsSigner,
} from './voucher/index.js';
import type { MasaOutcome } from './masa-client.js';
import { toDateAndTime } from './voucher/yang-types.js';
import { masaUrlOf } from './masa-url.js';

/** Why the registrar refused; each maps to a TEAP Error code and an RFC 8995 HTTP status. */
export type RegistrarFailure =
  | 'unknown-manufacturer'
  | 'no-serial-number'
  | 'not-authorized'
  | 'pending-approval'
  | 'bad-voucher-request'
  | 'proximity-mismatch'
  | 'masa-refused'
  | 'masa-unavailable'
  | 'bad-voucher'
  | 'no-voucher'
  | 'bad-csr'
  | 'ca-error'
  | 'rate-limited';

/** RFC 8995 §5.3/§5.5-§5.7 statuses for the same refusals over HTTPS. */
export const REGISTRAR_HTTP_STATUS: Readonly<Record<RegistrarFailure, number>> = Object.freeze({
  'unknown-manufacturer': 404,
  'no-serial-number': 400,
  'not-authorized': 403,
  'pending-approval': 403,
  'bad-voucher-request': 400,
  'proximity-mismatch': 401,
  'masa-refused': 403,
  'masa-unavailable': 503,
  'bad-voucher': 502,
  'no-voucher': 403,
  'bad-csr': 400,
  'ca-error': 500,
  // Too Many Requests, with Retry-After (RFC 6585 §4): this client, not the server, must wait.
  'rate-limited': 429,
});

export class RegistrarError extends Error {
  override readonly name = 'RegistrarError';
  constructor(
    readonly failure: RegistrarFailure,
    message: string,
    /** For CSR refusals: the RFC 9930 code (1022-1027) the CA chose. */
    readonly teapErrorCode?: number,
    /** When asking again makes sense, and not before (a re-enrolment too soon): seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
  get httpStatus(): number {
    return REGISTRAR_HTTP_STATUS[this.failure];
  }
}

/** The step a certificate limit refused: the voucher (flow B asks before the MASA), enrolment, re-enrolment (flow C). */
export type EnrolmentStep = 'voucher' | 'enrolment' | 're-enrolment';

/** A manufacturer whose pledges we may onboard, and how. */
export interface RegistrarManufacturer {
  name: string;
  /** CA certificates that issue its IDevIDs. */
  anchors: readonly X509Certificate[];
  /** MASA URL when the IDevID carries none, or to override it. */
  masaUrl?: string;
  /**
   * 'auto': every pledge of this manufacturer unless an administrator denied it.
   * 'admin': only serials an administrator approved; others are recorded as pending.
   */
  approval: 'auto' | 'admin';
  /** DER anchors of the MASA's voucher signatures, for our own check of what we forward. */
  voucherAnchors?: readonly Uint8Array[];
  /**
   * When the MASA cannot be reached: 'reject' (default), or 'nonceless' — serve a nonceless voucher
   * fetched beforehand (`gangway brski prefetch`) while it lasts, for sites without Internet access.
   * Only pledges whose policy accepts nonceless vouchers (RFC 8995 §7.2) will take it.
   */
  whenMasaUnavailable?: 'reject' | 'nonceless';
}

/** Where nonceless vouchers fetched ahead of time are kept, per manufacturer and serial. */
export interface OfflineVoucherStore {
  get(manufacturer: string, serialNumber: string): Uint8Array | undefined;
  put(manufacturer: string, serialNumber: string, voucher: Uint8Array): void;
}

/** What the registrar needs of a CA (src/pki/ca RegistrarCa). */
export interface EnrollmentCa {
  readonly certificateDer: Uint8Array;
  /** The record of the certificate we issued that `der` is (same serial and TBSCertificate), revoked or not. */
  issuedRecordOf(der: Uint8Array): Promise<IssuedCertificateRecord | undefined>;
  revoke(serial: string, reason?: RevocationReason, actor?: string): Promise<boolean>;
  /** Beyond `limit`: IssuanceLimitReachedError, nothing recorded (the count and the record are one step). */
  issueLdevid(req: { csrDer: Uint8Array; deviceId: string; authenticatedBy?: string; reissuedFrom?: string; expectedChallengePassword?: string; limit?: IssuanceLimit }): Promise<{ serial: string; der: Uint8Array; subject: string }>;
  pkcs7(issuedDer: Uint8Array, options?: { withCaCertificate?: boolean }): Uint8Array;
  trustAnchorsPkcs7(): Uint8Array;
  csrAttributes(deviceId: string, options?: { challengePassword?: boolean }): Uint8Array;
}

export interface RegistrarDeps {
  /** Signs registrar voucher-requests: our certificate with EKU id-kp-cmcRA (+ serverAuth). */
  signer: CmsSigner;
  masa: { requestVoucher(masaUrl: string, rvrDer: Uint8Array): Promise<MasaOutcome> };
  manufacturers: readonly RegistrarManufacturer[];
  devices: BrskiDeviceStore;
  ca: EnrollmentCa;
  audit: AuditStore;
  log: Log;
  now?: () => Date;
  offlineVouchers?: OfflineVoucherStore;
  /**
   * At most `certificates` certificates per device in any `intervalMs`, revoked ones included:
   * enrolment (flow B, EST simpleenroll) and re-enrolment (flow C, EST simplereenroll) alike. Each
   * signs and stores a certificate, so without a limit a device, or a thief of its key, could grow
   * the store without bound; more than one, so that a device whose enrolment was cut off after
   * issuing (a lost packet, a restart) can try again at once. Absent: no limit. Checked before the
   * MASA is asked (enrolmentTooSoon) and again, atomically, as the certificate is recorded.
   */
  enrolmentLimit?: { certificates: number; intervalMs: number; store: Pick<IssuedCertificateStore, 'issuedSince'> };
}

/** A pledge as its IDevID identifies it (teap-brski.md §4.1). */
export interface Pledge {
  manufacturer: RegistrarManufacturer;
  /** The IDevID subject's serialNumber (X520SerialNumber), never the certificate serial. */
  serialNumber: string;
  idevid: X509Certificate;
  masaUrl: string;
  /** The device id our CA puts into the LDevID. */
  deviceId: string;
}

/** A voucher obtained for a pledge in this session; enrolment needs one (teap-brski.md §4.3). */
export interface VoucherGrant {
  pledge: Pledge;
  voucher: Uint8Array;
}

function issuedBy(cert: X509Certificate, anchor: X509Certificate): boolean {
  try {
    return cert.checkIssued(anchor) && cert.verify(anchor.publicKey);
  } catch {
    return false;
  }
}

/**
 * The BRSKI registrar (RFC 8995 §5), with nothing of its transports: TEAP-BRSKI TLVs and the HTTPS
 * endpoints both call this, so a pledge meets the same checks either way.
 */
export class Registrar {
  private readonly now: () => Date;
  /** Entries a device's retries write (refusals), held to a budget per device and kind. */
  private readonly deviceAudits: AuditBudget;

  constructor(private readonly deps: RegistrarDeps) {
    this.now = deps.now ?? (() => new Date());
    this.deviceAudits = new AuditBudget({ ...DEVICE_AUDIT_BUDGET, now: () => this.now().getTime() });
  }

  /** Trust anchors of every manufacturer, for the TLS layers that accept IDevIDs. */
  get manufacturers(): readonly RegistrarManufacturer[] {
    return this.deps.manufacturers;
  }

  /** The domain CA certificates (Trusted-Server-Root / EST cacerts), certs-only PKCS#7. */
  cacerts(): Uint8Array {
    return this.deps.ca.trustAnchorsPkcs7();
  }

  /** CSR-Attributes for a device; `challengePassword` asks for the tunnel's channel binding in the CSR. */
  csrAttributes(deviceId: string, options: { challengePassword?: boolean } = {}): Uint8Array {
    return this.deps.ca.csrAttributes(deviceId, options);
  }

  /**
   * Who the pledge is: a manufacturer whose CA issued the (already TLS-validated) IDevID, its
   * serial-number and MASA URL. `chain` is the certificate list the pledge sent, leaf first.
   */
  identify(chain: readonly X509Certificate[]): Pledge {
    const idevid = chain[0];
    if (!idevid) throw new RegistrarError('unknown-manufacturer', 'no IDevID was presented');
    const manufacturer = this.deps.manufacturers.find((m) => m.anchors.some((a) => issuedBy(idevid, a) || chain.slice(1).some((c) => issuedBy(idevid, c) && issuedBy(c, a))));
    if (!manufacturer) throw new RegistrarError('unknown-manufacturer', `IDevID issuer "${idevid.issuer.replace(/\n/g, ', ')}" is no trusted manufacturer`);
    let serialNumber: string | undefined;
    try {
      serialNumber = serialNumberOf(new Uint8Array(idevid.raw));
    } catch (err) {
      if (!(err instanceof VoucherError)) throw err;
      throw new RegistrarError('no-serial-number', `the IDevID cannot be read: ${err.message}`);
    }
    if (!serialNumber) throw new RegistrarError('no-serial-number', 'the IDevID subject has no serialNumber attribute');
    const masaUrl = manufacturer.masaUrl ?? masaUrlOf(idevid);
    if (!masaUrl) throw new RegistrarError('unknown-manufacturer', `no MASA URL: the IDevID has no id-pe-masa-url and manufacturer ${manufacturer.name} configures none`);
    return { manufacturer, serialNumber, idevid, masaUrl, deviceId: `${manufacturer.name}:${serialNumber}` };
  }

  /** Whether an administrator has denied the device (read only: no sighting is recorded). */
  async isDenied(pledge: Pledge): Promise<boolean> {
    return (await this.deps.devices.get(pledge.manufacturer.name, pledge.serialNumber))?.status === 'denied';
  }

  /**
   * The refusal due at the start of TEAP-BRSKI flow B, before the pledge's voucher-request: only the
   * certificate limit's, and only for a device an administrator's decision lets in. A denied or
   * unapproved device is left to `authorize` at its voucher-request, so that it is refused, and
   * audited, for what it is and not as "too soon" with a time to come back.
   */
  async refuseAtVoucherStart(pledge: Pledge): Promise<RegistrarError | undefined> {
    const d = await this.deps.devices.get(pledge.manufacturer.name, pledge.serialNumber);
    if (decisionRefusal(pledge.manufacturer, d, pledge.deviceId)) return undefined;
    return this.refuseIfTooSoon(pledge.deviceId, 'voucher');
  }

  /** Does the owner claim this pledge (RFC 8995 §5.3 authorisation)? Records the attempt. */
  async authorize(pledge: Pledge): Promise<void> {
    const d = await this.deps.devices.seen(pledge.manufacturer.name, pledge.serialNumber, this.now());
    const refusal = decisionRefusal(pledge.manufacturer, d, pledge.deviceId);
    if (refusal) {
      this.recordDecisionRefusal(refusal, pledge.deviceId, pledge.manufacturer.name, pledge.serialNumber, 'voucher');
      throw refusal;
    }
  }

  /**
   * A device refused by an administrator's decision, within its audit budget: one it can repeat
   * as often as it likes. A pending one is recorded for the administrator to decide on.
   */
  private recordDecisionRefusal(refusal: RegistrarError, deviceId: string, manufacturer: string, serialNumber: string, during: EnrolmentStep): void {
    if (refusal.failure === 'pending-approval') {
      this.budgetedRecord('info', 'BRSKI: device awaits an administrator\'s approval', 'brski.approval-needed', deviceId, { manufacturer, serialNumber });
    } else {
      this.recordEnrolmentRefusal(deviceId, refusal, during, 'denied by an administrator');
    }
  }

  /**
   * The pledge's voucher-request in, the MASA's voucher out (RFC 8995 §5.2-§5.6): the request must
   * be signed by this pledge's IDevID and name `registrarCertificate` (our TLS certificate of this
   * session) as proximity registrar; our request to the MASA carries it verbatim.
   */
  async requestVoucher(pledge: Pledge, pvrDer: Uint8Array, registrarCertificate: Uint8Array): Promise<VoucherGrant> {
    let pvr;
    try {
      const signed = SignedVoucherCms.decode(pvrDer);
      const signer = await signed.verify();
      if (!signer.signerCertificate || !Buffer.from(signer.signerCertificate).equals(pledge.idevid.raw)) {
        throw new RegistrarError('bad-voucher-request', 'the voucher-request is not signed by the IDevID of this session');
      }
      pvr = signed.voucherRequest();
      checkPledgeVoucherRequest(pvr, { registrarCertificate, serialNumber: pledge.serialNumber });
    } catch (err) {
      if (err instanceof RegistrarError) throw err;
      if (err instanceof VoucherError) {
        throw new RegistrarError(err.code === 'proximity-mismatch' ? 'proximity-mismatch' : 'bad-voucher-request', `pledge voucher-request: ${err.message}`);
      }
      throw err;
    }
    await this.authorize(pledge);
    // A device that could not be enrolled now is not worth a voucher: refused before the MASA is
    // asked (BRSKI over HTTPS; TEAP flow B checked at its start, and looks again here).
    const tooSoon = await this.refuseIfTooSoon(pledge.deviceId, 'voucher');
    if (tooSoon) throw tooSoon;

    const rvr = createRegistrarVoucherRequest({
      idevid: new Uint8Array(pledge.idevid.raw),
      priorSigned: { bytes: pvrDer, request: pvr },
      serialNumber: pledge.serialNumber,
      createdOn: this.now(),
    });
    const rvrDer = await signVoucherCms(rvr, this.deps.signer);
    const outcome = await this.deps.masa.requestVoucher(pledge.masaUrl, rvrDer);
    if (outcome.kind === 'refused') {
      this.audit('brski.masa-refused', pledge.deviceId, { status: outcome.status, message: outcome.message });
      throw new RegistrarError('masa-refused', `MASA refused (HTTP ${outcome.status}): ${outcome.message}`);
    }
    if (outcome.kind === 'unavailable') {
      this.audit('brski.masa-unavailable', pledge.deviceId, { reason: outcome.reason });
      const offline = pledge.manufacturer.whenMasaUnavailable === 'nonceless' ? await this.offlineVoucher(pledge) : undefined;
      if (offline) return { pledge, voucher: offline };
      throw new RegistrarError('masa-unavailable', `MASA not available: ${outcome.reason}`);
    }
    await this.checkVoucher(pledge.manufacturer, pledge.serialNumber, outcome.der, pvr.nonce);
    this.audit('brski.voucher', pledge.deviceId, { masa: pledge.masaUrl, octets: outcome.der.length });
    return { pledge, voucher: outcome.der };
  }

  /**
   * Asks the MASA now for a nonceless voucher (RFC 8995 §5.5.4: no pledge request, no nonce; it
   * carries an expiry instead), to serve while the MASA is unreachable. Our TLS client certificate
   * authenticates us to the MASA, which gives nonceless vouchers only to authenticated registrars.
   */
  async prefetchNoncelessVoucher(manufacturerName: string, serialNumber: string): Promise<Uint8Array> {
    const manufacturer = this.deps.manufacturers.find((m) => m.name === manufacturerName);
    if (!manufacturer) throw new RegistrarError('unknown-manufacturer', `no manufacturer "${manufacturerName}" is configured`);
    if (!manufacturer.masaUrl) throw new RegistrarError('unknown-manufacturer', `manufacturer ${manufacturerName} configures no masaUrl (the IDevID is not at hand to read one)`);
    if (!this.deps.offlineVouchers) throw new RegistrarError('masa-unavailable', 'no store for offline vouchers');
    const rvr = new VoucherRequest({ serialNumber, createdOn: toDateAndTime(this.now()) });
    const outcome = await this.deps.masa.requestVoucher(manufacturer.masaUrl, await signVoucherCms(rvr, this.deps.signer));
    if (outcome.kind === 'refused') throw new RegistrarError('masa-refused', `MASA refused (HTTP ${outcome.status}): ${outcome.message}`);
    if (outcome.kind === 'unavailable') throw new RegistrarError('masa-unavailable', `MASA not available: ${outcome.reason}`);
    await this.checkVoucher(manufacturer, serialNumber, outcome.der, undefined);
    const v = SignedVoucherCms.decode(outcome.der).voucher();
    if (v.nonce) throw new RegistrarError('bad-voucher', 'the MASA answered a nonceless request with a nonced voucher');
    this.deps.offlineVouchers.put(manufacturer.name, serialNumber, outcome.der);
    this.audit('brski.voucher-prefetched', `${manufacturer.name}:${serialNumber}`, { expiresOn: v.expiresOn ?? null });
    return outcome.der;
  }

  /** A stored nonceless voucher for this pledge that has not expired, or undefined. */
  private async offlineVoucher(pledge: Pledge): Promise<Uint8Array | undefined> {
    const der = this.deps.offlineVouchers?.get(pledge.manufacturer.name, pledge.serialNumber);
    if (!der) return undefined;
    try {
      await this.checkVoucher(pledge.manufacturer, pledge.serialNumber, der, undefined);
      const v = SignedVoucherCms.decode(der).voucher();
      if (v.nonce) return undefined;
      if (v.expiresOn === undefined || Date.parse(v.expiresOn) <= this.now().getTime()) {
        this.deps.log.info({ device: pledge.deviceId, expiresOn: v.expiresOn ?? null }, 'BRSKI: the stored nonceless voucher has expired');
        return undefined;
      }
      this.audit('brski.offline-voucher', pledge.deviceId, { expiresOn: v.expiresOn });
      this.deps.log.warn({ device: pledge.deviceId, expiresOn: v.expiresOn }, 'BRSKI: MASA unreachable; serving a nonceless voucher fetched earlier');
      return der;
    } catch (err) {
      if (err instanceof RegistrarError) return undefined;
      throw err;
    }
  }

  /**
   * Our look at the voucher before it is forwarded unchanged (teap-brski.md §5.4): it must be
   * for this serial and nonce; with configured MASA anchors, its signature must chain to one.
   */
  private async checkVoucher(manufacturer: RegistrarManufacturer, serialNumber: string, der: Uint8Array, nonce: Uint8Array | undefined): Promise<void> {
    try {
      const signed = SignedVoucherCms.decode(der);
      const anchors = manufacturer.voucherAnchors;
      if (anchors && anchors.length > 0) {
        const signer = await signed.verify({ trustAnchors: anchors });
        if (!signer.signerCertificate) throw new RegistrarError('bad-voucher', 'the voucher names no signer certificate');
        checkVoucherSigner(signer.signerCertificate);
      }
      const v = signed.voucher();
      if (v.serialNumber !== serialNumber) throw new RegistrarError('bad-voucher', `voucher is for serial-number "${v.serialNumber}"`);
      if (nonce && (!v.nonce || !Buffer.from(v.nonce).equals(Buffer.from(nonce)))) throw new RegistrarError('bad-voucher', 'voucher nonce is not the pledge\'s');
    } catch (err) {
      if (err instanceof RegistrarError) throw err;
      if (err instanceof VoucherError) throw new RegistrarError('bad-voucher', `MASA answer is no usable voucher: ${err.message}`);
      throw err;
    }
  }

  /**
   * Issues the LDevID for a device whose voucher step succeeded in this session (or, for
   * re-enrolment, whose LDevID authenticated it): subject and names from our policy, never from
   * the CSR. Returns the certificate and the certs-only PKCS#7 (LDevID + our CA).
   */
  async enroll(
    device: { deviceId: string; authenticatedBy: string; manufacturer?: string; serialNumber?: string; reissuedFrom?: string },
    csrDer: Uint8Array,
    options: { expectedChallengePassword?: string } = {},
  ): Promise<{ serial: string; der: Uint8Array; pkcs7: Uint8Array }> {
    const during = device.reissuedFrom !== undefined ? 're-enrolment' : 'enrolment';
    // Judged again after the voucher: an administrator may have denied the device since, and a
    // voucher grant over HTTPS lasts minutes (re-enrolment judged its LDevID's device already).
    if (device.reissuedFrom === undefined && device.manufacturer !== undefined && device.serialNumber !== undefined) {
      // A manufacturer taken out of the configuration since the voucher vouches for nothing now.
      const manufacturer = this.deps.manufacturers.find((m) => m.name === device.manufacturer);
      if (!manufacturer) throw new RegistrarError('unknown-manufacturer', `no manufacturer "${device.manufacturer}" is configured any more`);
      const refusal = decisionRefusal(manufacturer, await this.deps.devices.get(device.manufacturer, device.serialNumber), device.deviceId);
      if (refusal) {
        this.recordDecisionRefusal(refusal, device.deviceId, device.manufacturer, device.serialNumber, during);
        throw refusal;
      }
    }
    const tooSoon = await this.refuseIfTooSoon(device.deviceId, during);
    if (tooSoon) throw tooSoon;
    const limit = this.activeEnrolmentLimit();
    let issued;
    try {
      issued = await this.deps.ca.issueLdevid({
        csrDer,
        deviceId: device.deviceId,
        authenticatedBy: device.authenticatedBy,
        ...(device.reissuedFrom !== undefined ? { reissuedFrom: device.reissuedFrom } : {}),
        ...(options.expectedChallengePassword !== undefined ? { expectedChallengePassword: options.expectedChallengePassword } : {}),
        ...(limit ? { limit: { certificates: limit.certificates, since: new Date(this.now().getTime() - limit.intervalMs) } } : {}),
      });
    } catch (err) {
      // Another conversation of the device took the last place after our check above.
      if (err instanceof IssuanceLimitReachedError && limit) {
        const refusal = this.limitRefusal(device.deviceId, err.holding, limit);
        this.recordEnrolmentRefusal(device.deviceId, refusal, during, 'another request of the device took the last place');
        throw refusal;
      }
      const code = (err as { teapErrorCode?: unknown }).teapErrorCode;
      const caCode = (err as { code?: unknown }).code;
      if (typeof code === 'number') {
        throw new RegistrarError(caCode === 'internal-ca-error' ? 'ca-error' : 'bad-csr', `enrolment refused: ${(err as Error).message}`, code);
      }
      throw err;
    }
    if (device.manufacturer && device.serialNumber) await this.deps.devices.setLdevid(device.manufacturer, device.serialNumber, issued.serial);
    return { serial: issued.serial, der: issued.der, pkcs7: this.deps.ca.pkcs7(issued.der, { withCaCertificate: true }) };
  }

  /**
   * The device id of an LDevID that may re-enrol: one we issued (the very certificate, not only its
   * serial), unrevoked, to a BRSKI device (`manufacturer:serialNumber`) an administrator has not denied.
   */
  async ldevidDevice(der: Uint8Array): Promise<string | undefined> {
    const standing = await this.reenrolmentStanding(der);
    return 'refusal' in standing ? undefined : standing.deviceId;
  }

  /** ldevidDevice with the reason of a refusal, for the TEAP Error TLV and the HTTP answer. */
  async reenrolmentStanding(der: Uint8Array): Promise<{ deviceId: string } | { refusal: RegistrarError }> {
    const standing = await this.reenrolment(der);
    return 'refusal' in standing ? standing : { deviceId: standing.record.deviceId };
  }

  /**
   * Re-enrolment (TEAP flow C, EST simplereenroll): a new LDevID for the device the presented
   * LDevID belongs to. The presented one is judged again here (ldevidDevice), however long the peer
   * took to send its PKCS#10, and once more after issuing: an LDevID revoked meanwhile (for any
   * reason but superseded) gets the new certificate revoked too, with the same reason, and a refusal. Otherwise a stolen key held at
   * the PKCS#10 step would outlive the revocation in a fresh certificate (review finding). The new
   * certificate records which LDevID's key obtained it, so that revoking that one revokes it too.
   */
  async reenroll(ldevidDer: Uint8Array, csrDer: Uint8Array, options: { expectedChallengePassword?: string } = {}): Promise<{ deviceId: string; serial: string; der: Uint8Array; pkcs7: Uint8Array }> {
    const standing = await this.reenrolment(ldevidDer);
    if ('refusal' in standing) throw standing.refusal;
    const before = standing.record;
    const issued = await this.enroll({ deviceId: before.deviceId, authenticatedBy: `ldevid:${before.serial}`, reissuedFrom: before.serial, ...standing.device }, csrDer, options);
    const after = await this.deps.ca.issuedRecordOf(ldevidDer);
    // Superseded meanwhile (by another re-enrolment, say): the key is not in question, the new one stands.
    if (after?.revokedAt !== undefined && after.revocationReason !== 'superseded') {
      const reason = after.revocationReason ?? 'unspecified';
      await this.deps.ca.revoke(issued.serial, reason, `registrar: re-enrolled from ${before.serial}, revoked meanwhile`);
      this.deps.log.warn({ device: before.deviceId, revoked: before.serial, issued: issued.serial, reason }, 'BRSKI: the LDevID was revoked during its re-enrolment; the new one is revoked too');
      throw new RegistrarError('not-authorized', `LDevID ${before.serial} was revoked during re-enrolment`, TeapErrorCode.ClientCertificateRejected);
    }
    return { deviceId: before.deviceId, ...issued };
  }

  private async reenrolment(der: Uint8Array): Promise<{ refusal: RegistrarError } | { record: IssuedCertificateRecord; device: { manufacturer?: string; serialNumber?: string } }> {
    const record = await this.deps.ca.issuedRecordOf(der);
    if (!record) return { refusal: new RegistrarError('not-authorized', 'no LDevID we issued', TeapErrorCode.ClientCertificateRejected) };
    if (record.revokedAt !== undefined) return { refusal: new RegistrarError('not-authorized', `LDevID ${record.serial} is revoked`, TeapErrorCode.ClientCertificateRejected) };
    const parsed = parseBrskiDeviceId(record.deviceId);
    // Our CA also certifies what is not a BRSKI device (gangway init's demo client): no LDevIDs for it.
    if (!parsed) {
      return { refusal: new RegistrarError('not-authorized', `${record.deviceId} is no BRSKI device (manufacturer:serialNumber)`, TeapErrorCode.UnspecifiedAuthorizationFailure) };
    }
    const known = await this.deps.devices.get(parsed.manufacturer, parsed.serialNumber);
    if (known?.status === 'denied') return { refusal: new RegistrarError('not-authorized', `device ${record.deviceId} is denied`, TeapErrorCode.UnspecifiedAuthorizationFailure) };
    return { record, device: known ? parsed : {} };
  }

  /**
   * enrolmentTooSoon for a step that cannot go on without a certificate: the refusal is logged and
   * audited (within the device's audit budget). A flow-C step that is merely not due yet uses
   * enrolmentTooSoon and refuses nothing.
   */
  async refuseIfTooSoon(deviceId: string, during: EnrolmentStep): Promise<RegistrarError | undefined> {
    const tooSoon = await this.enrolmentTooSoon(deviceId);
    if (tooSoon) this.recordEnrolmentRefusal(deviceId, tooSoon, during, 'too soon after the last one');
    return tooSoon;
  }

  private recordEnrolmentRefusal(deviceId: string, refusal: RegistrarError, during: EnrolmentStep, why: string): void {
    this.budgetedRecord('info', `BRSKI: certificate refused, ${why}`, 'brski.enrolment-refused', deviceId, { during, why }, { retryAfter: refusal.retryAfterSeconds ?? null });
  }

  /**
   * The refusal of a new certificate for `deviceId` when it was issued the limit's number within
   * the interval; its Retry-After is when the oldest of them leaves the interval, never more than
   * the interval (a certificate dated ahead of our clock counts as issued now).
   */
  async enrolmentTooSoon(deviceId: string): Promise<RegistrarError | undefined> {
    const limit = this.activeEnrolmentLimit();
    if (!limit) return undefined;
    const holding = await limit.store.issuedSince(deviceId, new Date(this.now().getTime() - limit.intervalMs), limit.certificates);
    return holding.length < limit.certificates ? undefined : this.limitRefusal(deviceId, holding, limit);
  }

  private activeEnrolmentLimit(): RegistrarDeps['enrolmentLimit'] {
    const limit = this.deps.enrolmentLimit;
    return limit && limit.certificates > 0 && limit.intervalMs > 0 ? limit : undefined;
  }

  /** `holding`: when the certificates holding the places were issued, newest first. */
  private limitRefusal(deviceId: string, holding: readonly Date[], limit: { certificates: number; intervalMs: number }): RegistrarError {
    const now = this.now().getTime();
    // The oldest place is freed first; a certificate dated ahead of our clock counts as issued now.
    const oldest = Math.min(...holding.slice(0, limit.certificates).map((t) => Math.min(t.getTime(), now)));
    const seconds = Math.min(Math.ceil(limit.intervalMs / 1000), Math.max(1, Math.ceil((oldest + limit.intervalMs - now) / 1000)));
    return new RegistrarError(
      'rate-limited',
      `${deviceId} was issued ${holding.length} certificate(s) in the last ${Math.ceil(limit.intervalMs / 1000)} s, the most a device gets (next in ${seconds} s)`,
      undefined,
      seconds,
    );
  }

  /**
   * The device refused what we sent (a voucher it could not verify, a re-enrolment it does not
   * want): logged, and audited within the device's audit budget; nothing issued.
   */
  recordDeviceRefusal(deviceId: string, errors: readonly number[], after: 'voucher-request' | 'voucher' | 're-enrolment'): void {
    this.budgetedRecord('warn', 'BRSKI: the device refused what we sent', 'brski.pledge-refused', deviceId, { errors: [...errors], after });
  }

  /**
   * What a device's own retries write, to the audit log and the log alike (a device retrying in a
   * loop must grow neither): `same` decides whether two entries are alike (a repeat within the
   * window is not recorded again), `extra` is recorded with them and not compared. What is not
   * recorded is logged at debug and counted into the next entry.
   */
  private budgetedRecord(level: 'info' | 'warn', msg: string, event: string, deviceId: string, same: Record<string, unknown>, extra: Record<string, unknown> = {}): void {
    const notRecorded = this.deviceAudits.admit(`${event} ${deviceId}`, JSON.stringify(same));
    if (notRecorded === undefined) {
      this.deps.log.debug({ device: deviceId, ...same, ...extra }, msg);
      return;
    }
    const detail = { ...same, ...extra, ...(notRecorded > 0 ? { earlierNotRecorded: notRecorded } : {}) };
    this.deps.log[level]({ device: deviceId, ...detail }, msg);
    this.audit(event, deviceId, detail);
  }

  private audit(event: string, subject: string, detail: Record<string, unknown>): void {
    try {
      this.deps.audit.append({ at: this.now(), event, subject, detail });
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message, event }, 'BRSKI: audit entry could not be written');
    }
  }
}

/**
 * What an administrator's decision says of a device now: denied, or (for a manufacturer whose
 * devices need approval) not approved. One rule for the voucher, the enrolment and flow B's start.
 */
function decisionRefusal(manufacturer: Pick<RegistrarManufacturer, 'approval'>, d: BrskiDevice | undefined, deviceId: string): RegistrarError | undefined {
  if (d?.status === 'denied') return new RegistrarError('not-authorized', `${deviceId} was denied by ${d.decidedBy ?? 'an administrator'}`);
  if (manufacturer.approval === 'admin' && d?.status !== 'approved') return new RegistrarError('pending-approval', `${deviceId} awaits an administrator's approval`);
  return undefined;
}
