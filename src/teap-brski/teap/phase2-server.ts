import type { EapMethod, NasFacts } from '../../eap-methods/method.js';
import { EapType } from '../../eap-methods/eap-packet.js';
import { swapMskHalves } from '../../eap-methods/mschapv2/ms-chap-v2.js';
import type { UserStore } from '../../store/users.js';
import { nasKey, type LockoutGate } from '../../eap-methods/password-lockout.js';
import type { Log } from '../../util/log.js';
import { TeapError, TeapErrorCode, TeapTlvError, teapErrorClass, teapErrorName } from './errors.js';
import { IdentityType, ResultStatus, TlvType, decodeTeapTlvs, tlv, tlvTypeOf, type NakTlv, type TeapTlv } from './tlv-codec.js';
import type { CompoundKeyChain } from './compound-key-chain.js';
import type { CryptoBindingContext } from './crypto-binding.js';
import type { TeapCompat } from './compat.js';
import { BASIC_PASSWORD, type TeapIdentityType, type TeapPolicy } from './policy.js';
import { InnerEapServer } from './inner-eap-server.js';
import { verifyBasicPassword } from './basic-password.js';
import { PolicySequencer, type Phase1Certificate, type SequencerOptions } from './policy-sequencer.js';
import { validatePhase2Message, type Phase2Expectations, type Phase2Message } from './phase2-message.js';
import { ResultExchange, type PendingBinding, type TeapSuccess } from './result-exchange.js';
import { buildPhase2Grant } from './phase2-grant.js';
import type { TlvMethod, TlvMethodSession, TlvMethodStep, TunnelFacts } from './tlv-method.js';

export interface Phase2ServerDeps {
  policy: TeapPolicy;
  compat: TeapCompat;
  users: Pick<UserStore, 'get'>;
  /** Failure throttling for Basic-Password-Auth. */
  passwordLockout?: LockoutGate;
  /** Inner EAP methods by name. */
  innerMethods: ReadonlyMap<string, EapMethod>;
  /** Methods made of TLVs (TEAP-BRSKI enrolment) by name. */
  tlvMethods?: ReadonlyMap<string, TlvMethod>;
  log: Log;
  conversationId: string;
  nas: NasFacts;
}

export interface Phase2Start {
  chain: CompoundKeyChain;
  cb: CryptoBindingContext;
  /** An authorized Phase-1 client certificate (identity from its subject or SAN). */
  clientCertificate?: Phase1Certificate;
  /** Certificate-only authentication is allowed for this tunnel (policy + TLS version). */
  certificateOnly: boolean;
  /** Facts about the tunnel for TLV methods. */
  tunnel?: TunnelFacts;
  /** What the certificate may count for, and the realm a realm rule bound this policy to. */
  sequencer?: SequencerOptions;
}

export type Phase2Output =
  | { kind: 'send'; tlvs: TeapTlv[] }
  | TeapSuccess
  | { kind: 'failure'; reason: string };

type State =
  | { name: 'inner-eap'; eap: InnerEapServer; methods: string[]; firstResponse: boolean }
  | { name: 'basic-password'; firstResponse: boolean }
  | { name: 'tlv-method'; method: string; session: TlvMethodSession; firstResponse: boolean }
  /** Waiting for the peer's Intermediate-Result (and Crypto-Binding) before the next step. */
  | { name: 'intermediate-sent'; status: number; binding?: PendingBinding }
  /** Waiting for the peer's Result (and Intermediate-Result / Crypto-Binding if we sent them). */
  | { name: 'result-sent'; status: number; withIntermediate: boolean; binding?: PendingBinding }
  | { name: 'done' };

const IDENTITY_TYPE_VALUE: Record<TeapIdentityType, number> = { user: IdentityType.User, machine: IdentityType.Machine };
const IDENTITY_TYPE_NAME: Readonly<Record<number, TeapIdentityType>> = { [IdentityType.User]: 'user', [IdentityType.Machine]: 'machine' };
/** Large enough for EAP-TLS flights in one inner packet; the TLV rides in TLS records, not on the link. */
const INNER_MAX_EAP_PACKET = 16000;

/**
 * The server's Phase 2 (RFC 9930 §3.6, §4.3): runs each policy step's inner methods and binds them
 * to the tunnel. Sans-IO: decrypted TLV bytes in, TLVs to encrypt (or a verdict) out.
 *
 * Who decides what: `validatePhase2Message` applies the TLV rules; `PolicySequencer` alone says
 * whether a step is satisfied and whether Phase 2 is complete; `ResultExchange` sends and checks
 * Result/Crypto-Binding and is the only producer of a success verdict; `buildPhase2Grant` turns the
 * sequencer's record into the grant. This class only moves between them.
 */
export class Phase2Server {
  private state: State = { name: 'done' };
  private readonly sequencer: PolicySequencer;
  private readonly exchange: ResultExchange;
  private readonly triedInStep = new Set<string>();
  private methodsStarted = 0;
  private rounds = 0;
  private naks = 0;
  private innerMethodSucceeded = false;
  /** Set when the conversation will end in failure after the peer's final answer. */
  private failureReason = '';

  constructor(
    private readonly deps: Phase2ServerDeps,
    private readonly start: Phase2Start,
  ) {
    this.sequencer = new PolicySequencer(deps.policy, start.clientCertificate, start.certificateOnly, start.sequencer ?? {});
    this.exchange = new ResultExchange(start.chain, start.cb, {
      emskCompoundMac: deps.compat.emskCompoundMac === 'when-available',
      requireEmskMac: deps.policy.requireEmskMac,
    });
  }

  private get log(): Log {
    return this.deps.log;
  }

  /**
   * The peer has proved something: a Phase-1 certificate we accepted, or an inner method that
   * succeeded. A tunnel alone proves nothing (anyone completes an anonymous handshake), so only
   * then is the conversation protected in a full session table.
   */
  get peerProved(): boolean {
    return this.start.clientCertificate !== undefined || this.innerMethodSucceeded;
  }

  /** The first Phase-2 message (it may ride with the server's TLS Finished). */
  async begin(): Promise<Phase2Output> {
    return this.guard(async () => {
      const cert = this.start.clientCertificate;
      if (cert && this.start.certificateOnly) {
        this.log.info({ identity: cert.identity }, 'TEAP: Phase-1 client certificate accepted, certificate-only authentication');
      }
      return this.nextStep();
    });
  }

  /** Ends Phase 2 before any inner method, e.g. for a rejected Phase-1 client certificate. */
  reject(code: number, reason: string): Phase2Output {
    return this.sendFailure(code, reason, false);
  }

  async handle(plaintext: Uint8Array): Promise<Phase2Output> {
    if (this.state.name === 'done') return { kind: 'failure', reason: 'Phase-2 data after the conversation ended' };
    if (++this.rounds > this.deps.policy.maxPhase2Rounds) return this.fatal(TeapErrorCode.UnexpectedTlvsExchanged, `more than ${this.deps.policy.maxPhase2Rounds} Phase-2 rounds`);
    return this.guard(async () => this.process(decodeTeapTlvs(plaintext)));
  }

  dispose(): void {
    this.endMethod();
    this.state = { name: 'done' };
  }

  private endMethod(): void {
    if (this.state.name === 'inner-eap') this.state.eap.dispose();
    if (this.state.name === 'tlv-method') this.state.session.dispose();
  }

  /** Any TEAP error while processing becomes Result=Failure + its Error TLV (RFC 9930 §3.9.3). */
  private async guard(run: () => Promise<Phase2Output>): Promise<Phase2Output> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof TeapTlvError) return this.fatal(err.code, `malformed or unexpected Phase-2 TLVs: ${err.message}`);
      if (err instanceof TeapError) return this.fatal(err.code, err.message);
      throw err;
    }
  }

  // ---- message processing (RFC 9930 §4.3 order) ----

  private expectations(): Phase2Expectations {
    const s = this.state;
    const sentResultOrIr = s.name === 'intermediate-sent' || s.name === 'result-sent';
    return {
      cryptoBinding: sentResultOrIr && s.binding !== undefined,
      resultSuccess: s.name === 'result-sent' && s.status === ResultStatus.Success,
      intermediateResult: s.name === 'intermediate-sent' || (s.name === 'result-sent' && s.withIntermediate),
    };
  }

  private async process(tlvs: TeapTlv[]): Promise<Phase2Output> {
    const state = this.state;
    if (state.name === 'result-sent' && state.status === ResultStatus.Failure) {
      // RFC 9930 §3.9.3: after our failure Result the peer's answer only unlocks the EAP-Failure.
      this.state = { name: 'done' };
      return { kind: 'failure', reason: this.failureReason };
    }

    const v = validatePhase2Message(tlvs, this.expectations());
    if (v.kind === 'nak') {
      if (++this.naks > this.deps.policy.maxNaks) throw new TeapTlvError('peer keeps sending unsupported mandatory TLVs');
      this.log.info({ types: v.unsupported.map(tlvTypeOf) }, 'TEAP: NAK for unsupported mandatory TLVs; rest of the message ignored');
      return { kind: 'send', tlvs: v.unsupported.map((t): NakTlv => tlv.nak(tlvTypeOf(t), t.kind === 'vendor-specific' ? t.vendorId : 0)) };
    }
    const msg = v.message;
    for (const e of msg.errors) this.log.info({ error: teapErrorName(e.code) }, 'TEAP: peer reported an error');

    if (msg.result?.status === ResultStatus.Failure) {
      if (state.name === 'tlv-method') state.session.peerFailed?.(msg.errors.map((e) => e.code));
      this.endMethod();
      this.state = { name: 'done' };
      const errs = msg.errors.map((e) => teapErrorName(e.code));
      return { kind: 'failure', reason: `peer sent Result=Failure${errs.length ? ` (${errs.join(', ')})` : ''}` };
    }

    switch (state.name) {
      case 'intermediate-sent':
        return this.onIntermediateAnswer(state, msg);
      case 'result-sent':
        return this.onResultAnswer(state, msg);
      case 'inner-eap':
      case 'basic-password':
      case 'tlv-method':
        if (msg.requestAction) {
          // RFC 9930 §4.2.9's "decline with the Request-Action's Status" is for a receiver with
          // nothing left to require; a peer cannot talk its way past a running step.
          const cur = this.sequencer.current;
          throw new TeapError(
            TeapErrorCode.UnexpectedTlvsExchanged,
            `peer sent Request-Action (Status=${msg.requestAction.status}) instead of answering step ${(cur?.index ?? 0) + 1}; required steps are never skipped`,
          );
        }
        if (state.name === 'tlv-method') return this.onTlvMethod(state, msg, tlvs);
        return state.name === 'inner-eap' ? this.onInnerEap(state, msg) : this.onBasicPassword(state, msg);
      case 'done':
        return { kind: 'failure', reason: 'Phase-2 data after the conversation ended' };
    }
  }

  // ---- step sequencing ----

  private async nextStep(): Promise<Phase2Output> {
    const cur = this.sequencer.advance();
    if (!cur) return this.finish();
    this.triedInStep.clear();
    return this.startMethod(0);
  }

  /** No step left to run: Result=Success if the sequencer is satisfied, else failure. */
  private finish(): Phase2Output {
    if (!this.sequencer.isComplete()) {
      return this.sendFailure(TeapErrorCode.UnspecifiedAuthenticationFailure, 'no policy step authenticated the peer', false);
    }
    const { tlvs, binding } = this.exchange.successResult(this.sequencer, false);
    this.state = { name: 'result-sent', status: ResultStatus.Success, withIntermediate: false, binding };
    return { kind: 'send', tlvs };
  }

  private async startMethod(from: number): Promise<Phase2Output> {
    const cur = this.sequencer.current!;
    const methods = cur.runnable;
    const k = methods.findIndex((m, i) => i >= from && !this.triedInStep.has(m));
    if (k < 0) return this.stepFailed(TeapErrorCode.InnerMethodNotSupported, `peer accepted none of the inner methods [${methods.join(', ')}]`, false);
    if (++this.methodsStarted > this.deps.policy.maxInnerMethods) {
      return this.sendFailure(TeapErrorCode.UnexpectedTlvsExchanged, `more than ${this.deps.policy.maxInnerMethods} inner methods`, false);
    }
    const name = methods[k]!;
    const prefix: TeapTlv[] = cur.identityType ? [tlv.identityType(IDENTITY_TYPE_VALUE[cur.identityType])] : [];
    const tlvMethod = this.deps.tlvMethods?.get(name);
    if (tlvMethod) {
      this.triedInStep.add(name);
      if (!this.start.tunnel) throw new TeapError(TeapErrorCode.UnspecifiedAuthenticationInfrastructureProblem, `${name} needs the tunnel's facts`);
      const session = tlvMethod.createSession({ conversationId: this.deps.conversationId, nas: this.deps.nas, log: this.log, tunnel: this.start.tunnel });
      const state: Extract<State, { name: 'tlv-method' }> = { name: 'tlv-method', method: name, session, firstResponse: true };
      this.state = state;
      const first = await session.start();
      if (first.kind === 'send') return { kind: 'send', tlvs: [...prefix, ...first.tlvs] };
      return this.onTlvMethodStep(state, first);
    }
    if (name === BASIC_PASSWORD) {
      this.triedInStep.add(name);
      this.state = { name: 'basic-password', firstResponse: true };
      return { kind: 'send', tlvs: [...prefix, tlv.basicPasswordAuthReq(new Uint8Array(Buffer.from(this.deps.policy.basicPasswordPrompt, 'utf8')))] };
    }
    // All EAP methods of the step from here on, negotiated by EAP Nak inside one EAP conversation.
    const eapNames = methods.filter((m, i) => i >= k && m !== BASIC_PASSWORD && !this.triedInStep.has(m));
    for (const m of eapNames) this.triedInStep.add(m);
    const eap = new InnerEapServer(this.eapMethods(eapNames), {
      conversationId: this.deps.conversationId,
      nas: this.deps.nas,
      log: this.log,
      maxEapPacket: INNER_MAX_EAP_PACKET,
    });
    this.state = { name: 'inner-eap', eap, methods: eapNames, firstResponse: true };
    return { kind: 'send', tlvs: [...prefix, tlv.eapPayload(eap.start())] };
  }

  private eapMethods(names: readonly string[]): EapMethod[] {
    return names.map((m) => {
      const method = this.deps.innerMethods.get(m);
      if (!method) throw new TeapError(TeapErrorCode.InnerMethodNotSupported, `inner method ${m} is not configured`);
      return method;
    });
  }

  /**
   * An inner method failed or was declined. `declined` (peer refused the method) lets the next
   * method of the step run; an authentication failure ends the step.
   */
  private async stepFailed(code: number, reason: string, declined: boolean, nextMethodFrom?: number, extraTlvs: readonly TeapTlv[] = []): Promise<Phase2Output> {
    const cur = this.sequencer.current!;
    if (declined && nextMethodFrom !== undefined && cur.runnable.some((m, i) => i >= nextMethodFrom && !this.triedInStep.has(m))) {
      this.log.info({ reason }, 'TEAP: inner method declined, trying the next one');
      return this.startMethod(nextMethodFrom);
    }
    this.log.info({ step: cur.index + 1, reason, error: teapErrorName(code) }, 'TEAP: inner method failed');
    // An optional step may fail, or be declined, without failing TEAP (RFC 9930 §3.6), unless the
    // steps left could not succeed (none that can run here, or more methods than the policy still
    // allows): then the peer hears the real code at once, with Result=Failure. (A TLV method's
    // Unexpected TLVs is a peer that does not speak it, hostapd answering a Request-Action with
    // nothing: a decline. Malformed TLVs and a peer's own fatal error are thrown, and end the
    // conversation without coming here.)
    if (this.sequencer.failed() === 'skipped' && this.sequencer.methodsNeeded() <= this.deps.policy.maxInnerMethods - this.methodsStarted) {
      this.state = { name: 'intermediate-sent', status: ResultStatus.Failure };
      // The method's own TLVs stay out: they belong with a failure that ends the conversation (a
      // Retry-After with Retry-PKCS#10 "reconnect" would read as a wait inside this tunnel).
      if (teapErrorClass(code) === 'fatal') {
        // A fatal code travels only with Result=Failure (RFC 9930 §3.6.3), which would end the
        // conversation the policy continues: the peer is told of an inner method error instead.
        this.log.info({ step: cur.index + 1, error: teapErrorName(code) }, 'TEAP: optional step skipped; its fatal error is sent as Inner Method Error');
        return { kind: 'send', tlvs: [tlv.intermediateResult(ResultStatus.Failure), tlv.error(TeapErrorCode.InnerMethodError)] };
      }
      return { kind: 'send', tlvs: [tlv.intermediateResult(ResultStatus.Failure), tlv.error(code)] };
    }
    return this.sendFailure(code, reason, true, extraTlvs);
  }

  /** A successful inner method: the sequencer records it, its keys join the chain, Crypto-Binding binds it. */
  private async methodSucceeded(method: string, identity: string, keys: { msk?: Uint8Array; emsk?: Uint8Array }, eapType?: number, finalTlvs: TeapTlv[] = [], deviceId?: string, certificate?: Uint8Array): Promise<Phase2Output> {
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
    const auth = this.sequencer.succeeded(method, identity, deviceId, certificate);
    this.innerMethodSucceeded = true;
    let imskMsk: Uint8Array | undefined;
    if (eapType === EapType.MsChapV2 && keys.msk && this.deps.compat.mschapv2ImskOrder === 'rfc9930') imskMsk = swapMskHalves(keys.msk);
    chain.addInnerMethod(keys, imskMsk);
    this.log.info({ step: auth.step + 1, method, identity, identityType: auth.identityType ?? null, emskAvailable: keys.emsk !== undefined }, 'TEAP: inner method succeeded');

    const binding = this.exchange.bind(mskMacOnly);
    if (this.sequencer.hasPending()) {
      // hostapd 2.10 peers (Q4) reset their inner method on a new EAP-Payload before checking the
      // Crypto-Binding, so the next method starts only after this round.
      this.state = { name: 'intermediate-sent', status: ResultStatus.Success, binding };
      return { kind: 'send', tlvs: [...finalTlvs, tlv.intermediateResult(ResultStatus.Success), binding.cb] };
    }
    const { tlvs } = this.exchange.successResult(this.sequencer, true, binding);
    this.state = { name: 'result-sent', status: ResultStatus.Success, withIntermediate: true, binding };
    return { kind: 'send', tlvs: [...finalTlvs, ...tlvs] };
  }

  // ---- per-state handlers ----

  /** The peer's Identity-Type on the first answer of a method; the sequencer decides what it means. */
  private checkIdentityType(msg: Phase2Message, state: Extract<State, { name: 'inner-eap' | 'basic-password' | 'tlv-method' }>): void {
    const it = msg.identityType;
    if (!it) return;
    if (!state.firstResponse) throw new TeapTlvError('Identity-Type TLV in the middle of an inner method');
    const before = this.sequencer.current!;
    const cur = this.sequencer.answerIdentityType(it.identityType, IDENTITY_TYPE_NAME[it.identityType]);
    if (cur === before) return;
    // The method in flight must belong to the step the peer switched to.
    if (state.name === 'basic-password' || state.name === 'tlv-method') {
      const name = state.name === 'basic-password' ? BASIC_PASSWORD : state.method;
      if (!cur.runnable.includes(name)) {
        throw new TeapError(TeapErrorCode.UnspecifiedAuthorizationFailure, `peer switched to Identity-Type ${cur.identityType}, whose step ${cur.index + 1} does not allow ${name}`);
      }
      this.triedInStep.clear();
      this.triedInStep.add(name);
    } else {
      const allowed = state.methods.filter((m) => cur.runnable.includes(m));
      if (allowed.length === 0) {
        throw new TeapError(TeapErrorCode.UnspecifiedAuthorizationFailure, `peer switched to Identity-Type ${cur.identityType}, whose step ${cur.index + 1} allows none of [${state.methods.join(', ')}]`);
      }
      state.eap.restrictMethods(this.eapMethods(allowed));
      state.methods = allowed;
      this.triedInStep.clear();
      for (const m of allowed) this.triedInStep.add(m);
    }
    this.log.info({ requested: before.identityType ?? null, answered: cur.identityType ?? null, step: cur.index + 1 }, 'TEAP: peer chose a different Identity-Type');
  }

  private async onInnerEap(state: Extract<State, { name: 'inner-eap' }>, msg: Phase2Message): Promise<Phase2Output> {
    const payload = msg.eapPayload;
    if (!payload) {
      if (msg.nak?.nakType === TlvType.EapPayload || msg.empty) {
        state.eap.dispose();
        return this.stepFailed(TeapErrorCode.InnerMethodNotSupported, 'peer declined inner EAP', true, 0);
      }
      throw new TeapTlvError('expected an EAP-Payload TLV');
    }
    this.checkIdentityType(msg, state);
    state.firstResponse = false;
    const out = await state.eap.handle(payload.eap);
    switch (out.kind) {
      case 'request':
        return { kind: 'send', tlvs: [tlv.eapPayload(out.eap)] };
      case 'success':
        state.eap.dispose();
        // The identity is the one the method verified, never the peer's EAP-Identity claim.
        // An inner EAP-TLS proved its certificate (revocation is asked about it again before Success);
        // what another inner method names as a certificate proves nothing.
        return this.methodSucceeded(
          out.method.name, out.grant.identity, out.emsk ? { msk: out.msk, emsk: out.emsk } : { msk: out.msk }, out.method.type, [], undefined,
          out.method.type === EapType.Tls ? out.grant.certificate : undefined,
        );
      case 'failure':
        state.eap.dispose();
        return this.stepFailed(TeapErrorCode.InnerMethodError, `${out.method?.name ?? 'inner EAP'}${out.identity !== undefined ? ` for "${out.identity}"` : ''}: ${out.reason}`, false);
      case 'refused':
        state.eap.dispose();
        return this.stepFailed(TeapErrorCode.InnerMethodNotSupported, out.reason, true, 0);
    }
  }

  private async onBasicPassword(state: Extract<State, { name: 'basic-password' }>, msg: Phase2Message): Promise<Phase2Output> {
    const resp = msg.basicPasswordResp;
    if (!resp) {
      if (msg.nak?.nakType === TlvType.BasicPasswordAuthReq || msg.empty) {
        return this.stepFailed(TeapErrorCode.InnerMethodNotSupported, 'peer declined Basic-Password-Auth', true, 0);
      }
      throw new TeapTlvError('expected a Basic-Password-Auth-Resp TLV');
    }
    this.checkIdentityType(msg, state);
    state.firstResponse = false;
    const r = await verifyBasicPassword(this.deps.users, resp, {
      ...(this.deps.passwordLockout ? { lockout: this.deps.passwordLockout } : {}),
      nas: nasKey(this.deps.nas),
    });
    if (!r.ok) return this.stepFailed(TeapErrorCode.InnerMethodError, `Basic-Password-Auth: ${r.reason}`, false);
    return this.methodSucceeded(BASIC_PASSWORD, r.username, {});
  }

  private async onTlvMethod(state: Extract<State, { name: 'tlv-method' }>, msg: Phase2Message, tlvs: readonly TeapTlv[]): Promise<Phase2Output> {
    this.checkIdentityType(msg, state);
    state.firstResponse = false;
    return this.onTlvMethodStep(state, await state.session.step(tlvs));
  }

  private async onTlvMethodStep(state: Extract<State, { name: 'tlv-method' }>, step: TlvMethodStep): Promise<Phase2Output> {
    switch (step.kind) {
      case 'send':
        return { kind: 'send', tlvs: step.tlvs };
      case 'success':
        state.session.dispose();
        return this.methodSucceeded(state.method, step.identity, {}, undefined, step.finalTlvs, step.deviceId);
      case 'failure':
        state.session.dispose();
        // A TLV method's own error code (e.g. MASA-Refused) travels with the failure, and its TLVs.
        return this.stepFailed(step.code, `${state.method}: ${step.reason}`, false, undefined, step.tlvs);
    }
  }

  private async onIntermediateAnswer(state: Extract<State, { name: 'intermediate-sent' }>, msg: Phase2Message): Promise<Phase2Output> {
    if (state.binding) this.exchange.checkPeerBinding(state.binding, msg.cryptoBinding);
    const ir = msg.intermediateResult;
    if (!ir) throw new TeapTlvError('peer did not answer the Intermediate-Result');
    if (state.status === ResultStatus.Success && ir.status !== ResultStatus.Success) {
      return this.sendFailure(TeapErrorCode.InnerMethodError, 'peer reported the inner method as failed', false);
    }
    if (msg.requestAction) this.log.info({ status: msg.requestAction.status }, 'TEAP: peer Request-Action ignored; the policy\'s next step runs');
    return this.nextStep();
  }

  private async onResultAnswer(state: Extract<State, { name: 'result-sent' }>, msg: Phase2Message): Promise<Phase2Output> {
    if (state.binding) this.exchange.checkPeerBinding(state.binding, msg.cryptoBinding);
    if (msg.intermediateResult && msg.intermediateResult.status !== ResultStatus.Success) {
      return this.sendFailure(TeapErrorCode.InnerMethodError, 'peer reported the inner method as failed', false);
    }
    if (!msg.result) {
      if (msg.requestAction) return this.declineRequestAction(msg.requestAction.status);
      throw new TeapTlvError('peer did not answer the Result TLV');
    }
    const success = this.exchange.conclude(this.sequencer, (s) => buildPhase2Grant(s.authentications(), this.start.clientCertificate));
    this.state = { name: 'done' };
    return success;
  }

  /**
   * A Request-Action after our Result=Success (RFC 9930 C.9/C.10). We process none, so we decline
   * (§4.2.9): a Result carrying the Request-Action's Status. Success is still only possible because
   * the sequencer is complete; the peer's Status cannot make it so.
   */
  private declineRequestAction(status: number): Phase2Output {
    this.log.info({ status }, 'TEAP: declining the peer\'s Request-Action');
    if (status === ResultStatus.Success) {
      const { tlvs, binding } = this.exchange.successResult(this.sequencer, false);
      this.state = { name: 'result-sent', status: ResultStatus.Success, withIntermediate: false, binding };
      return { kind: 'send', tlvs };
    }
    return this.sendFailure(TeapErrorCode.UnspecifiedAuthenticationFailure, 'peer requested an action the server declines', false);
  }

  // ---- outgoing failure ----

  /** Result=Failure + Error (RFC 9930 §3.9.3); the next peer message only unlocks EAP-Failure. */
  private sendFailure(code: number, reason: string, innerMethodEnded: boolean, extraTlvs: readonly TeapTlv[] = []): Phase2Output {
    this.failureReason = `${teapErrorName(code)}: ${reason}`;
    this.log.info({ error: teapErrorName(code), reason }, 'TEAP: ending Phase 2 with Result=Failure');
    this.state = { name: 'result-sent', status: ResultStatus.Failure, withIntermediate: false };
    return { kind: 'send', tlvs: ResultExchange.failureResult(code, innerMethodEnded, extraTlvs) };
  }

  /** A problem detected while processing a peer message. */
  private fatal(code: number, reason: string): Phase2Output {
    this.endMethod();
    return this.sendFailure(code, reason, false);
  }
}
