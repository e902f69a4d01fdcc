import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tls from 'node:tls';
import { TeapErrorCode } from '../../teap-brski/teap/errors.js';
import type { RequestActionTlv, TeapTlv } from '../../teap-brski/teap/tlv-codec.js';
import { BrskiTlvCodec, DEFAULT_BRSKI_ERROR_CODES } from '../../teap-brski/brski/tlvs.js';
import { isCaCertificate, validateCertificatePath, type ValidityTime } from '../../teap-brski/brski/voucher/index.js';
import { TeapPeer } from '../teap/teap-peer.js';
import { runTeapOverRadius, type TeapRadiusOptions, type TeapRadiusResult } from '../teap/radius-runner.js';
import type { PeerTlvHandler, PeerTlvStep, PeerTunnelFacts } from '../teap/tlv-handler.js';
import type { Log } from '../../util/log.js';
import { CredentialsError } from './credentials.js';
import { CsrAttributesError, NO_CSR_ATTRIBUTES, parseCsrAttributes } from './csr-attributes.js';
import { CsrError, createPledgeCsr, type PledgeCsr } from './csr.js';
import { LDEVID_FILES, repairInterruptedRenewal, type RenewalRepair } from './ldevid-files.js';
import { Pkcs7Error, certificatesOfPkcs7 } from './pkcs7.js';
import { parsePemCertificates } from '../../pki/pem-certificates.js';
import { readServerRefusal, type ServerRefusal } from './server-refusal.js';

/** A device's current LDevID, its key and its domain trust anchors (what `gangway pledge` wrote). */
export interface LdevidCredentials {
  ldevid: Uint8Array;
  intermediates: Uint8Array[];
  privateKey: KeyObject;
  trustAnchors: Uint8Array[];
}

/**
 * The device's credentials from `dir`, after finishing or undoing a renewal that was stopped
 * between its renames (`repaired` says which; ldevid-files.ts). The caller holds the directory's
 * lock (lockLdevidDirectory): a renewal in progress would look like an interrupted one.
 */
export function loadLdevidCredentials(dir: string): LdevidCredentials & { repaired?: RenewalRepair } {
  let repaired: RenewalRepair | undefined;
  try {
    repaired = repairInterruptedRenewal(dir);
  } catch (err) {
    throw new CredentialsError(`cannot repair an interrupted renewal in ${dir}: ${(err as Error).message}`);
  }
  const read = (name: string): string => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (err) {
      throw new CredentialsError(`cannot read ${join(dir, name)}: ${(err as Error).message}`);
    }
  };
  const pems = (name: string): Uint8Array[] => {
    try {
      return parsePemCertificates(read(name)).map((c) => new Uint8Array(c.raw));
    } catch (err) {
      if (err instanceof CredentialsError) throw err;
      throw new CredentialsError(`${join(dir, name)}: not a certificate: ${(err as Error).message}`);
    }
  };
  const chain = pems(LDEVID_FILES.certificate);
  const anchors = pems(LDEVID_FILES.trustAnchors);
  if (chain.length === 0 || anchors.length === 0) throw new CredentialsError(`${dir} holds no LDevID or no trust anchor`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(read(LDEVID_FILES.key));
  } catch (err) {
    if (err instanceof CredentialsError) throw err;
    throw new CredentialsError(`LDevID key: ${(err as Error).message}`);
  }
  if (!new X509Certificate(chain[0]!).checkPrivateKey(privateKey)) throw new CredentialsError('the LDevID key does not belong to the LDevID');
  return { ldevid: chain[0]!, intermediates: chain.slice(1), privateKey, trustAnchors: anchors, ...(repaired !== undefined ? { repaired } : {}) };
}

export interface ReenrollResult {
  ldevid: Uint8Array;
  intermediates: Uint8Array[];
  privateKey: KeyObject;
  trustAnchors: Uint8Array[];
}

/**
 * Flow C (teap-brski.md §3.4) on the device: it authenticated with its LDevID, and validated the
 * server against its domain anchors in Phase 1; the server asks for a PKCS#10 (Request-Action with
 * an empty PKCS#10), the device sends one for a new key and installs the new LDevID.
 */
export class ReenrollHandler implements PeerTlvHandler {
  readonly name = 'TEAP-BRSKI re-enrolment';
  private csr: PledgeCsr | undefined;
  result: ReenrollResult | undefined;
  failure: { code: number; reason: string } | undefined;
  /** Why the server ended the conversation, if it did (a Retry-After: when to ask again). */
  refusal: ServerRefusal | undefined;

  constructor(
    private readonly creds: LdevidCredentials,
    private readonly tunnel: PeerTunnelFacts,
    private readonly tlvs: BrskiTlvCodec,
    private readonly at: () => ValidityTime,
    private readonly log?: Log,
  ) {}

  serverFailed(tlvs: readonly TeapTlv[]): void {
    this.refusal = readServerRefusal(tlvs, this.tlvs, DEFAULT_BRSKI_ERROR_CODES);
    this.log?.info({ ...this.refusal }, 'TEAP re-enrolment: the server ended the conversation');
  }

  acceptsRequestAction(ra: RequestActionTlv): boolean {
    const asked = this.tlvs.requested(ra);
    return this.csr === undefined && asked.pkcs10 && !asked.voucherRequest;
  }

  claims(t: TeapTlv): boolean {
    // CSR-Attributes ride with the Request-Action itself.
    return t.kind === 'csr-attributes' || (this.csr !== undefined && t.kind === 'pkcs7');
  }

  async handle(input: { requestAction?: RequestActionTlv; tlvs: readonly TeapTlv[] }): Promise<PeerTlvStep> {
    if (input.requestAction) {
      const attrs = input.tlvs.find((t) => t.kind === 'csr-attributes');
      let request = NO_CSR_ATTRIBUTES;
      try {
        if (attrs && attrs.kind === 'csr-attributes' && attrs.der.length > 0) request = parseCsrAttributes(attrs.der);
        this.csr = await createPledgeCsr({ request, ...(this.tunnel.channelBinding ? { channelBinding: this.tunnel.channelBinding.data } : {}) });
      } catch (err) {
        if (err instanceof CsrAttributesError || err instanceof CsrError) return this.fail(DEFAULT_BRSKI_ERROR_CODES.csrAttributeFail, err.message);
        throw err;
      }
      this.log?.info({ key: this.csr.key }, 'TEAP re-enrolment: sending a PKCS#10 for a new key');
      return { kind: 'send', tlvs: [{ kind: 'pkcs10', mandatory: false, der: this.csr.der }] };
    }
    const pkcs7 = input.tlvs.find((t) => t.kind === 'pkcs7');
    if (!pkcs7 || pkcs7.kind !== 'pkcs7' || !this.csr) return { kind: 'send', tlvs: [] };
    let certs: Uint8Array[];
    try {
      certs = certificatesOfPkcs7(pkcs7.der);
    } catch (err) {
      if (err instanceof Pkcs7Error) return this.fail(TeapErrorCode.GeneralPkiError, err.message);
      throw err;
    }
    const spki = Buffer.from(this.csr.spki);
    const ldevid = certs.find((c) => new X509Certificate(c).publicKey.export({ type: 'spki', format: 'der' }).equals(spki));
    if (!ldevid || isCaCertificate(ldevid)) return this.fail(TeapErrorCode.GeneralPkiError, 'the PKCS#7 holds no end-entity certificate for our new key');
    const others = certs.filter((c) => c !== ldevid);
    const path = validateCertificatePath(ldevid, others, this.creds.trustAnchors, { at: this.at() });
    if (!path.ok) return this.fail(TeapErrorCode.GeneralPkiError, `the new LDevID does not chain to our domain anchors: ${path.reason}`);
    this.result = { ldevid, intermediates: path.path.slice(1, -1), privateKey: this.csr.privateKey, trustAnchors: this.creds.trustAnchors };
    this.log?.info({ subject: new X509Certificate(ldevid).subject.replace(/\n/g, ', ') }, 'TEAP re-enrolment: new LDevID received');
    return { kind: 'send', tlvs: [] };
  }

  finish(): { ok: true } | { ok: false; code: number; reason: string } {
    // Access without re-enrolment is fine for an enrolled device (flow A); if re-enrolment started,
    // it must have finished.
    if (this.csr && !this.result) return { ok: false, code: TeapErrorCode.GeneralPkiError, reason: 'Result=Success before the new LDevID arrived' };
    return { ok: true };
  }

  dispose(): void {
    this.csr = this.result ? this.csr : undefined;
  }

  private fail(code: number, reason: string): PeerTlvStep {
    this.failure = { code, reason };
    return { kind: 'failure', code, reason };
  }
}

export interface TeapReenrollConfig {
  credentials: LdevidCredentials;
  /** Name the server certificate must carry (the device validates it against its anchors). */
  serverName?: string;
  outerIdentity: string;
  maxVersion?: tls.SecureVersion;
  tlvs?: BrskiTlvCodec;
  clock?: () => ValidityTime;
  log?: Log;
}

/** An enrolled device over TEAP: its LDevID in Phase 1, our server validated by the domain anchors. */
export function createTeapReenroller(config: TeapReenrollConfig): { peer: TeapPeer; handler: () => ReenrollHandler | undefined } {
  const c = config.credentials;
  let handler: ReenrollHandler | undefined;
  const peer = new TeapPeer({
    outerIdentity: config.outerIdentity,
    tls: {
      cert: [c.ldevid, ...c.intermediates].map((d) => new X509Certificate(d).toString()).join(''),
      key: c.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      ca: c.trustAnchors.map((d) => new X509Certificate(d).toString()),
      ...(config.serverName !== undefined ? { servername: config.serverName } : { checkServerIdentity: () => undefined }),
      minVersion: 'TLSv1.2',
      maxVersion: config.maxVersion ?? 'TLSv1.2',
    },
    tlvHandler: (facts) => {
      handler = new ReenrollHandler(c, facts, config.tlvs ?? new BrskiTlvCodec(), config.clock ?? (() => new Date()), config.log);
      return handler;
    },
    ...(config.log ? { log: config.log } : {}),
  });
  return { peer, handler: () => handler };
}

export async function runReenrollOverRadius(
  config: TeapReenrollConfig,
  radius: Omit<TeapRadiusOptions, 'userName'>,
): Promise<{ radius: TeapRadiusResult; result?: ReenrollResult; failure?: { code: number; reason: string }; refusal?: ServerRefusal }> {
  const { peer, handler } = createTeapReenroller(config);
  const r = await runTeapOverRadius(peer, { ...radius, userName: config.outerIdentity });
  const h = handler();
  return { radius: r, ...(h?.result && r.outcome === 'accept' ? { result: h.result } : {}), ...(h?.failure ? { failure: h.failure } : {}), ...(h?.refusal ? { refusal: h.refusal } : {}) };
}
