/**
 * The TEAP-BRSKI pledge (draft-lear-eap-teap-brski flow B, as our registrar runs it; see
 * src/teap-brski/brski/registrar-tlv-method.ts for the server side and our deviation from the
 * draft): a Phase-2 TLV handler for our TEAP peer.
 *
 *   server: Request-Action(Failure, Process-TLV, [BRSKI-VoucherRequest(0), TSR(empty), PKCS#10(0)])
 *   pledge: BRSKI-VoucherRequest = CMS(PVR) signed with the IDevID
 *   server: BRSKI-Voucher, CSR-Attributes
 *   pledge: verifies the voucher and, through its pin, the server certificate of Phase 1; then
 *           Trusted-Server-Root(empty) + PKCS#10 (new key)  — or Error + Result=Failure, no CSR
 *   server: [Trusted-Server-Root(CA certs)], PKCS#7(LDevID), Intermediate-Result, Result, Crypto-Binding
 *   pledge: checks the LDevID is for its key and chains to the domain CA, then agrees to the Result
 *
 * Fail closed: nothing is sent after a voucher we do not accept except Error + Result=Failure, and
 * Result=Success is agreed to only with an LDevID in hand.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { TeapErrorCode } from '../../teap-brski/teap/errors.js';
import { CredentialFormat, type RequestActionTlv, type TeapTlv } from '../../teap-brski/teap/tlv-codec.js';
import { BrskiTlvCodec, DEFAULT_BRSKI_ERROR_CODES, type BrskiErrorCodes } from '../../teap-brski/brski/tlvs.js';
import {
  VoucherError,
  createPledgeVoucherRequest,
  signVoucherCms,
  validateCertificatePath,
  isCaCertificate,
  type ValidityTime,
  type TeapBrskiErrorClass,
} from '../../teap-brski/brski/voucher/index.js';
import type { Log } from '../../util/log.js';
import { silentLog } from '../../util/log.js';
import type { PeerTlvHandler, PeerTlvStep, PeerTunnelFacts } from '../teap/tlv-handler.js';
import type { PledgeCredentials } from './credentials.js';
import { CsrAttributesError, NO_CSR_ATTRIBUTES, parseCsrAttributes, type CsrAttributeRequest } from './csr-attributes.js';
import { CsrError, createPledgeCsr, type PledgeCsr } from './csr.js';
import { Pkcs7Error, certificatesOfPkcs7 } from './pkcs7.js';
import { readServerRefusal, type ServerRefusal } from './server-refusal.js';
import { acceptVoucher, type AcceptedVoucher } from './voucher-check.js';

export interface PledgeOptions {
  credentials: PledgeCredentials;
  /** The BRSKI TLV numbering; it must be the registrar's (default: the lab placeholders). */
  tlvs?: BrskiTlvCodec;
  errors?: Partial<BrskiErrorCodes>;
  /** Validity instant for the voucher and certificates; 'ignore-time' without a trusted clock. Default now. */
  clock?: () => ValidityTime;
  /** RFC 8995 §7.2 reduced security: accept a voucher without nonce. Default false. */
  acceptNonceless?: boolean;
  log?: Log;
}

/** What the pledge takes home. */
export interface Enrollment {
  /** The LDevID (DER). */
  ldevid: Uint8Array;
  /** CA certificates between the LDevID and the trust anchor, as the server sent them. */
  intermediates: Uint8Array[];
  privateKey: PledgeCsr['privateKey'];
  /** The domain's trust anchors: Trusted-Server-Root, else the CA of the PKCS#7, else the pin. */
  trustAnchors: Uint8Array[];
  voucher: { serialNumber: string; assertion?: string; pin: AcceptedVoucher['pin']['kind']; der: Uint8Array };
  /** An NAI the server provisioned (draft §3.5), which the pledge may use from now on. */
  nai?: string;
}

export type PledgeState = 'idle' | 'await-voucher' | 'await-pkcs7' | 'enrolled' | 'failed';

/** Runs once per TEAP conversation; `handlerFor` is TeapPeerConfig.tlvHandler. */
export class BrskiPledge {
  private session: PledgeSession | undefined;
  readonly tlvs: BrskiTlvCodec;
  readonly errors: BrskiErrorCodes;

  constructor(readonly options: PledgeOptions) {
    this.tlvs = options.tlvs ?? new BrskiTlvCodec();
    this.errors = { ...DEFAULT_BRSKI_ERROR_CODES, ...options.errors };
  }

  readonly handlerFor = (tunnel: PeerTunnelFacts): PeerTlvHandler => {
    this.session = new PledgeSession(this, tunnel);
    return this.session;
  };

  /** What the last tunnel showed the pledge (server certificates, channel binding). */
  get tunnel(): PeerTunnelFacts | undefined {
    return this.session?.tunnel;
  }

  get state(): PledgeState {
    return this.session?.state ?? 'idle';
  }

  /** The LDevID and its key, once the PKCS#7 was accepted. */
  get enrollment(): Enrollment | undefined {
    return this.session?.enrollment;
  }

  /** Why the pledge ended the conversation, if it did. */
  get failure(): { code: number; reason: string } | undefined {
    return this.session?.failure;
  }

  /** Why the server ended it, if it did: its Error codes named, and the wait a Retry-After asks for. */
  get refusal(): ServerRefusal | undefined {
    return this.session?.refusal;
  }
}

class PledgeSession implements PeerTlvHandler {
  readonly name = 'TEAP-BRSKI pledge';
  state: PledgeState = 'idle';
  enrollment: Enrollment | undefined;
  failure: { code: number; reason: string } | undefined;
  refusal: ServerRefusal | undefined;
  private nonce: Uint8Array | undefined;
  private accepted: AcceptedVoucher | undefined;
  private voucherDer: Uint8Array | undefined;
  private csrRequest: CsrAttributeRequest = NO_CSR_ATTRIBUTES;
  private csr: PledgeCsr | undefined;
  private readonly trustedServerRoots: Uint8Array[] = [];
  private nai: string | undefined;

  constructor(
    private readonly pledge: BrskiPledge,
    readonly tunnel: PeerTunnelFacts,
  ) {}

  private get log(): Log {
    return this.pledge.options.log ?? silentLog();
  }

  private get at(): ValidityTime {
    return this.pledge.options.clock?.() ?? new Date();
  }

  acceptsRequestAction(ra: RequestActionTlv): boolean {
    return this.state === 'idle' && this.pledge.tlvs.requested(ra).voucherRequest;
  }

  claims(t: TeapTlv): boolean {
    if (this.state === 'idle') return false;
    return this.pledge.tlvs.read(t) !== undefined || t.kind === 'csr-attributes' || t.kind === 'pkcs7' || t.kind === 'trusted-server-root';
  }

  async handle(input: { requestAction?: RequestActionTlv; tlvs: readonly TeapTlv[] }): Promise<PeerTlvStep> {
    try {
      if (input.requestAction) return await this.start();
      switch (this.state) {
        case 'await-voucher':
          return await this.onVoucher(input.tlvs);
        case 'await-pkcs7':
          return this.onEnrollment(input.tlvs);
        default:
          return this.fail(TeapErrorCode.UnexpectedTlvsExchanged, `TEAP-BRSKI TLVs in state ${this.state}`);
      }
    } catch (err) {
      // Whatever went wrong, the answer is Error + Result=Failure, never an exception in the peer.
      this.log.error({ err: (err as Error).message }, 'TEAP-BRSKI pledge: unexpected failure');
      return this.fail(TeapErrorCode.UnexpectedTlvsExchanged, `internal error: ${(err as Error).message}`);
    }
  }

  serverFailed(tlvs: readonly TeapTlv[]): void {
    this.refusal = readServerRefusal(tlvs, this.pledge.tlvs, this.pledge.errors);
    this.log.info({ ...this.refusal }, 'TEAP-BRSKI pledge: the server ended the conversation');
  }

  finish(): { ok: true } | { ok: false; code: number; reason: string } {
    if (this.state === 'enrolled') return { ok: true };
    if (this.state === 'idle') {
      // A pledge has no anchor for this server; only a voucher could have authenticated it.
      return this.failVerdict(TeapErrorCode.AuthenticationInfrastructureNotTrusted, 'the server ended Phase 2 without BRSKI; nothing authenticated it');
    }
    return this.failVerdict(TeapErrorCode.UnexpectedTlvsExchanged, `the server sent Result=Success before enrolment finished (state ${this.state})`);
  }

  dispose(): void {
    this.csr = undefined;
  }

  // ---- steps ----

  private async start(): Promise<PeerTlvStep> {
    const server = this.tunnel.serverCertificateChain[0];
    if (!server) return this.fail(this.pledge.errors.invalidTlsSigner, 'the server presented no certificate in Phase 1');
    const creds = this.pledge.options.credentials;
    this.nonce = new Uint8Array(randomBytes(16));
    const pvr = createPledgeVoucherRequest({ serialNumber: creds.serialNumber, proximityRegistrarCert: server, nonce: this.nonce });
    const der = await signVoucherCms(pvr, { certificate: creds.idevid, privateKey: creds.privateKey, chain: creds.intermediates });
    this.state = 'await-voucher';
    this.log.info({ serialNumber: creds.serialNumber, octets: der.length }, 'TEAP-BRSKI pledge: sending the voucher-request');
    return this.send([this.pledge.tlvs.voucherRequest(der)]);
  }

  private async onVoucher(tlvs: readonly TeapTlv[]): Promise<PeerTlvStep> {
    const brski = this.pledge.tlvs.readAll(tlvs);
    const voucher = brski.find((b) => b.kind === 'voucher');
    if (!voucher || voucher.kind !== 'voucher') return this.fail(TeapErrorCode.UnexpectedTlvsExchanged, 'expected the BRSKI-Voucher');
    this.takeNai(tlvs);
    const creds = this.pledge.options.credentials;
    try {
      this.accepted = await acceptVoucher(voucher.der, {
        manufacturerAnchors: creds.manufacturerAnchors,
        serialNumber: creds.serialNumber,
        idevid: creds.idevid,
        nonce: this.nonce!,
        serverChain: this.tunnel.serverCertificateChain,
        at: this.at,
        acceptNonceless: this.pledge.options.acceptNonceless ?? false,
      });
    } catch (err) {
      if (err instanceof VoucherError) return this.fail(this.codeFor(err.teapError), `${err.teapError}: ${err.message}`);
      throw err;
    }
    this.voucherDer = voucher.der;
    const v = this.accepted.voucher;
    this.log.info({ assertion: v.assertion ?? null, pin: this.accepted.pin.kind }, 'TEAP-BRSKI pledge: voucher accepted, server certificate validated by its pin');

    const attrs = tlvs.find((t) => t.kind === 'csr-attributes');
    if (attrs && attrs.kind === 'csr-attributes' && attrs.der.length > 0) {
      try {
        this.csrRequest = parseCsrAttributes(attrs.der);
      } catch (err) {
        if (err instanceof CsrAttributesError) return this.fail(this.pledge.errors.csrAttributeFail, err.message);
        throw err;
      }
      if (this.csrRequest.ignored.length > 0) this.log.info({ ignored: this.csrRequest.ignored }, 'TEAP-BRSKI pledge: CSR-Attributes asked for more than a key type and challengePassword; left to the CA');
    }
    try {
      this.csr = await createPledgeCsr({
        request: this.csrRequest,
        ...(this.tunnel.channelBinding ? { channelBinding: this.tunnel.channelBinding.data } : {}),
      });
    } catch (err) {
      if (err instanceof CsrError) return this.fail(this.pledge.errors.csrAttributeFail, err.message);
      throw err;
    }
    this.state = 'await-pkcs7';
    this.log.info({ key: this.csr.key, challengePassword: this.csrRequest.challengePassword }, 'TEAP-BRSKI pledge: sending Trusted-Server-Root request and PKCS#10');
    return this.send([
      { kind: 'trusted-server-root', mandatory: false, credentialFormat: CredentialFormat.Pkcs7ServerCertificateRoot, tlvs: [] },
      { kind: 'pkcs10', mandatory: false, der: this.csr.der },
    ]);
  }

  private onEnrollment(tlvs: readonly TeapTlv[]): PeerTlvStep {
    this.takeNai(tlvs);
    const brski = this.pledge.tlvs.readAll(tlvs);
    if (brski.some((b) => b.kind === 'retry-after')) {
      return this.fail(TeapErrorCode.UnexpectedTlvsExchanged, 'the server asks to retry the PKCS#10 later (Retry-After), which this pledge does not do');
    }
    try {
      for (const t of tlvs) {
        if (t.kind !== 'trusted-server-root' || t.credentialFormat !== CredentialFormat.Pkcs7ServerCertificateRoot) continue;
        for (const inner of t.tlvs) if (inner.kind === 'pkcs7') this.trustedServerRoots.push(...certificatesOfPkcs7(inner.der));
      }
      const pkcs7 = tlvs.find((t) => t.kind === 'pkcs7');
      if (!pkcs7 || pkcs7.kind !== 'pkcs7') return this.send([]);
      return this.install(certificatesOfPkcs7(pkcs7.der));
    } catch (err) {
      if (err instanceof Pkcs7Error) return this.fail(TeapErrorCode.GeneralPkiError, err.message);
      throw err;
    }
  }

  /** The PKCS#7's certificate for our new key becomes the LDevID, if it chains to the domain's CA. */
  private install(certs: Uint8Array[]): PeerTlvStep {
    const csr = this.csr!;
    const spkiOf = (der: Uint8Array): Buffer | undefined => {
      try {
        return new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
      } catch {
        return undefined;
      }
    };
    const ldevid = certs.find((c) => spkiOf(c)?.equals(Buffer.from(csr.spki)));
    if (!ldevid) return this.fail(TeapErrorCode.GeneralPkiError, 'the PKCS#7 holds no certificate for the key of our PKCS#10');
    if (isCaCertificate(ldevid)) return this.fail(TeapErrorCode.GeneralPkiError, 'the certificate issued for our key is a CA certificate');
    const others = certs.filter((c) => c !== ldevid);
    const pin = this.accepted!.pin;
    const anchors =
      this.trustedServerRoots.length > 0 ? this.trustedServerRoots
      : others.some(isCaCertificate) ? others.filter(isCaCertificate)
      : pin.kind === 'cert' ? [pin.certificate]
      : [];
    if (anchors.length === 0) return this.fail(TeapErrorCode.GeneralPkiError, 'no domain CA certificate to validate the LDevID with');
    const path = validateCertificatePath(ldevid, others, anchors, { at: this.at });
    if (!path.ok) return this.fail(TeapErrorCode.GeneralPkiError, `the LDevID does not chain to the domain CA: ${path.reason}`);
    const v = this.accepted!.voucher;
    this.enrollment = {
      ldevid,
      intermediates: path.path.slice(1, -1),
      privateKey: csr.privateKey,
      trustAnchors: anchors,
      voucher: { serialNumber: v.serialNumber, ...(v.assertion ? { assertion: v.assertion } : {}), pin: pin.kind, der: this.voucherDer! },
      ...(this.nai !== undefined ? { nai: this.nai } : {}),
    };
    this.state = 'enrolled';
    this.log.info({ subject: new X509Certificate(ldevid).subject.replace(/\n/g, ', '), anchors: anchors.length }, 'TEAP-BRSKI pledge: LDevID received');
    return this.send([]);
  }

  // ---- helpers ----

  private takeNai(tlvs: readonly TeapTlv[]): void {
    const nai = this.pledge.tlvs.readAll(tlvs).find((b) => b.kind === 'nai');
    if (nai && nai.kind === 'nai') this.nai = nai.nai;
  }

  private codeFor(c: TeapBrskiErrorClass): number {
    const e = this.pledge.errors;
    return c === 'Invalid-Signature' ? e.invalidSignature : c === 'Invalid-TLS-Signer' ? e.invalidTlsSigner : e.invalidVoucher;
  }

  private send(tlvs: TeapTlv[]): PeerTlvStep {
    return { kind: 'send', tlvs };
  }

  private fail(code: number, reason: string): PeerTlvStep {
    this.state = 'failed';
    this.failure = { code, reason };
    this.log.info({ code, reason }, 'TEAP-BRSKI pledge: refusing; Error + Result=Failure');
    return { kind: 'failure', code, reason };
  }

  private failVerdict(code: number, reason: string): { ok: false; code: number; reason: string } {
    this.fail(code, reason);
    return { ok: false, code, reason };
  }
}
