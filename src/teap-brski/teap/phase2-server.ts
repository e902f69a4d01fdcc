import type { EapMethod, Grant, NasFacts } from '../../eap-methods/method.js';
import { EapType } from '../../eap-methods/eap-packet.js';
import { swapMskHalves } from '../../eap-methods/mschapv2/ms-chap-v2.js';
import type { UserStore } from '../../store/users.js';
import type { Log } from '../../util/log.js';
import { TeapError, TeapErrorCode, TeapTlvError, teapErrorName } from './errors.js';
import {
  IdentityType,
  ResultStatus,
  TlvType,
  decodeTeapTlvs,
  tlv,
  tlvTypeOf,
  type CryptoBindingTlv,
  type EapPayloadTlv,
  type NakTlv,
  type TeapTlv,
} from './tlv-codec.js';
import type { CompoundKeyChain, CompoundMacKeys } from './compound-key-chain.js';
import { buildCryptoBindingRequest, verifyCryptoBindingResponse, type CryptoBindingContext } from './crypto-binding.js';
import type { TeapCompat } from './compat.js';
import { BASIC_PASSWORD, type TeapIdentityType, type TeapInnerStep, type TeapPolicy } from './policy.js';
import { InnerEapServer } from './inner-eap-server.js';
import { verifyBasicPassword } from './basic-password.js';

export interface Phase2ServerDeps {
  policy: TeapPolicy;
  compat: TeapCompat;
  users: Pick<UserStore, 'get'>;
  /** Inner EAP methods by name. */
  innerMethods: ReadonlyMap<string, EapMethod>;
  log: Log;
  conversationId: string;
  nas: NasFacts;
}

export interface Phase2Start {
  chain: CompoundKeyChain;
  cb: CryptoBindingContext;
  /** An authorized Phase-1 client certificate (identity = subject CN or subject). */
  clientCertificate?: { identity: string; deviceId?: string };
  /** Certificate-only authentication is allowed for this tunnel (policy + TLS version). */
  certificateOnly: boolean;
}

export type Phase2Output =
  | { kind: 'send'; tlvs: TeapTlv[] }
  | { kind: 'success'; msk: Uint8Array; emsk: Uint8Array; grant: Grant; keyChain: 'msk' | 'emsk' }
  | { kind: 'failure'; reason: string };

/** What has been authenticated so far, for the Grant and the Identity-Type rules. */
interface Authenticated {
  identityType: TeapIdentityType | undefined;
  identity: string;
  method: string;
}

type State =
  | { name: 'inner-eap'; eap: InnerEapServer; firstResponse: boolean }
  | { name: 'basic-password'; firstResponse: boolean; username?: string }
  /** Waiting for the peer's Intermediate-Result (and Crypto-Binding) before the next step. */
  | { name: 'intermediate-sent'; status: number; cb?: CryptoBindingTlv; cmk?: CompoundMacKeys }
  /** Waiting for the peer's Result (and Intermediate-Result / Crypto-Binding if we sent them). */
  | { name: 'result-sent'; status: number; withIntermediate: boolean; cb?: CryptoBindingTlv; cmk?: CompoundMacKeys }
  | { name: 'done' };

const IDENTITY_TYPE_VALUE: Record<TeapIdentityType, number> = { user: IdentityType.User, machine: IdentityType.Machine };
const IDENTITY_TYPE_NAME: Record<number, TeapIdentityType> = { [IdentityType.User]: 'user', [IdentityType.Machine]: 'machine' };
/** Large enough for EAP-TLS flights in one inner packet; the TLV rides in TLS records, not on the link. */
const INNER_MAX_EAP_PACKET = 16000;
/** TLVs a server never accepts from a peer: seeing one is "Unexpected TLVs Exchanged". */
const SERVER_ONLY_KINDS: ReadonlySet<TeapTlv['kind']> = new Set(['basic-password-auth-req', 'csr-attributes', 'authority-id', 'pkcs7']);

/**
 * The server's Phase-2 sequencer (RFC 9930 §3.6, §4.3): runs the policy's inner methods in order,
 * binds each to the tunnel with Intermediate-Result + Crypto-Binding, and ends with a protected
 * Result exchange. Sans-IO: decrypted TLV bytes in, TLVs to encrypt (or a verdict) out.
 */
export class Phase2Server {
  private state: State = { name: 'done' };
  private stepIndex = -1;
  private step: TeapInnerStep | undefined;
  /** Identity-Type of the running step as the peer answered it. */
  private stepType: TeapIdentityType | undefined;
  private readonly triedInStep = new Set<string>();
  private readonly authenticated: Authenticated[] = [];
  private readonly doneTypes = new Set<TeapIdentityType>();
  private methodsStarted = 0;
  private rounds = 0;
  private naks = 0;
  private lastPeerEmskMac = false;
  /** Set when the conversation will end in failure after the peer's final answer. */
  private failureReason = '';

  constructor(
    private readonly deps: Phase2ServerDeps,
    private readonly start: Phase2Start,
  ) {}

  private get log(): Log {
    return this.deps.log;
  }

  /** The first Phase-2 message (it may ride with the server's TLS Finished). */
  async begin(): Promise<Phase2Output> {
    const cert = this.start.clientCertificate;
    if (cert) this.authenticated.push({ identityType: undefined, identity: cert.identity, method: 'tls-client-certificate' });
    if (cert && this.start.certificateOnly) {
      this.log.info({ identity: cert.identity }, 'TEAP: Phase-1 client certificate accepted, certificate-only authentication');
      return this.sendResult(ResultStatus.Success, false);
    }
    return this.nextStep();
  }

  /** Ends Phase 2 before any inner method, e.g. for a rejected Phase-1 client certificate. */
  reject(code: TeapErrorCode, reason: string): Phase2Output {
    return this.sendFailure(code, reason, false);
  }

  async handle(plaintext: Uint8Array): Promise<Phase2Output> {
    if (this.state.name === 'done') return { kind: 'failure', reason: 'Phase-2 data after the conversation ended' };
    if (++this.rounds > this.deps.policy.maxPhase2Rounds) return this.fatal(TeapErrorCode.UnexpectedTlvsExchanged, `more than ${this.deps.policy.maxPhase2Rounds} Phase-2 rounds`);
    let tlvs: TeapTlv[];
    try {
      tlvs = decodeTeapTlvs(plaintext);
    } catch (err) {
      if (err instanceof TeapTlvError) return this.fatal(err.code, `malformed Phase-2 TLVs: ${err.message}`);
      throw err;
    }
    try {
      return await this.process(tlvs);
    } catch (err) {
      if (err instanceof TeapError) return this.fatal(err.code, err.message);
      throw err;
    }
  }

  dispose(): void {
    if (this.state.name === 'inner-eap') this.state.eap.dispose();
    this.state = { name: 'done' };
  }

  // ---- message processing (RFC 9930 §4.3 order) ----

  private async process(tlvs: TeapTlv[]): Promise<Phase2Output> {
    const state = this.state;
    if (state.name === 'result-sent' && state.status === ResultStatus.Failure) {
      // RFC 9930 §3.9.3: after our failure Result the peer's answer only unlocks the EAP-Failure.
      this.state = { name: 'done' };
      return { kind: 'failure', reason: this.failureReason };
    }

    const count = (kind: TeapTlv['kind']): number => tlvs.filter((t) => t.kind === kind).length;
    for (const kind of ['eap-payload', 'crypto-binding', 'result', 'intermediate-result', 'basic-password-auth-resp', 'identity-type'] as const) {
      if (count(kind) > 1) throw new TeapTlvError(`peer sent ${count(kind)} ${kind} TLVs in one message`);
    }
    if (count('eap-payload') && count('basic-password-auth-resp')) throw new TeapTlvError('peer sent EAP-Payload and Basic-Password-Auth-Resp together');
    if (count('pac')) throw new TeapTlvError('peer sent a PAC TLV (deprecated by RFC 9930 §4.2.12)');
    const wrongWay = tlvs.find((t) => SERVER_ONLY_KINDS.has(t.kind));
    if (wrongWay) throw new TeapTlvError(`peer sent a ${wrongWay.kind} TLV, which only a server sends`);

    const result = tlvs.find((t) => t.kind === 'result');
    const unsupported = tlvs.filter((t) => t.mandatory && (t.kind === 'unknown' || t.kind === 'vendor-specific'));
    if (unsupported.length > 0) {
      if (result) throw new TeapTlvError(`unsupported mandatory TLV type ${tlvTypeOf(unsupported[0]!)} in a message with a Result TLV`);
      if (++this.naks > this.deps.policy.maxNaks) throw new TeapTlvError('peer keeps sending unsupported mandatory TLVs');
      this.log.info({ types: unsupported.map(tlvTypeOf) }, 'TEAP: NAK for unsupported mandatory TLVs; rest of the message ignored');
      // RFC 9930 §4.2: NAK the unknown mandatory TLVs and ignore everything else in the message.
      return { kind: 'send', tlvs: unsupported.map((t): NakTlv => tlv.nak(tlvTypeOf(t), t.kind === 'vendor-specific' ? t.vendorId : 0)) };
    }

    for (const e of tlvs) {
      if (e.kind === 'error') this.log.info({ error: teapErrorName(e.code) }, 'TEAP: peer reported an error');
    }
    for (const h of tlvs) {
      if (h.kind === 'identity-hint') this.log.debug({ hint: Buffer.from(h.identity).toString('utf8') }, 'TEAP: peer Identity-Hint (informational only)');
    }

    // 1. Crypto-Binding is validated before any result is examined.
    const cb = tlvs.find((t): t is CryptoBindingTlv => t.kind === 'crypto-binding');
    const expectsCb = (state.name === 'intermediate-sent' || state.name === 'result-sent') && state.cb !== undefined;
    if (cb && !expectsCb) throw new TeapTlvError('peer sent a Crypto-Binding TLV we did not ask for');

    // Peer failure results end the conversation (fatal errors included).
    if (result && result.status !== ResultStatus.Success && result.status !== ResultStatus.Failure) {
      throw new TeapTlvError(`Result TLV with unknown Status ${result.status}`);
    }
    if (result?.status === ResultStatus.Failure) {
      const errs = tlvs.filter((t) => t.kind === 'error').map((t) => (t.kind === 'error' ? teapErrorName(t.code) : ''));
      this.state = { name: 'done' };
      return { kind: 'failure', reason: `peer sent Result=Failure${errs.length ? ` (${errs.join(', ')})` : ''}` };
    }
    if (result?.status === ResultStatus.Success && !(state.name === 'result-sent' && state.status === ResultStatus.Success)) {
      throw new TeapTlvError('peer sent Result=Success although the server sent no successful Result');
    }
    const ir = tlvs.find((t) => t.kind === 'intermediate-result');
    if (ir && state.name !== 'intermediate-sent' && !(state.name === 'result-sent' && state.withIntermediate)) {
      throw new TeapTlvError('peer sent an Intermediate-Result TLV no inner method asked for');
    }
    const ra = tlvs.find((t) => t.kind === 'request-action');

    switch (state.name) {
      case 'intermediate-sent':
        return this.onIntermediateAnswer(state, tlvs, cb);
      case 'result-sent':
        return this.onResultAnswer(state, tlvs, cb, ra !== undefined ? ra : undefined);
      case 'inner-eap':
        if (ra) return this.declineRequestAction(ra.status);
        return this.onInnerEap(state, tlvs);
      case 'basic-password':
        if (ra) return this.declineRequestAction(ra.status);
        return this.onBasicPassword(state, tlvs);
      case 'done':
        return { kind: 'failure', reason: 'Phase-2 data after the conversation ended' };
    }
  }

  // ---- step sequencing ----

  private remainingSteps(from: number): number[] {
    const out: number[] = [];
    const seq = this.deps.policy.sequence;
    for (let i = from; i < seq.length; i++) {
      const t = seq[i]!.identityType;
      if (t !== undefined && this.doneTypes.has(t)) continue;
      out.push(i);
    }
    return out;
  }

  private async nextStep(): Promise<Phase2Output> {
    const next = this.remainingSteps(this.stepIndex + 1)[0];
    if (next === undefined) return this.finish();
    this.stepIndex = next;
    this.step = this.deps.policy.sequence[next]!;
    this.stepType = this.step.identityType;
    this.triedInStep.clear();
    return this.startMethod(0);
  }

  /** All steps done: a successful Result if anything authenticated the peer, else failure. */
  private finish(): Phase2Output {
    if (this.authenticated.length === 0) {
      return this.sendFailure(TeapErrorCode.UnspecifiedAuthenticationFailure, 'no inner method authenticated the peer', false);
    }
    return this.sendResult(ResultStatus.Success, false);
  }

  private async startMethod(from: number): Promise<Phase2Output> {
    const step = this.step!;
    const k = step.methods.findIndex((m, i) => i >= from && !this.triedInStep.has(m));
    if (k < 0) return this.stepFailed(TeapErrorCode.InnerMethodNotSupported, `peer accepted none of the inner methods [${step.methods.join(', ')}]`, false);
    if (++this.methodsStarted > this.deps.policy.maxInnerMethods) {
      return this.sendFailure(TeapErrorCode.UnexpectedTlvsExchanged, `more than ${this.deps.policy.maxInnerMethods} inner methods`, false);
    }
    const name = step.methods[k]!;
    const prefix: TeapTlv[] = this.stepType ? [tlv.identityType(IDENTITY_TYPE_VALUE[this.stepType])] : [];
    if (name === BASIC_PASSWORD) {
      this.triedInStep.add(name);
      this.state = { name: 'basic-password', firstResponse: true };
      return { kind: 'send', tlvs: [...prefix, tlv.basicPasswordAuthReq(new Uint8Array(Buffer.from(this.deps.policy.basicPasswordPrompt, 'utf8')))] };
    }
    // All EAP methods of the step from here on, negotiated by EAP Nak inside one EAP conversation.
    const eapNames = step.methods.filter((m, i) => i >= k && m !== BASIC_PASSWORD && !this.triedInStep.has(m));
    for (const m of eapNames) this.triedInStep.add(m);
    const methods = eapNames.map((m) => this.deps.innerMethods.get(m)!);
    const eap = new InnerEapServer(methods, {
      conversationId: this.deps.conversationId,
      nas: this.deps.nas,
      log: this.log,
      maxEapPacket: INNER_MAX_EAP_PACKET,
    });
    this.state = { name: 'inner-eap', eap, firstResponse: true };
    return { kind: 'send', tlvs: [...prefix, tlv.eapPayload(eap.start())] };
  }

  /**
   * An inner method failed or was declined. `declined` (peer refused the method) lets the next
   * method of the step run; an authentication failure ends the step.
   */
  private async stepFailed(code: TeapErrorCode, reason: string, declined: boolean, nextMethodFrom?: number): Promise<Phase2Output> {
    if (declined && nextMethodFrom !== undefined) {
      const more = this.step!.methods.some((m, i) => i >= nextMethodFrom && !this.triedInStep.has(m));
      if (more) {
        this.log.info({ reason }, 'TEAP: inner method declined, trying the next one');
        return this.startMethod(nextMethodFrom);
      }
    }
    this.log.info({ step: this.stepIndex + 1, reason, error: teapErrorName(code) }, 'TEAP: inner method failed');
    if (this.step?.optional) {
      // Tell the peer this method is over, then continue (RFC 9930 §3.6: a failed inner method
      // need not fail the whole authentication).
      this.state = { name: 'intermediate-sent', status: ResultStatus.Failure };
      return { kind: 'send', tlvs: [tlv.intermediateResult(ResultStatus.Failure), tlv.error(code)] };
    }
    return this.sendFailure(code, reason, true);
  }

  /** A successful inner method: fold its keys into the chain and bind it with Crypto-Binding. */
  private async methodSucceeded(method: string, identity: string, keys: { msk?: Uint8Array; emsk?: Uint8Array }, eapType?: number): Promise<Phase2Output> {
    const chain = this.start.chain;
    let mskMacOnly = false;
    if (keys.emsk && chain.mskOnlySeen && this.deps.compat.emskCompoundMac === 'when-available') {
      if (this.deps.policy.emskAfterMskOnly === 'reject') {
        return this.sendFailure(
          TeapErrorCode.FirstInnerMethodDidNotDeriveEmsk,
          `forbidden inner method order: ${method} (exports an EMSK) after an MSK-only method; EMSK Compound-MACs would not interoperate (RFC 9930 §5.1, §6.2.5)`,
          true,
        );
      }
      mskMacOnly = true;
    }
    let imskMsk: Uint8Array | undefined;
    if (eapType === EapType.MsChapV2 && keys.msk && this.deps.compat.mschapv2ImskOrder === 'rfc9930') imskMsk = swapMskHalves(keys.msk);
    chain.addInnerMethod(keys, imskMsk);
    const type = this.stepType;
    if (type) this.doneTypes.add(type);
    this.authenticated.push({ identityType: type, identity, method });
    this.log.info({ step: this.stepIndex + 1, method, identity, identityType: type ?? null, emsk: keys.emsk !== undefined }, 'TEAP: inner method succeeded');

    const cmk = chain.cmk();
    const cb = buildCryptoBindingRequest(this.start.cb, cmk, { emskMac: this.deps.compat.emskCompoundMac === 'when-available' && !mskMacOnly });
    if (this.remainingSteps(this.stepIndex + 1).length > 0) {
      // hostapd 2.10 peers (Q4) reset their inner method on a new EAP-Payload before checking the
      // Crypto-Binding, so the next method starts only after this round.
      this.state = { name: 'intermediate-sent', status: ResultStatus.Success, cb, cmk };
      return { kind: 'send', tlvs: [tlv.intermediateResult(ResultStatus.Success), cb] };
    }
    this.state = { name: 'result-sent', status: ResultStatus.Success, withIntermediate: true, cb, cmk };
    return { kind: 'send', tlvs: [tlv.intermediateResult(ResultStatus.Success), tlv.result(ResultStatus.Success), cb] };
  }

  // ---- per-state handlers ----

  private checkIdentityType(tlvs: TeapTlv[], first: boolean): void {
    const it = tlvs.find((t) => t.kind === 'identity-type');
    if (!it || it.kind !== 'identity-type') return;
    if (!first) throw new TeapTlvError('Identity-Type TLV in the middle of an inner method');
    const answered = IDENTITY_TYPE_NAME[it.identityType];
    if (answered === this.stepType) return;
    // RFC 9930 §4.2.3: a different type is acceptable only if policy permits it and it has not
    // already been authenticated in this session.
    // A step without an Identity-Type accepts whatever type the peer names.
    const permitted = answered !== undefined && (this.stepType === undefined || this.deps.policy.sequence.some((s) => s.identityType === answered));
    if (!permitted || this.doneTypes.has(answered!)) {
      throw new TeapError(TeapErrorCode.UnspecifiedAuthorizationFailure, `peer answered Identity-Type ${it.identityType}, which policy does not permit here`);
    }
    this.log.info({ requested: this.stepType ?? null, answered }, 'TEAP: peer chose a different Identity-Type');
    this.stepType = answered;
  }

  private async onInnerEap(state: Extract<State, { name: 'inner-eap' }>, tlvs: TeapTlv[]): Promise<Phase2Output> {
    const nak = tlvs.find((t): t is NakTlv => t.kind === 'nak');
    const payload = tlvs.find((t): t is EapPayloadTlv => t.kind === 'eap-payload');
    if (!payload) {
      if (nak?.nakType === TlvType.EapPayload || tlvs.length === 0) {
        state.eap.dispose();
        return this.stepFailed(TeapErrorCode.InnerMethodNotSupported, 'peer declined inner EAP', true, 0);
      }
      throw new TeapTlvError(`expected an EAP-Payload TLV, got [${tlvs.map((t) => t.kind).join(', ')}]`);
    }
    this.checkIdentityType(tlvs, state.firstResponse);
    state.firstResponse = false;
    const out = await state.eap.handle(payload.eap);
    switch (out.kind) {
      case 'request':
        return { kind: 'send', tlvs: [tlv.eapPayload(out.eap)] };
      case 'success':
        state.eap.dispose();
        return this.methodSucceeded(out.method.name, out.grant.identity || out.identity, out.emsk ? { msk: out.msk, emsk: out.emsk } : { msk: out.msk }, out.method.type);
      case 'failure':
        state.eap.dispose();
        return this.stepFailed(TeapErrorCode.InnerMethodError, `${out.method?.name ?? 'inner EAP'}${out.identity !== undefined ? ` for "${out.identity}"` : ''}: ${out.reason}`, false);
      case 'refused': {
        state.eap.dispose();
        return this.stepFailed(TeapErrorCode.InnerMethodNotSupported, out.reason, true, 0);
      }
    }
  }

  private async onBasicPassword(state: Extract<State, { name: 'basic-password' }>, tlvs: TeapTlv[]): Promise<Phase2Output> {
    const nak = tlvs.find((t): t is NakTlv => t.kind === 'nak');
    const resp = tlvs.find((t) => t.kind === 'basic-password-auth-resp');
    if (!resp || resp.kind !== 'basic-password-auth-resp') {
      if (nak?.nakType === TlvType.BasicPasswordAuthReq || tlvs.length === 0) {
        return this.stepFailed(TeapErrorCode.InnerMethodNotSupported, 'peer declined Basic-Password-Auth', true, 0);
      }
      throw new TeapTlvError(`expected a Basic-Password-Auth-Resp TLV, got [${tlvs.map((t) => t.kind).join(', ')}]`);
    }
    this.checkIdentityType(tlvs, state.firstResponse);
    state.firstResponse = false;
    const r = await verifyBasicPassword(this.deps.users, resp);
    if (!r.ok) return this.stepFailed(TeapErrorCode.InnerMethodError, `Basic-Password-Auth: ${r.reason}`, false);
    return this.methodSucceeded(BASIC_PASSWORD, r.username, {});
  }

  private async onIntermediateAnswer(state: Extract<State, { name: 'intermediate-sent' }>, tlvs: TeapTlv[], cb: CryptoBindingTlv | undefined): Promise<Phase2Output> {
    if (state.cb) {
      if (!cb) throw new TeapError(TeapErrorCode.TunnelCompromiseError, 'peer answered without the Crypto-Binding TLV');
      this.lastPeerEmskMac = verifyCryptoBindingResponse(this.start.cb, state.cb, cb, state.cmk!, { requireEmskMac: this.deps.policy.requireEmskMac }).emskMacVerified;
    }
    const ir = tlvs.find((t) => t.kind === 'intermediate-result');
    if (!ir || ir.kind !== 'intermediate-result') throw new TeapTlvError('peer did not answer the Intermediate-Result');
    if (ir.status !== ResultStatus.Success && ir.status !== ResultStatus.Failure) throw new TeapTlvError(`Intermediate-Result with unknown Status ${ir.status}`);
    if (state.status === ResultStatus.Success && ir.status !== ResultStatus.Success) {
      return this.sendFailure(TeapErrorCode.InnerMethodError, 'peer reported the inner method as failed', false);
    }
    return this.nextStep();
  }

  private async onResultAnswer(
    state: Extract<State, { name: 'result-sent' }>,
    tlvs: TeapTlv[],
    cb: CryptoBindingTlv | undefined,
    ra: Extract<TeapTlv, { kind: 'request-action' }> | undefined,
  ): Promise<Phase2Output> {
    if (state.cb) {
      if (!cb) throw new TeapError(TeapErrorCode.TunnelCompromiseError, 'peer answered the Result without the Crypto-Binding TLV');
      this.lastPeerEmskMac = verifyCryptoBindingResponse(this.start.cb, state.cb, cb, state.cmk!, { requireEmskMac: this.deps.policy.requireEmskMac }).emskMacVerified;
    }
    const ir = tlvs.find((t) => t.kind === 'intermediate-result');
    if (ir && ir.kind === 'intermediate-result' && ir.status !== ResultStatus.Success) {
      return this.sendFailure(TeapErrorCode.InnerMethodError, 'peer reported the inner method as failed', false);
    }
    const result = tlvs.find((t) => t.kind === 'result');
    if (!result) {
      if (ra) return this.declineRequestAction(ra.status);
      throw new TeapTlvError('peer did not answer the Result TLV');
    }
    const keys = this.start.chain.finalKeys(this.lastPeerEmskMac);
    this.state = { name: 'done' };
    return { kind: 'success', msk: keys.msk, emsk: keys.emsk, keyChain: keys.chain, grant: this.grant() };
  }

  /**
   * We process no Request-Action (RFC 9930 §4.2.9 lets the receiver decline): decline by sending a
   * Result with the Request-Action's Status, as the RFC prescribes.
   */
  private declineRequestAction(status: number): Phase2Output {
    this.log.info({ status }, 'TEAP: declining the peer\'s Request-Action');
    if (status === ResultStatus.Success && this.authenticated.length > 0) return this.sendResult(ResultStatus.Success, false);
    if (status !== ResultStatus.Success && status !== ResultStatus.Failure) {
      return this.sendFailure(TeapErrorCode.UnexpectedTlvsExchanged, `Request-Action with unknown Status ${status}`, false);
    }
    return this.sendFailure(TeapErrorCode.UnspecifiedAuthenticationFailure, 'peer requested an action the server declines', false);
  }

  // ---- outgoing results ----

  private sendResult(status: number, withIntermediate: boolean): Phase2Output {
    const cmk = this.start.chain.cmk();
    const cb = buildCryptoBindingRequest(this.start.cb, cmk, { emskMac: this.deps.compat.emskCompoundMac === 'when-available' });
    this.state = { name: 'result-sent', status, withIntermediate, cb, cmk };
    return { kind: 'send', tlvs: [...(withIntermediate ? [tlv.intermediateResult(ResultStatus.Success)] : []), tlv.result(status), cb] };
  }

  /** Result=Failure + Error (RFC 9930 §3.9.3); the next peer message only unlocks EAP-Failure. */
  private sendFailure(code: TeapErrorCode, reason: string, innerMethodEnded: boolean): Phase2Output {
    this.failureReason = `${teapErrorName(code)}: ${reason}`;
    this.log.info({ error: teapErrorName(code), reason }, 'TEAP: ending Phase 2 with Result=Failure');
    this.state = { name: 'result-sent', status: ResultStatus.Failure, withIntermediate: false };
    const tlvs: TeapTlv[] = [];
    if (innerMethodEnded) tlvs.push(tlv.intermediateResult(ResultStatus.Failure));
    tlvs.push(tlv.error(code), tlv.result(ResultStatus.Failure));
    return { kind: 'send', tlvs };
  }

  /** A problem detected while processing a peer message: Result=Failure + Error (RFC 9930 §3.9.3). */
  private fatal(code: TeapErrorCode, reason: string): Phase2Output {
    if (this.state.name === 'inner-eap') this.state.eap.dispose();
    return this.sendFailure(code, reason, false);
  }

  /**
   * The user identity leads (RFC 9930 §3.7: Peer-Id from the inner method); a machine identity or
   * the Phase-1 certificate's serial becomes the device id.
   */
  private grant(): Grant {
    const cert = this.authenticated.find((a) => a.method === 'tls-client-certificate');
    const inner = this.authenticated.filter((a) => a !== cert);
    const machine = inner.find((a) => a.identityType === 'machine');
    const user = inner.find((a) => a.identityType === 'user') ?? inner.find((a) => a.identityType === undefined);
    const primary = user ?? machine ?? cert!;
    const g: Grant = { identity: primary.identity, method: 'teap' };
    if (machine && machine !== primary) g.deviceId = machine.identity;
    else if (cert && this.start.clientCertificate?.deviceId) g.deviceId = this.start.clientCertificate.deviceId;
    return g;
  }
}
