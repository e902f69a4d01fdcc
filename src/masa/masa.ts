/**
 * The MASA's decisions (RFC 8995 §5.5, ../shared/specs/teap-brski.md §5.3), without HTTP: a
 * registrar voucher-request (RVR) in, a signed voucher or a refusal with its status out.
 *
 * Checks, in order, each refusal naming its reason:
 *  - the media type is a voucher format (415), and Accept allows one we produce (406);
 *  - the RVR decodes (400; 413 over the size limit; 406 for an unsupported algorithm or content
 *    type) and its signature verifies with a certificate it carries (403);
 *  - the signer is valid now and has EKU id-kp-cmcRA (403): only a registrar may ask;
 *  - its serial-number names an IDevID we issued, and idevid-issuer, when present, is our CA's (404);
 *  - a prior-signed-voucher-request (PVR), when present: it verifies and is signed by an IDevID our
 *    CA issued whose serialNumber is the RVR's; its serial-number is the RVR's; the registrar it
 *    names as proximity registrar belongs to the RVR's signing chain; its nonce is the RVR's (403);
 *  - the ownership policy (ownership.ts) lets this registrar's domain have the serial (403);
 *  - a nonceless request comes from a registrar authenticated by its TLS client certificate, or
 *    from a configured domain allowed nonceless vouchers (401).
 * Only then is a first claim recorded and the voucher signed and logged.
 */
import 'reflect-metadata';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import {
  SignedVoucherCms, SignedVoucherCose, Voucher, VoucherError, type VoucherContent, type VoucherRequest, idevidIssuerMatches,
  idevidIssuerOf, serialNumberOf, signVoucherCms, signVoucherCose, validateCertificatePath,
} from '../teap-brski/brski/voucher/index.js';
import type { Log } from '../util/log.js';
import { type MasaConfig, spkiSha256Hex } from './config.js';
import { IdevidRegistry } from './idevid-registry.js';
import { type ArtifactFormat, MEDIA_TYPE, formatOfContentType, negotiateFormat } from './media-types.js';
import { OwnershipPolicy, type RegistrarChain } from './ownership.js';
import { type LoadedKeyedCertificate, loadKeyedCertificate } from './pki.js';
import { VoucherLog, domainIdOf } from './voucher-log.js';

/** id-kp-cmcRA (RFC 6402): the registrar's certificate must carry it (RFC 8995 §5.5). */
export const ID_KP_CMC_RA = '1.3.6.1.5.5.7.3.28';

/** A request as the HTTP layer hands it over. */
export interface MasaRequest {
  body: Uint8Array;
  contentType: string | undefined;
  accept: string | undefined;
  /** The TLS client certificate chain, leaf first (DER); empty without one. */
  clientCertificates: readonly Uint8Array[];
  /** Peer address, for the log. */
  remote?: string;
}

export interface MasaReply {
  status: number;
  contentType: string;
  body: Uint8Array;
}

/** A refusal: HTTP status and a plain-text reason for the registrar (RFC 8995 §5.6). */
export class MasaRefusal extends Error {
  override readonly name = 'MasaRefusal';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The RVR after its signature verified. */
interface SignedRequest {
  format: ArtifactFormat;
  request: VoucherRequest;
  signer: Uint8Array;
  carried: readonly Uint8Array[];
}

/** Everything checked about an RVR before the ownership decision. */
interface CheckedRequest extends SignedRequest {
  registrar: RegistrarChain;
  registrarName: string;
  idevid: Uint8Array;
  /** The PVR verified and named a registrar of this chain with assertion "proximity". */
  proximityVerified: boolean;
  hasPvr: boolean;
}

export interface MasaDeps {
  config: MasaConfig;
  /** The voucher-signing certificate and key. */
  signer: LoadedKeyedCertificate;
  /** The manufacturer CA (DER): anchor of IDevIDs, included with each voucher. */
  manufacturerCa: Uint8Array;
  log: Log;
  now?: () => Date;
}

export class Masa {
  readonly registry: IdevidRegistry;
  readonly ownership: OwnershipPolicy;
  readonly vouchers: VoucherLog;
  private readonly now: () => Date;

  constructor(private readonly deps: MasaDeps) {
    const { paths, ownership } = deps.config;
    this.registry = new IdevidRegistry(paths.idevids);
    this.ownership = new OwnershipPolicy(ownership.mode, ownership.domains, paths.claims);
    this.vouchers = new VoucherLog(paths.vouchers);
    this.now = deps.now ?? (() => new Date());
  }

  /** A MASA on the keys of a data directory. */
  static async open(config: MasaConfig, log: Log, now?: () => Date): Promise<Masa> {
    const { paths } = config;
    const signer = await loadKeyedCertificate(readFileSync(paths.voucherSignerCert, 'utf8'), readFileSync(paths.voucherSignerKey, 'utf8'));
    const manufacturerCa = new Uint8Array(new X509Certificate(readFileSync(paths.manufacturerCaCert)).raw);
    return new Masa({ config, signer, manufacturerCa, log, ...(now ? { now } : {}) });
  }

  /** POST /.well-known/brski/requestvoucher. Never throws: every failure is a reply. */
  async requestVoucher(req: MasaRequest): Promise<MasaReply> {
    const context: Record<string, unknown> = { endpoint: 'requestvoucher', remote: req.remote };
    try {
      const format = this.requestFormat(req.contentType);
      const voucherFormat = negotiateFormat(req.accept, format);
      if (!voucherFormat) throw new MasaRefusal(406, `cannot answer in any of the accepted types (${req.accept}); we issue ${MEDIA_TYPE.cms} and ${MEDIA_TYPE.cose}`);
      const checked = await this.check(await this.verifySignature(req.body, format), context);
      const at = this.now();

      // From here to the claim nothing awaits, so two requests for one serial cannot both claim it.
      const pinned = this.pinnedCertificate(checked.registrar);
      const serialNumber = checked.request.serialNumber;
      const decision = this.ownership.decide(serialNumber, checked.registrar, spkiSha256Hex(pinned), checked.registrarName, at);
      if (!decision.allowed) throw new MasaRefusal(403, decision.reason);
      if (decision.domain) context.domain = decision.domain;
      const nonce = checked.request.nonce;
      if (!nonce) this.authenticateNonceless(req.clientCertificates, checked, decision.domain, at);
      if (decision.newClaim) {
        this.ownership.record(decision.newClaim);
        this.deps.log.info({ serialNumber, registrar: checked.registrarName, domain: decision.domain ?? null }, 'MASA: first claim of a serial-number recorded');
      }

      const assertion = this.deps.config.voucher.assertion === 'proximity' && checked.proximityVerified ? 'proximity' : 'logged';
      const content: VoucherContent = {
        assertion,
        createdOn: at.toISOString(),
        serialNumber,
        idevidIssuer: idevidIssuerOf(checked.idevid),
        pinnedDomainCert: pinned,
        domainCertRevocationChecks: this.deps.config.voucher.domainCertRevocationChecks,
      };
      if (nonce) content.nonce = nonce;
      else content.expiresOn = this.noncelessExpiry(at, pinned).toISOString();
      // Echo the nonce as the request spelled it (RFC 8995's examples use base64url).
      const spelling = nonce ? checked.request.base64Spelling.nonce : undefined;
      const voucher = new Voucher(content, spelling ? { base64Spelling: { nonce: spelling } } : {});
      const body = await this.sign(voucher, voucherFormat);

      const nonceText = nonce ? (spelling ?? Buffer.from(nonce).toString('base64')) : null;
      this.vouchers.append({
        at: at.toISOString(),
        serialNumber,
        domainId: domainIdOf(pinned),
        domain: decision.domain ?? null,
        nonce: nonceText,
        assertion,
        expiresOn: content.expiresOn ?? null,
        format: voucherFormat,
        registrar: checked.registrarName,
        pinnedSpkiSha256: spkiSha256Hex(pinned),
      });
      this.deps.log.info(
        { ...context, serialNumber, assertion, nonceless: !nonce, format: voucherFormat, basis: decision.basis, registrar: checked.registrarName, octets: body.length },
        'MASA: voucher issued',
      );
      return { status: 200, contentType: MEDIA_TYPE[voucherFormat], body };
    } catch (err) {
      return this.refuse(err, context);
    }
  }

  /**
   * POST /.well-known/brski/requestauditlog (RFC 8995 §5.8): the same RVR; the log goes to the
   * serial's owner, or to a registrar whose RVR carries a verified PVR (it has the device at hand).
   */
  async requestAuditLog(req: MasaRequest): Promise<MasaReply> {
    const context: Record<string, unknown> = { endpoint: 'requestauditlog', remote: req.remote };
    try {
      const format = this.requestFormat(req.contentType);
      const checked = await this.check(await this.verifySignature(req.body, format), context);
      const serialNumber = checked.request.serialNumber;
      if (!checked.hasPvr && !this.ownership.isOwner(serialNumber, checked.registrar, this.now())) {
        throw new MasaRefusal(403, `the audit log of ${serialNumber} is for its owner, or a registrar that sends the pledge's own request`);
      }
      const log = this.vouchers.auditLog(serialNumber);
      this.deps.log.info({ ...context, serialNumber, events: log.events.length, registrar: checked.registrarName }, 'MASA: audit log sent');
      return { status: 200, contentType: 'application/json', body: new TextEncoder().encode(JSON.stringify(log)) };
    } catch (err) {
      return this.refuse(err, context);
    }
  }

  private requestFormat(contentType: string | undefined): ArtifactFormat {
    const format = formatOfContentType(contentType);
    if (!format) throw new MasaRefusal(415, `Content-Type ${contentType ?? '(none)'} is not ${MEDIA_TYPE.cms} or ${MEDIA_TYPE.cose}`);
    return format;
  }

  /** Decodes the RVR and checks its signature with a certificate it carries. */
  private async verifySignature(body: Uint8Array, format: ArtifactFormat): Promise<SignedRequest> {
    const what = 'registrar voucher-request';
    if (format === 'cms') {
      const signed = asRefusal(what, () => SignedVoucherCms.decode(body));
      const verified = await asRefusalAsync(what, () => signed.verify());
      const request = asRefusal(what, () => signed.voucherRequest());
      return { format, request, signer: verified.signerCertificate as Uint8Array, carried: verified.certificates };
    }
    const signed = asRefusal(what, () => SignedVoucherCose.decode(body));
    const verified = asRefusal(what, () => signed.verify());
    if (!verified.signerCertificate) throw new MasaRefusal(403, `${what}: no certificate of its x5bag made the signature`);
    const request = asRefusal(what, () => signed.voucherRequest());
    return { format, request, signer: verified.signerCertificate, carried: verified.certificates };
  }

  /** Every check of a signed RVR up to, not including, the ownership decision. */
  private async check(signed: SignedRequest, context: Record<string, unknown>): Promise<CheckedRequest> {
    const at = this.now();
    const { request, signer } = signed;
    context.serialNumber = request.serialNumber;
    const registrarName = subjectOf(signer);
    context.registrar = registrarName;

    const self = validateCertificatePath(signer, [], [signer], { at });
    if (!self.ok) throw new MasaRefusal(403, `registrar certificate: ${self.reason}`);
    if (!hasEku(signer, ID_KP_CMC_RA)) {
      throw new MasaRefusal(403, `the voucher-request signer (${registrarName}) lacks EKU id-kp-cmcRA: only a registrar may request vouchers`);
    }
    const registrar = registrarChain(signer, signed.carried, at);

    const issued = this.registry.find(request.serialNumber);
    if (!issued) throw new MasaRefusal(404, `serial-number ${request.serialNumber} is no device of this manufacturer`);
    if (request.idevidIssuer && !idevidIssuerMatches(request.idevidIssuer, issued.der)) {
      throw new MasaRefusal(404, `idevid-issuer does not name this manufacturer's CA: serial-number ${request.serialNumber} is not ours`);
    }

    let proximityVerified = false;
    const pvrBytes = request.priorSignedVoucherRequest;
    if (pvrBytes) {
      const pvr = await this.verifyPvr(pvrBytes, signed.format, request.serialNumber, issued.der);
      if (pvr.serialNumber !== request.serialNumber) {
        throw new MasaRefusal(403, `the pledge's request is for serial-number ${pvr.serialNumber}, the registrar's for ${request.serialNumber}`);
      }
      checkProximity(pvr, registrar, at);
      if (!sameBytes(pvr.nonce, request.nonce)) throw new MasaRefusal(403, 'the nonce of the registrar\'s request is not the pledge\'s');
      proximityVerified = pvr.assertion === 'proximity';
    }
    return { ...signed, registrar, registrarName, idevid: issued.der, proximityVerified, hasPvr: pvrBytes !== undefined };
  }

  /**
   * The PVR, in the RVR's own format (cBRSKI §7.1): a CMS PVR carries its IDevID, which must chain
   * to our manufacturer CA; a COSE PVR carries none and is checked with the key of the IDevID we
   * issued for the serial.
   */
  private async verifyPvr(bytes: Uint8Array, format: ArtifactFormat, serialNumber: string, issuedIdevid: Uint8Array): Promise<VoucherRequest> {
    const what = 'prior-signed-voucher-request';
    if (format === 'cms') {
      const signed = asRefusal(what, () => SignedVoucherCms.decode(bytes));
      const verified = await asRefusalAsync(what, () => signed.verify({ trustAnchors: [this.deps.manufacturerCa], at: this.now() }), {
        'signer-untrusted': `${what} is not signed by an IDevID of this manufacturer`,
      });
      const signerSerial = serialNumberOf(verified.signerCertificate as Uint8Array);
      if (signerSerial !== serialNumber) {
        throw new MasaRefusal(403, `${what} is signed by the IDevID of serial-number ${signerSerial ?? '(none)'}, not ${serialNumber}`);
      }
      return asRefusal(what, () => signed.voucherRequest());
    }
    const signed = asRefusal(what, () => SignedVoucherCose.decode(bytes));
    asRefusal(what, () => signed.verify({ signer: issuedIdevid }), { 'signature-invalid': `${what} is not signed by the IDevID of serial-number ${serialNumber}` });
    return asRefusal(what, () => signed.voucherRequest());
  }

  /**
   * RFC 8995 §5.5.4 / §5.7: a nonceless voucher can be replayed to any pledge of the serial until it
   * expires, so it goes only to a registrar that proved, in this TLS connection, to hold a key of
   * the signing chain (its client certificate is, or chains to, a certificate of that chain), or
   * to a configured domain allowed nonceless vouchers.
   */
  private authenticateNonceless(clientChain: readonly Uint8Array[], checked: CheckedRequest, domain: string | undefined, at: Date): void {
    const configured = domain !== undefined && this.deps.config.ownership.domains.some((d) => d.name === domain && d.nonceless);
    if (configured) return;
    const leaf = clientChain[0];
    if (!leaf) throw new MasaRefusal(401, 'a nonceless voucher needs the registrar authenticated by a TLS client certificate');
    const result = validateCertificatePath(leaf, [...clientChain.slice(1), ...checked.carried], checked.registrar.chain, { at });
    if (!result.ok) {
      throw new MasaRefusal(401, `the TLS client certificate (${subjectOf(leaf)}) is not part of the voucher-request's signing chain: ${result.reason}`);
    }
  }

  /** pinScope ee: the RVR signer; ca: the CA that issued it, when the RVR carries it. */
  private pinnedCertificate(registrar: RegistrarChain): Uint8Array {
    if (this.deps.config.voucher.pinScope === 'ee') return registrar.signer;
    const signer = new X509Certificate(registrar.signer);
    const issuer = registrar.chain.slice(1).find((c) => signer.checkIssued(new X509Certificate(c)));
    if (issuer) return issuer;
    this.deps.log.warn({ registrar: subjectOf(registrar.signer) }, 'MASA: pinScope ca, but the voucher-request carries no issuing CA; pinning the registrar certificate');
    return registrar.signer;
  }

  /** Now plus the configured lifetime, but never past the pinned certificate (8366bis). */
  private noncelessExpiry(at: Date, pinned: Uint8Array): Date {
    const wanted = at.getTime() + this.deps.config.voucher.noncelessLifetimeSeconds * 1000;
    const notAfter = new x509.X509Certificate(pinned).notAfter.getTime();
    return new Date(Math.min(wanted, notAfter));
  }

  private async sign(voucher: Voucher, format: ArtifactFormat): Promise<Uint8Array> {
    const { signer, manufacturerCa } = this.deps;
    if (format === 'cms') return signVoucherCms(voucher, { certificate: signer.der, privateKey: signer.privateKey, chain: [manufacturerCa] });
    // cBRSKI §9.2.3: the MASA's chain in the unprotected x5bag.
    return signVoucherCose(voucher, { privateKey: signer.privateKey, certificates: [signer.der, manufacturerCa] });
  }

  private refuse(err: unknown, context: Record<string, unknown>): MasaReply {
    if (err instanceof MasaRefusal) {
      this.deps.log.warn({ ...context, status: err.status, reason: err.message }, 'MASA: request refused');
      return textReply(err.status, err.message);
    }
    this.deps.log.error({ ...context, err: err instanceof Error ? err.message : String(err) }, 'MASA: internal error');
    return textReply(500, 'internal error; see the MASA log');
  }
}

export function textReply(status: number, text: string): MasaReply {
  return { status, contentType: 'text/plain; charset=utf-8', body: new TextEncoder().encode(`${text}\n`) };
}

/** Library errors as refusals: decoding problems keep their status (400/406/413), signatures 403. */
function toRefusal(what: string, err: unknown, messages: Partial<Record<string, string>> = {}): unknown {
  if (!(err instanceof VoucherError)) return err;
  const message = messages[err.code] ?? `${what}: ${err.message}`;
  return new MasaRefusal(err.httpStatus === 401 ? 403 : err.httpStatus, message);
}

function asRefusal<T>(what: string, fn: () => T, messages?: Partial<Record<string, string>>): T {
  try {
    return fn();
  } catch (err) {
    throw toRefusal(what, err, messages);
  }
}

async function asRefusalAsync<T>(what: string, fn: () => Promise<T>, messages?: Partial<Record<string, string>>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toRefusal(what, err, messages);
  }
}

/** The signer and each carried certificate it validly chains to, with their SPKI hashes. */
export function registrarChain(signer: Uint8Array, carried: readonly Uint8Array[], at: Date): RegistrarChain {
  const chain: Uint8Array[] = [signer];
  for (const c of carried) {
    if (sameBytes(c, signer) || chain.some((k) => sameBytes(k, c))) continue;
    if (validateCertificatePath(signer, carried, [c], { at }).ok) chain.push(c);
  }
  return { signer, carried, chain, spkiSha256: new Set(chain.map(spkiSha256Hex)) };
}

/**
 * The registrar the pledge saw must belong to the RVR's signing chain (teap-brski.md §5.3): a
 * certificate with the named key (the PVR's proximity-registrar-cert itself, or one the RVR
 * carries) that is, or chains to, a certificate of that chain.
 */
function checkProximity(pvr: VoucherRequest, registrar: RegistrarChain, at: Date): void {
  const candidates: Uint8Array[] = [];
  let named: (spki: Buffer) => boolean;
  if (pvr.proximityRegistrarCert) {
    const spki = spkiOf(pvr.proximityRegistrarCert);
    candidates.push(pvr.proximityRegistrarCert);
    named = (k) => k.equals(spki);
  } else if (pvr.proximityRegistrarPubk) {
    const spki = Buffer.from(pvr.proximityRegistrarPubk);
    named = (k) => k.equals(spki);
  } else if (pvr.proximityRegistrarPubkSha256) {
    const hash = Buffer.from(pvr.proximityRegistrarPubkSha256);
    named = (k) => createHash('sha256').update(k).digest().equals(hash);
  } else {
    throw new MasaRefusal(403, 'the pledge\'s request names no proximity registrar');
  }
  candidates.push(...registrar.carried.filter((c) => named(spkiOf(c))));
  const inChain = candidates.some((c) => validateCertificatePath(c, registrar.carried, registrar.chain, { at }).ok);
  if (!inChain) throw new MasaRefusal(403, 'the proximity registrar of the pledge\'s request is not in the registrar voucher-request\'s signing chain');
}

function spkiOf(der: Uint8Array): Buffer {
  return new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
}

function hasEku(der: Uint8Array, oid: string): boolean {
  const eku = new x509.X509Certificate(der).getExtension(x509.ExtendedKeyUsageExtension);
  return eku !== null && eku.usages.map(String).includes(oid);
}

function subjectOf(der: Uint8Array): string {
  try {
    return new X509Certificate(der).subject.replace(/\n/g, ', ');
  } catch {
    return '(unparsable certificate)';
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}
