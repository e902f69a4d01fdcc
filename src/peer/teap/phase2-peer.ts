import { EapCode, EapType, decodeEap, encodeEap } from '../../eap-methods/eap-packet.js';
import { EapProtocolError } from '../../eap-methods/errors.js';
import { swapMskHalves } from '../../eap-methods/mschapv2/ms-chap-v2.js';
import type { Log } from '../../util/log.js';
import { TeapError, TeapErrorCode, TeapTlvError, teapErrorName } from '../../teap-brski/teap/errors.js';
import {
  IdentityType,
  ResultStatus,
  TlvType,
  decodeTeapTlvs,
  tlv,
  tlvTypeOf,
  type CryptoBindingTlv,
  type TeapTlv,
} from '../../teap-brski/teap/tlv-codec.js';
import type { CompoundKeyChain, InnerMethodKeys } from '../../teap-brski/teap/compound-key-chain.js';
import {
  buildCryptoBindingResponse,
  requestMskMacMatches,
  verifyCryptoBindingRequest,
  type CryptoBindingContext,
} from '../../teap-brski/teap/crypto-binding.js';
import type { TeapCompat } from '../../teap-brski/teap/compat.js';
import { allowedEapTypes, allowedMethods, createInnerPeerMethod, type InnerPeerMethod, type RandomSource, type TeapPeerCredentials } from './inner-methods.js';
import type { PeerTlvHandler } from './tlv-handler.js';

export interface Phase2PeerConfig {
  user?: TeapPeerCredentials;
  machine?: TeapPeerCredentials;
  compat: TeapCompat;
  log: Log;
  /** Random source for inner methods (tests replay captured transcripts with a fixed one). */
  random?: RandomSource;
  /** A TLV exchange to take on server Request-Actions (a TEAP-BRSKI pledge); none: decline them. */
  tlvHandler?: PeerTlvHandler;
}

/** What Phase 2 wants sent next, or its verdict. */
export type Phase2PeerOutput =
  | { kind: 'send'; tlvs: TeapTlv[] }
  /** Result=Success was exchanged; wait for EAP-Success (keys are final). */
  | { kind: 'success'; tlvs: TeapTlv[]; msk: Uint8Array; emsk: Uint8Array }
  /** We answered with Result=Failure; wait for EAP-Failure. */
  | { kind: 'failure'; tlvs: TeapTlv[]; reason: string };

type IdType = 'user' | 'machine';

interface Pending {
  keys: InnerMethodKeys;
  /** EAP type (26 ⇒ the MSCHAPv2 key order question), or undefined for Basic-Password. */
  eapType?: number;
  method: string;
}

/**
 * The peer's Phase-2 processing (RFC 9930 §4.3 order: Crypto-Binding, Intermediate-Result, Result /
 * Request-Action, Identity-Type, EAP-Payload / Basic-Password-Auth-Req, the rest). It relies on no
 * behaviour of our own server: anything RFC 9930 or hostapd 2.10 sends is handled.
 */
export class Phase2Peer {
  private idType: IdType = 'user';
  private inner: InnerPeerMethod | undefined;
  private innerIdentityAnswered = false;
  private pending: Pending | undefined;
  /** The last inner EAP Request and our Response to it, for a retransmission. */
  private lastInner: { request: Uint8Array; response: Uint8Array } | undefined;
  private cbVerifiedOnce = false;
  private sentEmskMac = false;
  private ended = false;
  /** The MSCHAPv2 IMSK order in use, once known (compat 'auto' learns it from the first CB). */
  private mschapOrder: 'hostapd-2.10' | 'rfc9930' | undefined;
  readonly authenticatedTypes: IdType[] = [];

  constructor(
    private chain: CompoundKeyChain,
    private readonly cb: CryptoBindingContext,
    private readonly cfg: Phase2PeerConfig,
  ) {
    if (cfg.compat.mschapv2ImskOrder !== 'auto') this.mschapOrder = cfg.compat.mschapv2ImskOrder;
    if (!cfg.user && cfg.machine) this.idType = 'machine';
  }

  /** The MSCHAPv2 key order the server turned out to use (for logs and tests). */
  get detectedMschapV2Order(): 'hostapd-2.10' | 'rfc9930' | undefined {
    return this.mschapOrder;
  }

  private get creds(): TeapPeerCredentials | undefined {
    return this.idType === 'machine' ? this.cfg.machine : this.cfg.user;
  }

  async process(plaintext: Uint8Array): Promise<Phase2PeerOutput> {
    if (this.ended) return this.failWith(TeapErrorCode.UnexpectedTlvsExchanged, 'server sent Phase-2 data after the final Result');
    let tlvs: TeapTlv[];
    try {
      tlvs = decodeTeapTlvs(plaintext);
    } catch (err) {
      if (err instanceof TeapTlvError) return this.failWith(err.code, `malformed Phase-2 TLVs from the server: ${err.message}`);
      throw err;
    }
    try {
      return await this.handle(tlvs);
    } catch (err) {
      if (err instanceof TeapError) return this.failWith(err.code, err.message);
      throw err;
    }
  }

  dispose(): void {
    this.inner?.dispose();
    this.inner = undefined;
    this.cfg.tlvHandler?.dispose();
  }

  private async handle(tlvs: TeapTlv[]): Promise<Phase2PeerOutput> {
    const count = (k: TeapTlv['kind']): number => tlvs.filter((t) => t.kind === k).length;
    for (const k of ['eap-payload', 'crypto-binding', 'result', 'intermediate-result', 'basic-password-auth-req'] as const) {
      if (count(k) > 1) throw new TeapTlvError(`server sent ${count(k)} ${k} TLVs`);
    }
    if (count('eap-payload') && count('basic-password-auth-req')) throw new TeapTlvError('server sent EAP-Payload and Basic-Password-Auth-Req together');
    const result = tlvs.find((t) => t.kind === 'result');
    if (result && result.kind === 'result' && result.status !== ResultStatus.Success && result.status !== ResultStatus.Failure) {
      throw new TeapTlvError(`Result TLV with unknown Status ${result.status}`);
    }
    if (count('pac')) throw new TeapTlvError('server sent a PAC TLV (deprecated by RFC 9930 §4.2.12)');

    const unsupported = tlvs.filter((t) => t.mandatory && (t.kind === 'unknown' || t.kind === 'vendor-specific'));
    if (unsupported.length > 0) {
      if (result) throw new TeapTlvError(`unsupported mandatory TLV ${tlvTypeOf(unsupported[0]!)} together with a Result TLV`);
      this.cfg.log.info({ types: unsupported.map(tlvTypeOf) }, 'TEAP peer: NAK for unsupported mandatory TLVs');
      return { kind: 'send', tlvs: unsupported.map((t) => tlv.nak(tlvTypeOf(t), t.kind === 'vendor-specific' ? t.vendorId : 0)) };
    }
    for (const e of tlvs) if (e.kind === 'error') this.cfg.log.info({ error: teapErrorName(e.code) }, 'TEAP peer: server reported an error');

    // Server failure: answer Result=Failure and wait for EAP-Failure (RFC 9930 §3.9.3).
    if (result?.kind === 'result' && result.status === ResultStatus.Failure) {
      this.ended = true;
      this.inner?.dispose();
      try {
        this.cfg.tlvHandler?.serverFailed?.(tlvs);
      } catch (err) {
        // What the handler makes of the server's reasons must not change the answer to them.
        this.cfg.log.warn({ handler: this.cfg.tlvHandler?.name, err: err instanceof Error ? err.message : String(err) }, 'TEAP peer: the TLV handler could not read the server\'s failure');
      }
      const errs = tlvs.filter((t) => t.kind === 'error').map((t) => (t.kind === 'error' ? teapErrorName(t.code) : ''));
      return { kind: 'failure', tlvs: [tlv.result(ResultStatus.Failure)], reason: `server sent Result=Failure${errs.length ? ` (${errs.join(', ')})` : ''}` };
    }

    const out: TeapTlv[] = [];
    const ir = tlvs.find((t) => t.kind === 'intermediate-result');
    const cb = tlvs.find((t): t is CryptoBindingTlv => t.kind === 'crypto-binding');

    // 1. Crypto-Binding (with the keys of the inner method that just ended, if any).
    let cbResponse: CryptoBindingTlv | undefined;
    if (cb) {
      if (ir && ir.kind === 'intermediate-result' && ir.status !== ResultStatus.Success) throw new TeapTlvError('Crypto-Binding with Intermediate-Result=Failure');
      cbResponse = this.bind(cb);
    }

    // 2. Intermediate-Result.
    if (ir && ir.kind === 'intermediate-result') {
      // The inner method is over: a Request that looks like its last one starts something new.
      this.lastInner = undefined;
      if (ir.status === ResultStatus.Success) {
        // hostapd 2.10 and RFC 9930: a successful Intermediate-Result MUST come with Crypto-Binding.
        if (!cb) throw new TeapError(TeapErrorCode.TunnelCompromiseError, 'Intermediate-Result=Success without Crypto-Binding');
        out.push(tlv.intermediateResult(ResultStatus.Success));
      } else if (ir.status === ResultStatus.Failure) {
        this.pending = undefined;
        this.inner?.dispose();
        this.inner = undefined;
        out.push(tlv.intermediateResult(ResultStatus.Failure));
      } else {
        throw new TeapTlvError(`Intermediate-Result with unknown Status ${ir.status}`);
      }
    } else if (cb && !result) {
      throw new TeapTlvError('Crypto-Binding without Intermediate-Result or Result');
    }
    const ra = tlvs.find((t) => t.kind === 'request-action');

    // The TLV handler's share of the message: read before the Result is answered, so that what it
    // finds (e.g. an LDevID that is not for our key) can still turn the answer into a failure.
    const handler = this.cfg.tlvHandler;
    let raHandled = false;
    if (handler) {
      raHandled = ra?.kind === 'request-action' && !result && handler.acceptsRequestAction(ra);
      const claimed = tlvs.filter((t) => t.kind !== 'request-action' && handler.claims(t));
      if (raHandled || claimed.length > 0) {
        if (raHandled && this.pending) throw new TeapTlvError('Request-Action before the last inner method was bound');
        const step = await handler.handle({ ...(raHandled && ra?.kind === 'request-action' ? { requestAction: ra } : {}), tlvs: claimed });
        if (step.kind === 'failure') return this.failWith(step.code, `${handler.name}: ${step.reason}`);
        if (raHandled) {
          // No keys: a zero IMSK binds the handler's exchange, as the server's TLV method does.
          this.pending = { keys: {}, method: handler.name };
        }
        out.push(...step.tlvs);
      }
    }

    // 3. Result=Success (needs a verified Crypto-Binding in this message or an earlier round, Q9).
    if (result) {
      if (!cb && !this.cbVerifiedOnce) throw new TeapError(TeapErrorCode.TunnelCompromiseError, 'Result=Success without any Crypto-Binding');
      if (this.pending) throw new TeapError(TeapErrorCode.TunnelCompromiseError, 'Result=Success before the last inner method was bound');
      if (handler) {
        const verdict = handler.finish();
        if (!verdict.ok) return this.failWith(verdict.code, `${handler.name}: ${verdict.reason}`);
      }
      out.push(tlv.result(ResultStatus.Success));
      if (cbResponse) out.push(cbResponse);
      this.ended = true;
      this.inner?.dispose();
      const keys = this.chain.finalKeys(this.sentEmskMac);
      return { kind: 'success', tlvs: out, msk: keys.msk, emsk: keys.emsk };
    }
    if (cbResponse) out.push(cbResponse);
    if (raHandled) {
      // RFC 9930 §4.2.3: answer an Identity-Type with the type we authenticate as; the handler
      // authenticates the device itself, so the server's choice is echoed.
      const it = tlvs.find((t) => t.kind === 'identity-type');
      if (it && it.kind === 'identity-type' && (it.identityType === IdentityType.User || it.identityType === IdentityType.Machine)) {
        out.push(tlv.identityType(it.identityType));
      }
      return { kind: 'send', tlvs: out };
    }
    if (ra && ra.kind === 'request-action') {
      // This peer processes none of the TLVs a server may ask for; it declines by answering with a
      // Result carrying the Request-Action's Status (RFC 9930 §4.2.9).
      this.cfg.log.info({ status: ra.status, action: ra.action }, 'TEAP peer: declining the server\'s Request-Action');
      this.ended = true;
      this.inner?.dispose();
      if (ra.status === ResultStatus.Success && this.cbVerifiedOnce && !this.pending) {
        // Declining with Success is agreeing to end: the handler has the same say as on a Result.
        const verdict = handler?.finish();
        if (verdict && !verdict.ok) return this.failWith(verdict.code, `${handler!.name}: ${verdict.reason}`);
        const keys = this.chain.finalKeys(this.sentEmskMac);
        return { kind: 'success', tlvs: [...out, tlv.result(ResultStatus.Success)], msk: keys.msk, emsk: keys.emsk };
      }
      return { kind: 'failure', tlvs: [tlv.result(ResultStatus.Failure)], reason: `declined the server's Request-Action (Status ${ra.status})` };
    }

    // 4. Identity-Type, 5. EAP-Payload / Basic-Password-Auth-Req.
    const it = tlvs.find((t) => t.kind === 'identity-type');
    const payload = tlvs.find((t) => t.kind === 'eap-payload');
    const bpReq = tlvs.find((t) => t.kind === 'basic-password-auth-req');
    if (it && it.kind === 'identity-type') {
      if (!payload && !bpReq) throw new TeapTlvError('Identity-Type without EAP-Payload or Basic-Password-Auth-Req');
      const wanted: IdType | undefined = it.identityType === IdentityType.Machine ? 'machine' : it.identityType === IdentityType.User ? 'user' : undefined;
      // RFC 9930 §4.2.3: echo the requested type, or offer one we have.
      const chosen: IdType = wanted && this.credsFor(wanted) ? wanted : this.cfg.user ? 'user' : 'machine';
      this.lastInner = undefined;
      if (chosen !== this.idType) {
        this.inner?.dispose();
        this.inner = undefined;
      }
      this.idType = chosen;
      out.push(tlv.identityType(chosen === 'machine' ? IdentityType.Machine : IdentityType.User));
    }
    if (payload && payload.kind === 'eap-payload') {
      out.push(tlv.eapPayload(await this.innerEap(payload.eap)));
    } else if (bpReq && bpReq.kind === 'basic-password-auth-req') {
      out.push(this.basicPassword());
    }
    return { kind: 'send', tlvs: out };
  }

  private credsFor(t: IdType): TeapPeerCredentials | undefined {
    return t === 'machine' ? this.cfg.machine : this.cfg.user;
  }

  /** Verifies the server's Crypto-Binding and builds ours; folds in the pending inner method first. */
  private bind(cb: CryptoBindingTlv): CryptoBindingTlv {
    const pending = this.pending;
    if (pending) {
      this.chain = this.chainWith(pending, cb);
      this.pending = undefined;
      this.authenticatedTypes.push(this.idType);
    }
    const cmk = this.chain.cmk();
    const v = verifyCryptoBindingRequest(this.cb, cb, cmk);
    const resp = buildCryptoBindingResponse(this.cb, cb, cmk);
    this.sentEmskMac = (resp.flags & 1) !== 0;
    this.cbVerifiedOnce = true;
    this.cfg.log.debug({ emskMac: v.emskMacVerified, methods: this.chain.methods }, 'TEAP peer: Crypto-Binding verified');
    return resp;
  }

  /** The chain with `pending` folded in; for MSCHAPv2 with compat 'auto' the order whose MAC verifies. */
  private chainWith(pending: Pending, cb: CryptoBindingTlv): CompoundKeyChain {
    const isMschap = pending.eapType === EapType.MsChapV2 && pending.keys.msk !== undefined;
    const orders: ('hostapd-2.10' | 'rfc9930')[] = !isMschap ? ['hostapd-2.10'] : this.mschapOrder ? [this.mschapOrder] : ['hostapd-2.10', 'rfc9930'];
    let first: CompoundKeyChain | undefined;
    for (const order of orders) {
      const c = this.chain.clone();
      c.addInnerMethod(pending.keys, isMschap && order === 'rfc9930' ? swapMskHalves(pending.keys.msk!) : undefined);
      first ??= c;
      if (orders.length === 1 || requestMskMacMatches(this.cb, cb, c.cmk())) {
        if (isMschap && this.mschapOrder === undefined) {
          this.mschapOrder = order;
          this.cfg.log.info({ order }, 'TEAP peer: server uses this inner EAP-MSCHAPv2 key order');
        }
        return c;
      }
    }
    // Neither order verifies: keep the first so that verification reports the MAC failure.
    return first!;
  }

  private async innerEap(bytes: Uint8Array): Promise<Uint8Array> {
    // RFC 3748 §4.1: a retransmitted Request gets the Response we sent, not a second run of the
    // method (a server re-sends its outstanding Request when our Response was lost or stale).
    const last = this.lastInner;
    if (last && Buffer.from(bytes).equals(Buffer.from(last.request))) return last.response;
    const response = await this.innerEapOnce(bytes);
    this.lastInner = { request: bytes.slice(), response };
    return response;
  }

  private async innerEapOnce(bytes: Uint8Array): Promise<Uint8Array> {
    let p;
    try {
      p = decodeEap(bytes);
    } catch (err) {
      if (err instanceof EapProtocolError) throw new TeapTlvError(`malformed inner EAP packet: ${err.message}`);
      throw err;
    }
    if (p.code !== EapCode.Request) throw new TeapTlvError(`inner EAP Code ${p.code} from the server (RFC 9930: never Success/Failure inside)`);
    const creds = this.creds;
    const respond = (type: number, data: Uint8Array): Uint8Array => encodeEap({ code: EapCode.Response, identifier: p.identifier, type, data });
    if (p.type === EapType.Identity) {
      // A new inner EAP conversation (RFC 9930 §3.6.1): forget any previous inner method.
      this.inner?.dispose();
      this.inner = undefined;
      this.pending = undefined;
      this.innerIdentityAnswered = true;
      return respond(EapType.Identity, new Uint8Array(Buffer.from(creds?.identity ?? '', 'utf8')));
    }
    if (p.type === EapType.Notification) return respond(EapType.Notification, new Uint8Array(0));
    if (!creds || !this.innerIdentityAnswered) throw new TeapTlvError(`inner EAP type ${p.type} before EAP-Request/Identity`);
    if (!this.inner || this.inner.type !== p.type) {
      this.inner?.dispose();
      this.inner = createInnerPeerMethod(p.type, creds, this.cfg.random);
      if (!this.inner) {
        const types = allowedEapTypes(creds);
        this.cfg.log.info({ proposed: p.type, offered: types }, 'TEAP peer: Nak for inner EAP method');
        return respond(EapType.Nak, types.length ? Uint8Array.from(types) : Uint8Array.of(0));
      }
    }
    const step = await this.inner.process(p.data);
    if (step.kind === 'success') {
      this.pending = { keys: step.emsk ? { msk: step.msk, emsk: step.emsk } : { msk: step.msk }, eapType: this.inner.type, method: this.inner.name };
    } else if (step.kind === 'failure') {
      this.pending = undefined;
      this.cfg.log.info({ method: this.inner.name, reason: step.reason }, 'TEAP peer: inner method failed');
    }
    return respond(this.inner.type, step.response);
  }

  private basicPassword(): TeapTlv {
    const creds = this.creds;
    if (!creds || creds.password === undefined || !allowedMethods(creds).includes('basic-password')) {
      return tlv.nak(TlvType.BasicPasswordAuthReq);
    }
    const u = Buffer.from(creds.identity, 'utf8');
    const p = Buffer.from(creds.password, 'utf8');
    if (u.length < 1 || u.length > 255 || p.length < 1 || p.length > 255) return tlv.nak(TlvType.BasicPasswordAuthReq);
    // No keys: a zero IMSK binds this round once the server's Intermediate-Result arrives.
    this.pending = { keys: {}, method: 'basic-password' };
    return tlv.basicPasswordAuthResp(new Uint8Array(u), new Uint8Array(p));
  }

  private failWith(code: number, reason: string): Phase2PeerOutput {
    this.ended = true;
    this.inner?.dispose();
    this.cfg.log.info({ error: teapErrorName(code), reason }, 'TEAP peer: ending with Result=Failure');
    return { kind: 'failure', tlvs: [tlv.error(code), tlv.result(ResultStatus.Failure)], reason: `${teapErrorName(code)}: ${reason}` };
  }
}
