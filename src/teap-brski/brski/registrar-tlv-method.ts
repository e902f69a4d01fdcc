import { TeapError, TeapErrorCode, teapErrorClass } from '../teap/errors.js';
import { CredentialFormat, type TeapTlv } from '../teap/tlv-codec.js';
import type { TlvMethod, TlvMethodContext, TlvMethodSession, TlvMethodStep } from '../teap/tlv-method.js';
import { BrskiTlvCodec, DEFAULT_BRSKI_ERROR_CODES, type BrskiErrorCodes } from './tlvs.js';
import { Registrar, RegistrarError, type Pledge, type RegistrarFailure } from './registrar.js';

/** Method names the TEAP policy uses: flow B (voucher, then enrolment) and flow C (re-enrolment). */
export const BRSKI_METHOD = 'brski';
export const REENROLL_METHOD = 'brski-reenroll';

export interface RegistrarTlvOptions {
  registrar: Registrar;
  tlvs: BrskiTlvCodec;
  errors?: Partial<BrskiErrorCodes>;
}

/** The TEAP Error code for a registrar refusal (teap-brski.md §2.2; RFC 9930 codes as fallback). */
function errorCodeFor(err: RegistrarError, codes: BrskiErrorCodes): number {
  const byFailure: Record<RegistrarFailure, number> = {
    'unknown-manufacturer': TeapErrorCode.UnspecifiedAuthorizationFailure,
    'no-serial-number': TeapErrorCode.UnspecifiedAuthorizationFailure,
    'not-authorized': TeapErrorCode.UnspecifiedAuthorizationFailure,
    'pending-approval': TeapErrorCode.UnspecifiedAuthorizationFailure,
    'bad-voucher-request': TeapErrorCode.UnspecifiedAuthorizationFailure,
    'proximity-mismatch': TeapErrorCode.UnspecifiedAuthorizationFailure,
    'masa-refused': codes.masaRefused,
    'masa-unavailable': codes.masaNotAvailable,
    'bad-voucher': codes.masaRefused,
    'no-voucher': TeapErrorCode.UnspecifiedAuthorizationFailure,
    'bad-csr': TeapErrorCode.BadCsr,
    'ca-error': TeapErrorCode.InternalCaError,
    // teap-brski.md §2.2: Retry-PKCS#10 (reconnect later), with a Retry-After TLV.
    'rate-limited': codes.retryPkcs10Reconnect,
  };
  return err.teapErrorCode ?? byFailure[err.failure];
}

/** A refusal as the method's failure step: its Error code, and a Retry-After when the registrar gave one. */
function refusalStep(err: RegistrarError, codes: BrskiErrorCodes, tlvs: BrskiTlvCodec, reason: string): TlvMethodStep {
  return {
    kind: 'failure',
    code: errorCodeFor(err, codes),
    reason,
    ...(err.retryAfterSeconds !== undefined ? { tlvs: [tlvs.retryAfter(err.retryAfterSeconds)] } : {}),
  };
}

type Stage = 'await-voucher-request' | 'await-enrollment' | 'done';

/**
 * The registrar inside TEAP (draft-lear-eap-teap-brski flow B, ../shared/specs/teap-brski.md §3.3),
 * as a Phase-2 TLV method. Differences from the draft's literal sequence, chosen for RFC 9930:
 * BRSKI starts with the server's Request-Action instead of after a first Result=Success exchange
 * (RFC 9930 allows the server-initiated form; two Result exchanges would be ambiguous), and the
 * PKCS#7 rides with the Intermediate-Result, Result and Crypto-Binding that bind the method.
 */
class BrskiSession implements TlvMethodSession {
  private stage: Stage = 'await-voucher-request';
  private pledge: Pledge | undefined;
  private readonly codes: BrskiErrorCodes;

  constructor(
    private readonly ctx: TlvMethodContext,
    private readonly opts: RegistrarTlvOptions,
  ) {
    this.codes = { ...DEFAULT_BRSKI_ERROR_CODES, ...opts.errors };
  }

  async start(): Promise<TlvMethodStep> {
    const chain = this.ctx.tunnel.peerCertificateChain;
    if (!chain || chain.length === 0) return { kind: 'failure', code: TeapErrorCode.ClientCertificateNotSupplied, reason: 'TEAP-BRSKI needs the pledge\'s IDevID in Phase 1' };
    try {
      this.pledge = this.opts.registrar.identify(chain);
    } catch (err) {
      return this.refused(err);
    }
    // A certificate it could not get yet is refused before the MASA is asked for a voucher.
    const tooSoon = await this.opts.registrar.refuseAtVoucherStart(this.pledge);
    if (tooSoon) return this.refused(tooSoon);
    this.ctx.log.info({ device: this.pledge.deviceId, masa: this.pledge.masaUrl }, 'TEAP-BRSKI: pledge identified, asking for its voucher-request');
    return { kind: 'send', tlvs: [this.opts.tlvs.startBrski()] };
  }

  async step(tlvs: readonly TeapTlv[]): Promise<TlvMethodStep> {
    const pledge = this.pledge!;
    const refusal = peerRefusal(tlvs);
    if (refusal) {
      this.peerFailed(refusal.codes);
      if (refusal.kind === 'fatal') throw refusal.error;
      return refusal.step;
    }
    const brski = this.opts.tlvs.readAll(tlvs);
    try {
      if (this.stage === 'await-voucher-request') {
        const vr = brski.find((b) => b.kind === 'voucher-request');
        if (!vr || vr.kind !== 'voucher-request' || vr.der.length === 0) {
          // teap-brski.md §4.3: nothing is enrolled before the voucher step has succeeded.
          return { kind: 'failure', code: TeapErrorCode.UnexpectedTlvsExchanged, reason: 'expected the pledge\'s BRSKI-VoucherRequest' };
        }
        const grant = await this.opts.registrar.requestVoucher(pledge, vr.der, this.ctx.tunnel.serverCertificate);
        this.stage = 'await-enrollment';
        this.ctx.log.info({ device: pledge.deviceId, octets: grant.voucher.length }, 'TEAP-BRSKI: voucher obtained from the MASA');
        return {
          kind: 'send',
          tlvs: [this.opts.tlvs.voucher(grant.voucher), { kind: 'csr-attributes', mandatory: false, der: this.csrAttributes(pledge.deviceId) }],
        };
      }
      return await this.enrollmentStep(tlvs, pledge);
    } catch (err) {
      return this.refused(err);
    }
  }

  private async enrollmentStep(tlvs: readonly TeapTlv[], pledge: Pledge): Promise<TlvMethodStep> {
    const reply: TeapTlv[] = [];
    if (tlvs.some((t) => t.kind === 'trusted-server-root')) {
      reply.push({ kind: 'trusted-server-root', mandatory: false, credentialFormat: CredentialFormat.Pkcs7ServerCertificateRoot, tlvs: [{ kind: 'pkcs7', mandatory: false, der: this.opts.registrar.cacerts() }] });
    }
    if (tlvs.some((t) => t.kind === 'csr-attributes')) reply.push({ kind: 'csr-attributes', mandatory: false, der: this.csrAttributes(pledge.deviceId) });
    const csr = tlvs.find((t) => t.kind === 'pkcs10');
    if (csr && csr.kind === 'pkcs10') {
      if (csr.der.length === 0) return { kind: 'failure', code: TeapErrorCode.BadCsr, reason: 'the pledge sent an empty PKCS#10' };
      const issued = await this.opts.registrar.enroll(
        { deviceId: pledge.deviceId, authenticatedBy: `idevid:${pledge.manufacturer.name}`, manufacturer: pledge.manufacturer.name, serialNumber: pledge.serialNumber },
        csr.der,
        this.challenge(),
      );
      this.stage = 'done';
      this.ctx.log.info({ device: pledge.deviceId, ldevid: issued.serial }, 'TEAP-BRSKI: LDevID issued');
      return { kind: 'success', identity: pledge.deviceId, deviceId: pledge.deviceId, finalTlvs: [...reply, { kind: 'pkcs7', mandatory: false, der: issued.pkcs7 }] };
    }
    if (reply.length === 0) return { kind: 'failure', code: TeapErrorCode.UnexpectedTlvsExchanged, reason: 'expected Trusted-Server-Root, CSR-Attributes or PKCS#10 after the voucher' };
    return { kind: 'send', tlvs: reply };
  }

  /**
   * The CSR must carry this tunnel's channel binding as challengePassword (teap-brski.md §4.3):
   * proof that the key holder is the one inside this tunnel.
   */
  private csrAttributes(deviceId: string): Uint8Array {
    return this.opts.registrar.csrAttributes(deviceId, { challengePassword: this.ctx.tunnel.channelBinding !== undefined });
  }

  private challenge(): { expectedChallengePassword?: string } {
    const cb = this.ctx.tunnel.channelBinding;
    return cb ? { expectedChallengePassword: Buffer.from(cb).toString('base64') } : {};
  }

  private refused(err: unknown): TlvMethodStep {
    if (!(err instanceof RegistrarError)) throw err;
    this.stage = 'done';
    return refusalStep(err, this.codes, this.opts.tlvs, `${err.failure}: ${err.message}`);
  }

  peerFailed(errors: readonly number[]): void {
    if (this.pledge) this.opts.registrar.recordDeviceRefusal(this.pledge.deviceId, errors, this.stage === 'await-enrollment' ? 'voucher' : 'voucher-request');
  }

  dispose(): void {
    this.stage = 'done';
  }
}

/**
 * Flow C (teap-brski.md §3.4): a device that authenticated with an LDevID we issued is asked for a
 * new PKCS#10 and gets a new LDevID for the same device id.
 */
class ReenrollSession implements TlvMethodSession {
  private deviceId: string | undefined;
  private readonly codes: BrskiErrorCodes;

  constructor(
    private readonly ctx: TlvMethodContext,
    private readonly opts: RegistrarTlvOptions,
  ) {
    this.codes = { ...DEFAULT_BRSKI_ERROR_CODES, ...opts.errors };
  }

  async start(): Promise<TlvMethodStep> {
    const cert = this.ctx.tunnel.peerCertificate;
    if (!cert) return { kind: 'failure', code: TeapErrorCode.ClientCertificateNotSupplied, reason: 're-enrolment needs the device\'s LDevID in Phase 1' };
    const standing = await this.opts.registrar.reenrolmentStanding(new Uint8Array(cert.raw));
    if ('refusal' in standing) return refusalStep(standing.refusal, this.codes, this.opts.tlvs, `certificate serial ${cert.serialNumber}: ${standing.refusal.message}`);
    this.deviceId = standing.deviceId;
    // Not due yet: the LDevID has authenticated the device, so the step is satisfied without a new
    // certificate (as flow A would be). Refusing would lock the device out: every authentication
    // of an LDevID runs this step under a policy that selects it by certificate.
    const tooSoon = await this.opts.registrar.enrolmentTooSoon(standing.deviceId);
    if (tooSoon) {
      this.ctx.log.info({ device: standing.deviceId, retryAfter: tooSoon.retryAfterSeconds }, 'TEAP-BRSKI: re-enrolment not due yet; access on the LDevID, nothing issued');
      return { kind: 'success', identity: standing.deviceId, deviceId: standing.deviceId, finalTlvs: [] };
    }
    const cb = this.ctx.tunnel.channelBinding;
    return { kind: 'send', tlvs: [this.opts.tlvs.startEnrollment(), { kind: 'csr-attributes', mandatory: false, der: this.opts.registrar.csrAttributes(this.deviceId, { challengePassword: cb !== undefined }) }] };
  }

  async step(tlvs: readonly TeapTlv[]): Promise<TlvMethodStep> {
    const refusal = peerRefusal(tlvs);
    if (refusal) {
      this.peerFailed(refusal.codes);
      if (refusal.kind === 'fatal') throw refusal.error;
      return refusal.step;
    }
    const csr = tlvs.find((t) => t.kind === 'pkcs10');
    if (!csr || csr.kind !== 'pkcs10' || csr.der.length === 0) return { kind: 'failure', code: TeapErrorCode.BadCsr, reason: 'expected a PKCS#10' };
    try {
      const cb = this.ctx.tunnel.channelBinding;
      const issued = await this.opts.registrar.reenroll(
        new Uint8Array(this.ctx.tunnel.peerCertificate!.raw),
        csr.der,
        cb ? { expectedChallengePassword: Buffer.from(cb).toString('base64') } : {},
      );
      this.ctx.log.info({ device: issued.deviceId, ldevid: issued.serial }, 'TEAP-BRSKI: LDevID re-issued');
      return { kind: 'success', identity: issued.deviceId, deviceId: issued.deviceId, finalTlvs: [{ kind: 'pkcs7', mandatory: false, der: issued.pkcs7 }] };
    } catch (err) {
      if (!(err instanceof RegistrarError)) throw err;
      if (err.failure === 'rate-limited') return refusalStep(err, this.codes, this.opts.tlvs, `${err.failure}: ${err.message}`);
      return { kind: 'failure', code: err.teapErrorCode ?? TeapErrorCode.BadCsr, reason: `${err.failure}: ${err.message}` };
    }
  }

  /** The device refused its re-enrolment: with Error TLVs in a step, or with Result=Failure (phase2-server). */
  peerFailed(errors: readonly number[]): void {
    if (this.deviceId !== undefined) this.opts.registrar.recordDeviceRefusal(this.deviceId, errors, 're-enrolment');
  }

  dispose(): void {
    this.deviceId = undefined;
  }
}

/**
 * The peer's Error TLVs, if it sent any: a fatal one among them (a tunnel compromise, say) ends the
 * conversation whatever the policy thinks of the step; otherwise the step failed with the first.
 */
function peerRefusal(tlvs: readonly TeapTlv[]): { kind: 'fatal'; codes: number[]; error: TeapError } | { kind: 'failed'; codes: number[]; step: TlvMethodStep } | undefined {
  const codes = tlvs.flatMap((t) => (t.kind === 'error' ? [t.code] : []));
  if (codes.length === 0) return undefined;
  const fatal = codes.find((c) => teapErrorClass(c) === 'fatal');
  if (fatal !== undefined) return { kind: 'fatal', codes, error: new TeapError(fatal as TeapErrorCode, `the peer reported fatal error ${fatal}`) };
  return { kind: 'failed', codes, step: { kind: 'failure', code: codes[0]!, reason: `the peer reported error ${codes[0]!}` } };
}

export function createBrskiTlvMethods(opts: RegistrarTlvOptions): TlvMethod[] {
  return [
    { name: BRSKI_METHOD, createSession: (ctx) => new BrskiSession(ctx, opts) },
    { name: REENROLL_METHOD, createSession: (ctx) => new ReenrollSession(ctx, opts) },
  ];
}
