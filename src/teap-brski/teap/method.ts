import type * as tls from 'node:tls';
import { X509Certificate, createHash } from 'node:crypto';
import type { EapMethod, EapMethodSession, Grant, MethodContext, Step } from '../../eap-methods/method.js';
import { presentedCertificate, type PresentedCertificate, type RevocationCheck, type TlsEngineName, type TlsTunnel } from '../../eap-methods/tls-tunnel.js';
import { createTlsServerContext, type TlsServerContext } from '../../eap-methods/tls-engine/server-context.js';
import type { UserStore } from '../../store/users.js';
import { PasswordLockout, type LockoutGate } from '../../eap-methods/password-lockout.js';
import { TLS12_CIPHERS, checkedMinVersion } from '../../eap-methods/tls-policy.js';
import type { Log } from '../../util/log.js';
import { TeapFramingError, TeapErrorCode } from './errors.js';
import { EAP_TYPE_TEAP, TEAP_VERSION, decodeTeapPacket, encodeTeapPacket, isTeapAck, teapAck, type TeapPacket } from './outer-framing.js';
import { DEFAULT_REASSEMBLY_LIMITS, TeapReassembler, TeapReassemblyLimitError, fragmentTeapMessage, type ReassemblyLimits } from './fragmentation.js';
import { decodeTeapTlvs, encodeTeapTlvs, tlv } from './tlv-codec.js';
import { resolveTeapCompat, type TeapCompat } from './compat.js';
import { BASIC_PASSWORD, CLIENT_CERTIFICATE, resolveTeapPolicy, type TeapPolicy } from './policy.js';
import { deriveTeapSessionId, keyScheduleFor } from './key-schedule.js';
import { CompoundKeyChain } from './compound-key-chain.js';
import { Phase2Server, type Phase2Output } from './phase2-server.js';
import type { TlvMethod } from './tlv-method.js';
import { classifyCertificate, parsePemCertificates, selectPolicyRule, type ManufacturerAnchors, type TeapPolicyRule } from './policy-rules.js';
import { concatBytes } from '../../util/bytes.js';
import { readableSerialNumberOf } from '../brski/voucher/index.js';
import { tlsChannelBinding } from '../../eap-methods/channel-binding.js';

export interface TeapTlsConfig {
  /** PEM server certificate chain and private key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA certificates that Phase-1 client certificates must chain to. */
  ca?: string | Buffer | Array<string | Buffer>;
  crl?: string | Buffer | Array<string | Buffer>;
  /** Default TLSv1.2 (RFC 9930 §3.2 forbids older versions). */
  minVersion?: tls.SecureVersion;
  /** Default TLSv1.2: wpa_supplicant 2.10 disables TLS 1.3 for TEAP unless told otherwise (Q5). */
  maxVersion?: tls.SecureVersion;
  /** OpenSSL TLS 1.2 cipher list; default: ECDHE with AEAD ciphers only (Q11). */
  ciphers?: string;
  /** Unset: OpenSSL when the native engine loaded, else node:tls (tls-engine/server-context.ts). */
  engine?: TlsEngineName;
  /**
   * Whether a Phase-1 certificate that chained is revoked all the same (the registrar CA's
   * revocations, newer than any CRL file): such a certificate is refused (Error 1020), as EAP-TLS does.
   */
  isRevoked?: RevocationCheck;
}

export interface TeapMethodDeps {
  tls: TeapTlsConfig;
  /** Accounts for Basic-Password-Auth (inner EAP methods bring their own stores). */
  users: Pick<UserStore, 'get'>;
  /** Failure throttling for Basic-Password-Auth; default: one of DEFAULT_PASSWORD_LOCKOUT for this method. */
  passwordLockout?: LockoutGate;
  /** Inner EAP methods (EAP-MSCHAPv2, EAP-TLS, plugins), referenced by name in the policy. */
  innerMethods: readonly EapMethod[];
  /** The default policy, for conversations no rule selects. */
  policy?: Partial<TeapPolicy>;
  /** Named policies that rules select (e.g. one for pledges, one for enrolled devices). */
  policies?: Readonly<Record<string, Partial<TeapPolicy>>>;
  /** First match wins; no match means the default policy. */
  rules?: readonly TeapPolicyRule[];
  /** Manufacturers whose IDevIDs the tunnel accepts (only policies selected by a rule use them). */
  manufacturers?: readonly ManufacturerAnchors[];
  /** Phase-2 methods made of TLVs (TEAP-BRSKI), named in policy steps. */
  tlvMethods?: readonly TlvMethod[];
  compat?: Partial<TeapCompat>;
  /**
   * Authority-ID sent in TEAP/Start (RFC 9930 §4.2.2). Default: the first 16 octets of SHA-256
   * over the server certificate, stable across restarts and unique per server identity.
   */
  authorityId?: Uint8Array;
  limits?: Partial<ReassemblyLimits>;
  /** For configuration-time messages; conversations log through their MethodContext. */
  log?: Log;
}

/**
 * ECDHE + AEAD suites only: with them the TLS PRF hash and the Compound-MAC hash agree in every
 * implementation (hostapd uses HMAC-SHA1 for CBC *_SHA suites, FreeRADIUS does not; Q11).
 */
export const TEAP_TLS12_CIPHERS = TLS12_CIPHERS;

/** TEAP (EAP type 55, RFC 9930) server as an EAP method plugin. */
export function createTeapMethod(deps: TeapMethodDeps): EapMethod {
  const compat = resolveTeapCompat(deps.compat ?? {});
  if (compat.mschapv2ImskOrder === 'auto') throw new Error('teap compat mschapv2ImskOrder "auto" is for peers; a server must choose hostapd-2.10 or rfc9930');
  const innerMethods = new Map<string, EapMethod>();
  for (const m of deps.innerMethods) {
    if (innerMethods.has(m.name)) throw new Error(`inner method ${m.name} configured twice`);
    if (m.type === EAP_TYPE_TEAP) throw new Error('TEAP cannot be its own inner method');
    innerMethods.set(m.name, m);
  }
  const tlvMethods = new Map<string, TlvMethod>();
  for (const m of deps.tlvMethods ?? []) {
    if (innerMethods.has(m.name) || tlvMethods.has(m.name)) throw new Error(`inner method ${m.name} configured twice`);
    tlvMethods.set(m.name, m);
  }
  for (const reserved of [BASIC_PASSWORD, CLIENT_CERTIFICATE]) {
    if (innerMethods.has(reserved) || tlvMethods.has(reserved)) throw new Error(`"${reserved}" is a reserved TEAP policy method name`);
  }
  const methodNames = [...innerMethods.keys(), ...tlvMethods.keys()];
  const policy = resolveTeapPolicy(deps.policy ?? {}, methodNames, compat);
  const policies = new Map<string, TeapPolicy>();
  for (const [name, p] of Object.entries(deps.policies ?? {})) {
    try {
      policies.set(name, resolveTeapPolicy(p, methodNames, compat));
    } catch (err) {
      throw new Error(`policy "${name}": ${(err as Error).message}`);
    }
  }
  const rules = [...(deps.rules ?? [])];
  for (const [i, r] of rules.entries()) {
    if (!policies.has(r.policy)) throw new Error(`rule ${i + 1} names unknown policy "${r.policy}" (known: ${[...policies.keys()].join(', ') || 'none'})`);
    const want = r.certificate;
    if (want !== undefined && want !== 'domain' && want !== 'manufacturer' && !(want.startsWith('manufacturer:') && (deps.manufacturers ?? []).some((m) => `manufacturer:${m.name}` === want))) {
      throw new Error(`rule ${i + 1}: certificate must be domain, manufacturer or manufacturer:NAME of a configured manufacturer`);
    }
  }
  const manufacturers = [...(deps.manufacturers ?? [])];
  const domainAnchors = deps.tls.ca !== undefined ? parsePemCertificates(deps.tls.ca) : [];
  const limits: ReassemblyLimits = { ...DEFAULT_REASSEMBLY_LIMITS, ...deps.limits };
  // RFC 9930 §3.2 forbids anything older than TLS 1.2.
  const minVersion = checkedMinVersion(deps.tls.minVersion, 'TEAP');
  // The tunnel accepts our CAs and the manufacturers' IDevID CAs; which of them a certificate chains
  // to decides which policy may use it (classifyCertificate), so an IDevID never passes as ours.
  const caList = [...(deps.tls.ca !== undefined ? (Array.isArray(deps.tls.ca) ? deps.tls.ca : [deps.tls.ca]) : []), ...manufacturers.flatMap((m) => m.anchors.map((a) => a.toString()))];
  const everyPolicy = [policy, ...policies.values()];
  // With rules, the certificate is asked for whenever some policy may use it, and judged in Phase 2.
  const requestCert = everyPolicy.some((p) => p.clientCertificate !== 'none') || manufacturers.length > 0;
  // 'required' (one policy, no rules): OpenSSL refuses a missing or untrusted certificate with a
  // TLS alert. Otherwise the handshake completes and Phase 2 decides (Error 1019/1020).
  const rejectUnauthorized = rules.length === 0 && manufacturers.length === 0 && policy.clientCertificate === 'required';
  // No resumption yet: a resumed TEAP session skips Phase 2 and must be authorized from a cache
  // of the earlier inner authentication (RFC 9930 §3.5, RFC 9427 §5.1), which does not exist.
  const serverContext = createTlsServerContext({
    cert: deps.tls.cert,
    key: deps.tls.key,
    ...(caList.length > 0 ? { ca: caList } : {}),
    ...(deps.tls.crl !== undefined ? { crl: deps.tls.crl } : {}),
    minVersion,
    maxVersion: deps.tls.maxVersion ?? 'TLSv1.2',
    ciphers: deps.tls.ciphers ?? TEAP_TLS12_CIPHERS,
    requestCert,
    rejectUnauthorized,
  }, deps.tls.engine);
  const authorityId = deps.authorityId ?? defaultAuthorityId(deps.tls.cert);
  const shared: SharedConfig = {
    serverContext, policy, policies, rules, manufacturers, domainAnchors, compat, innerMethods, tlvMethods, users: deps.users, authorityId, limits,
    passwordLockout: deps.passwordLockout ?? new PasswordLockout(),
    ...(deps.tls.isRevoked ? { isRevoked: deps.tls.isRevoked } : {}),
  };
  return {
    type: EAP_TYPE_TEAP,
    name: 'teap',
    declaresEstablished: true,
    createSession: (ctx) => new TeapServerSession(ctx, shared),
  };
}

function defaultAuthorityId(certPem: string | Buffer): Uint8Array {
  try {
    return new Uint8Array(createHash('sha256').update(new X509Certificate(certPem).raw).digest().subarray(0, 16));
  } catch {
    return new Uint8Array(createHash('sha256').update(certPem).digest().subarray(0, 16));
  }
}

interface SharedConfig {
  serverContext: TlsServerContext;
  policy: TeapPolicy;
  policies: ReadonlyMap<string, TeapPolicy>;
  rules: readonly TeapPolicyRule[];
  manufacturers: readonly ManufacturerAnchors[];
  domainAnchors: readonly X509Certificate[];
  tlvMethods: ReadonlyMap<string, TlvMethod>;
  compat: TeapCompat;
  innerMethods: ReadonlyMap<string, EapMethod>;
  users: Pick<UserStore, 'get'>;
  passwordLockout: LockoutGate;
  authorityId: Uint8Array;
  limits: ReassemblyLimits;
  isRevoked?: TeapTlsConfig['isRevoked'];
}

type Phase = 'start-sent' | 'handshake' | 'phase2' | 'alert-sent' | 'done';

class TeapServerSession implements EapMethodSession {
  private phase: Phase = 'start-sent';
  /** Built on the peer's first TLS message: a peer that never answers TEAP/Start costs no OpenSSL state. */
  private tunnelInstance: TlsTunnel | undefined;
  private readonly reassembler: TeapReassembler;
  private outgoing: TeapPacket[] = [];
  private readonly serverOuterTlvs: Uint8Array;
  private peerOuterTlvs: Uint8Array = new Uint8Array(0);
  private firstPeerMessage = true;
  private phase2: Phase2Server | undefined;
  private sessionId: Uint8Array | undefined;
  /** The validated Phase-1 certificate this conversation's policy accepted: it goes into the grant for the credential policy. */
  private phase1Certificate: { presented: PresentedCertificate; manufacturer?: string; deviceId?: string } | undefined;

  constructor(
    private readonly ctx: MethodContext,
    private readonly cfg: SharedConfig,
  ) {
    this.reassembler = new TeapReassembler(cfg.limits);
    this.serverOuterTlvs = encodeTeapTlvs([tlv.authorityId(cfg.authorityId)]);
  }

  /** Built on the peer's first TLS message (a flood of fresh conversations costs no TLS state). */
  private get tunnel(): TlsTunnel {
    this.tunnelInstance ??= this.cfg.serverContext.newTunnel();
    return this.tunnelInstance;
  }

  private get log(): Log {
    return this.ctx.log;
  }

  async start(): Promise<Step> {
    // TEAP/Start: S + O, our version, the Authority-ID Outer TLV, no TLS data (RFC 9930 §3.2).
    return {
      kind: 'request',
      data: encodeTeapPacket({ more: false, start: true, version: TEAP_VERSION, outerTlvLength: this.serverOuterTlvs.length, data: this.serverOuterTlvs }),
    };
  }

  async step(data: Uint8Array): Promise<Step> {
    let packet: TeapPacket;
    try {
      packet = decodeTeapPacket(data);
    } catch (err) {
      if (err instanceof TeapFramingError) return { kind: 'discard', reason: `TEAP framing: ${err.message}` };
      throw err;
    }
    if (packet.version !== TEAP_VERSION) {
      // RFC 9930 §3.1 step 5: a version we do not support ends the conversation.
      return this.fail(`peer proposed TEAP version ${packet.version}; only version ${TEAP_VERSION} is supported`);
    }
    if (this.outgoing.length > 0) {
      if (!isTeapAck(packet)) return this.fail('peer sent data while our fragments were waiting for ACKs');
      return this.sendNextFragment();
    }
    if (this.phase === 'alert-sent') return this.fail(`TLS failed: ${this.tunnel.failure?.message ?? 'alert sent'}`);
    if (this.phase === 'done') return { kind: 'discard', reason: 'TEAP conversation already finished' };

    let result;
    try {
      result = this.reassembler.push(packet);
    } catch (err) {
      if (err instanceof TeapReassemblyLimitError) return this.fail(`reassembly: ${err.message}`);
      if (err instanceof TeapFramingError) return { kind: 'discard', reason: `TEAP reassembly: ${err.message}` };
      throw err;
    }
    if (!result.done) return { kind: 'request', data: teapAck() };
    const message = result.message;

    if (this.firstPeerMessage) {
      this.firstPeerMessage = false;
      if (message.outerTlvs) this.acceptPeerOuterTlvs(message.outerTlvs);
    } else if (message.outerTlvs && message.outerTlvs.length > 0) {
      this.log.debug({ octets: message.outerTlvs.length }, 'TEAP: Outer TLVs after the first message ignored (RFC 9930 §4.3.1)');
    }

    if (this.phase === 'phase2') return this.onPhase2Data(message.tls);
    if (message.tls.length === 0) return this.fail('peer sent no TLS data during the handshake');
    this.phase = 'handshake';
    await this.tunnel.feed(message.tls);
    const out = this.tunnel.takeOutgoing();
    if (this.tunnel.state === 'failed' || this.tunnel.state === 'closed') {
      const why = this.tunnel.failure?.message ?? 'connection closed';
      this.log.info({ err: why }, 'TEAP: TLS handshake failed');
      if (out.length === 0) return this.fail(`TLS handshake failed: ${why}`);
      // RFC 9930 §3.9.2: send the alert in a request, then EAP-Failure whatever the peer answers.
      this.phase = 'alert-sent';
      return this.sendMessage(out);
    }
    if (this.tunnel.state === 'established') return this.onEstablished(out);
    if (out.length === 0) return this.fail('TLS produced no reply to the peer\'s handshake flight');
    return this.sendMessage(out);
  }

  dispose(): void {
    this.phase2?.dispose();
    this.tunnelInstance?.dispose();
    this.phase = 'done';
  }

  private acceptPeerOuterTlvs(bytes: Uint8Array): void {
    // The bytes enter every Compound-MAC as received; their meaning is only informative, and
    // invalid or unknown Outer TLVs are ignored (RFC 9930 §3.9.1).
    this.peerOuterTlvs = bytes.slice();
    try {
      for (const t of decodeTeapTlvs(bytes)) {
        if (t.kind === 'identity-type') this.log.info({ identityType: t.identityType }, 'TEAP: peer Outer Identity-Type');
      }
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'TEAP: invalid peer Outer TLVs ignored');
    }
  }

  private async onEstablished(handshakeOut: Uint8Array): Promise<Step> {
    const tunnel = this.tunnel;
    if (tunnel.isSessionReused()) return this.fail('TLS session resumption is not supported');
    const protocol = tunnel.protocol ?? 'unknown';
    const cipher = tunnel.cipher;
    const cipherName = cipher?.standardName ?? cipher?.name ?? '';
    const exporter = (length: number, label: string, context?: Uint8Array): Uint8Array => tunnel.exportKeyingMaterial(length, label, context);
    let chain: CompoundKeyChain;
    try {
      const ks = keyScheduleFor({ protocol, cipher: cipherName, exporter }, this.cfg.compat);
      chain = new CompoundKeyChain(ks, ks.sessionKeySeed(), this.cfg.compat);
      this.sessionId = deriveTeapSessionId(
        { protocol, clientFinished: tunnel.getPeerFinished() ?? new Uint8Array(0), serverFinished: tunnel.getFinished() ?? new Uint8Array(0), resumed: false, exporter },
        this.cfg.compat,
      );
      this.log.debug({ protocol, cipher: cipherName, profile: ks.profile }, 'TEAP: tunnel established');
    } catch (err) {
      return this.fail(`cannot derive TEAP keys: ${(err as Error).message}`);
    }

    const sel = this.selectPolicy();
    const policy = sel.policy;
    let clientCertificate: { identity: string; deviceId?: string } | undefined;
    let certError: { code: TeapErrorCode; reason: string } | undefined;
    if (policy.clientCertificate !== 'none' && sel.peer) {
      if (!tunnel.authorized) {
        certError = { code: TeapErrorCode.ClientCertificateRejected, reason: `client certificate rejected: ${tunnel.authorizationError ?? 'not trusted'}` };
      } else if (sel.peer.identity === undefined) {
        certError = { code: TeapErrorCode.ClientCertificateRejected, reason: sel.peer.refusal };
      } else if (sel.certificateUsable) {
        // Refused like a certificate a CRL names (1020), not ignored: a revoked credential is no fallback to a password.
        certError = await this.revocationRefusal(sel.peer);
        if (!certError) {
          const identity = sel.manufacturer ? manufacturerIdentity(sel.manufacturer, sel.peer.certificate, sel.peer.identity) : sel.peer.identity;
          // An IDevID names the device as manufacturer:serialNumber, read as the registrar reads it
          // (readableSerialNumberOf), so that its records (approval, denial) are found under this name.
          clientCertificate = { identity, deviceId: sel.manufacturer ? identity : sel.peer.deviceId };
          this.phase1Certificate = { presented: sel.peer, ...(sel.manufacturer ? { manufacturer: sel.manufacturer, deviceId: identity } : {}) };
        }
      } else {
        this.log.info({ policy: sel.name }, 'TEAP: Phase-1 certificate is not from an issuer this policy accepts; ignored');
      }
    }
    if (!clientCertificate && !certError && policy.clientCertificate === 'required') {
      certError = { code: TeapErrorCode.ClientCertificateNotSupplied, reason: sel.peer ? 'no client certificate this policy accepts' : 'no client certificate in Phase 1' };
    }
    const ownCertificate = tunnel.ownCertificate();
    const binding = tlsChannelBinding(tunnel, 'server');

    this.phase = 'phase2';
    this.phase2 = new Phase2Server(
      {
        policy,
        compat: this.cfg.compat,
        users: this.cfg.users,
        passwordLockout: this.cfg.passwordLockout,
        innerMethods: this.cfg.innerMethods,
        tlvMethods: this.cfg.tlvMethods,
        log: this.log,
        conversationId: this.ctx.conversationId,
        nas: this.ctx.nas,
      },
      {
        chain,
        cb: {
          ks: chain.keySchedule,
          versionSent: TEAP_VERSION,
          versionReceived: TEAP_VERSION,
          serverOuterTlvs: this.serverOuterTlvs,
          peerOuterTlvs: this.peerOuterTlvs,
        },
        ...(clientCertificate ? { clientCertificate } : {}),
        certificateOnly: policy.certificateOnly && (protocol !== 'TLSv1.3' || policy.certificateOnlyTls13),
        sequencer: {
          // RFC 9427 §2.2.1: under TLS 1.3 a certificate alone does not authenticate unless allowed.
          certificateCountsForSteps: protocol !== 'TLSv1.3' || policy.certificateOnlyTls13,
          ...(sel.realm !== undefined ? { requiredRealm: sel.realm } : {}),
        },
        tunnel: {
          serverCertificate: ownCertificate ?? new Uint8Array(0),
          ...(clientCertificate && sel.peer ? { peerCertificate: sel.peer.certificate, peerCertificateChain: sel.chain ?? [sel.peer.certificate] } : {}),
          protocol,
          ...(binding ? { channelBinding: binding.data } : {}),
        },
      },
    );
    const first = certError ? this.phase2.reject(certError.code, certError.reason) : await this.phase2.begin();
    // With a full TLS 1.2 handshake the first Phase-2 TLVs ride with the server Finished (RFC 9930 §3.2).
    return this.onPhase2Output(first, handshakeOut);
  }

  /**
   * The policy for this conversation (rules by realm, NAS and the Phase-1 certificate's issuer), and
   * whether the certificate may count for it: only when its issuer class selected the rule, or, for
   * a policy reached otherwise, when it chains to our own CAs.
   */
  private selectPolicy(): {
    name: string;
    policy: TeapPolicy;
    peer: ReturnType<TlsTunnel['peerIdentity']>;
    chain?: X509Certificate[];
    certificateUsable: boolean;
    /** The manufacturer whose IDevID is the usable certificate. */
    manufacturer?: string;
    /** Realm of the realm rule that chose the policy. */
    realm?: string;
  } {
    const peer = this.tunnel.peerIdentity();
    const cfg = this.cfg;
    if (cfg.rules.length === 0 && cfg.manufacturers.length === 0) {
      return { name: 'default', policy: cfg.policy, peer, certificateUsable: peer !== undefined };
    }
    const chain = peer && this.tunnel.authorized ? this.tunnel.peerCertificateChain() : undefined;
    const certificateClass = chain ? classifyCertificate(chain, cfg.domainAnchors, cfg.manufacturers) : undefined;
    const rule = selectPolicyRule(cfg.rules, { outerIdentity: this.ctx.identity, nas: this.ctx.nas, ...(certificateClass ? { certificateClass } : {}) });
    const name = rule?.policy ?? 'default';
    const policy = rule ? cfg.policies.get(rule.policy)! : cfg.policy;
    const certificateUsable = certificateClass !== undefined && (rule?.certificate !== undefined || certificateClass.kind === 'domain');
    this.log.info({ policy: name, certificate: certificateClass ? (certificateClass.kind === 'domain' ? 'domain' : `manufacturer:${certificateClass.name}`) : null }, 'TEAP: policy selected');
    return {
      name, policy, peer, certificateUsable,
      ...(chain ? { chain } : {}),
      ...(certificateUsable && certificateClass?.kind === 'manufacturer' ? { manufacturer: certificateClass.name } : {}),
      ...(rule?.realm !== undefined ? { realm: rule.realm } : {}),
    };
  }

  private async onPhase2Data(records: Uint8Array): Promise<Step> {
    let plaintext: Uint8Array = new Uint8Array(0);
    if (records.length > 0) {
      await this.tunnel.feed(records);
      if (this.tunnel.state === 'failed' || this.tunnel.state === 'closed') {
        return this.fail(`TLS failed in Phase 2: ${this.tunnel.failure?.message ?? 'connection closed'}`);
      }
      plaintext = this.tunnel.takeApplicationData();
    }
    // An empty response is "no TLVs" (hostapd 2.10 peers answer that way when nothing was understood, Q12).
    const out = await this.phase2!.handle(plaintext);
    return this.onPhase2Output(out, this.tunnel.takeOutgoing());
  }

  private async onPhase2Output(out: Phase2Output, pendingRecords: Uint8Array): Promise<Step> {
    switch (out.kind) {
      case 'send': {
        await this.tunnel.writeApplicationData(encodeTeapTlvs(out.tlvs));
        const records = concatBytes([pendingRecords, this.tunnel.takeOutgoing()]);
        return this.sendMessage(records);
      }
      case 'success': {
        // Phase 2 lasts as long as the peer likes: a certificate revoked meanwhile, in Phase 1 or
        // proved by an inner EAP-TLS (which asked before its own success), gets no Success.
        const proved: [PresentedCertificate, string][] = [
          ...(this.phase1Certificate ? [[this.phase1Certificate.presented, 'Phase-1'] as [PresentedCertificate, string]] : []),
          ...(out.grant.innerCertificates ?? []).map((der): [PresentedCertificate, string] => [presentedCertificate(der), 'inner EAP-TLS']),
        ];
        for (const [certificate, which] of proved) {
          const revoked = await this.revocationRefusal(certificate, which);
          if (revoked) return this.fail(revoked.reason);
        }
        this.phase = 'done';
        this.log.info({ identity: out.grant.identity, keyChain: out.keyChain }, 'TEAP: authentication succeeded');
        return { kind: 'success', msk: out.msk, emsk: out.emsk, ...(this.sessionId ? { sessionId: this.sessionId } : {}), grant: this.withPhase1Certificate(out.grant) };
      }
      case 'failure':
        return this.fail(out.reason);
    }
  }

  /** Error 1020 when the hook says this certificate is revoked, or cannot say (fail closed). */
  private async revocationRefusal(presented: PresentedCertificate, which = 'Phase-1'): Promise<{ code: TeapErrorCode; reason: string } | undefined> {
    const isRevoked = this.cfg.isRevoked;
    if (!isRevoked) return undefined;
    let serial: string;
    try {
      // The Phase-1 certificate is the same object at both checks: the hook may remember what it
      // learnt of it (the CA's signature). An inner one arrives as the DER its method proved and is
      // parsed here, whatever the hook reads: one that does not parse is refused.
      if (which !== 'Phase-1') void presented.certificate;
      if (!(await isRevoked(presented))) return undefined;
      serial = presented.certificate.serialNumber;
    } catch (err) {
      this.log.warn({ err: (err as Error).message, certificate: which }, `TEAP: revocation check of the ${which} certificate failed`);
      return { code: TeapErrorCode.ClientCertificateRejected, reason: 'certificate revocation check failed' };
    }
    this.log.info({ serial, certificate: which }, `TEAP: ${which} certificate revoked`);
    return { code: TeapErrorCode.ClientCertificateRejected, reason: 'certificate revoked' };
  }

  private withPhase1Certificate(grant: Grant): Grant {
    const c = this.phase1Certificate;
    if (!c) return grant;
    const g: Grant = { ...grant, certificate: c.presented.der };
    if (c.manufacturer !== undefined) {
      g.manufacturer = c.manufacturer;
      g.deviceId ??= c.deviceId;
    }
    return g;
  }

  private sendMessage(records: Uint8Array): Step {
    // 5 octets of EAP header (Code, Identifier, Length, Type) precede the TEAP Type-Data.
    this.outgoing = fragmentTeapMessage({ version: TEAP_VERSION, start: false, tls: records }, this.ctx.maxEapPacket - 5);
    return this.sendNextFragment();
  }

  private sendNextFragment(): Step {
    const p = this.outgoing.shift()!;
    // The conversation earns its place in the table once the peer has proved something in the
    // tunnel (a Phase-1 certificate, an inner method): reaching Phase 2 anonymously proves nothing.
    return { kind: 'request', data: encodeTeapPacket(p), ...(this.phase === 'phase2' && this.phase2?.peerProved ? { established: true } : {}) };
  }

  private fail(reason: string): Step {
    this.phase = 'done';
    this.log.info({ reason }, 'TEAP: authentication failed');
    return { kind: 'failure', reason: `TEAP: ${reason}` };
  }
}

/**
 * The identity an IDevID authenticates: a manufacturer vouches for its devices, not for our
 * accounts, so its names are kept apart as `manufacturer:serialNumber` (the subject serialNumber
 * attribute, 802.1AR, as the registrar reads it: the raw value, not Node's escaped subject text),
 * or `manufacturer:name` without one.
 */
function manufacturerIdentity(manufacturer: string, cert: X509Certificate, identity: string): string {
  return `${manufacturer}:${readableSerialNumberOf(new Uint8Array(cert.raw)) ?? identity}`;
}
