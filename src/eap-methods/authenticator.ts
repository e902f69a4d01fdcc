import { randomInt } from 'node:crypto';
import type { Log } from '../util/log.js';
import { clipForLog, summariseList } from '../util/log-fields.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { Conversation } from './conversation.js';
import { bindingMismatch } from './conversation-binding.js';
import { EapCode, EapType, decodeEap, eapFailure, eapRequest, eapSuccess, type EapPacket, type EapResponse } from './eap-packet.js';
import { EapProtocolError } from './errors.js';
import type { Grant, MethodContext, NasFacts, Step } from './method.js';
import type { MethodSelector } from './method-selection.js';
import type { MethodRegistry } from './registry.js';
import { SessionTable, type Removal, type SessionTableStats } from './session-table.js';
import type { SheddingMonitor } from '../util/shedding.js';
import { NO_EAP_OBSERVER, type ConversationEnd, type EapObserver } from './observer.js';

export interface EapAuthenticatorLimits {
  maxSessions: number;
  idleTimeoutMs: number;
  /** Round trips per conversation before it is abandoned (FreeRADIUS: 50). */
  maxRounds: number;
  /** Invalid or unexpected Responses tolerated per conversation (RFC 3579 §2.2 suggests a few). */
  maxInvalidPackets: number;
  /** Default EAP packet size; Framed-MTU − 4 lowers it per conversation (RFC 3579 §2.4). */
  eapPacketSize: number;
  /** Share of maxSessions one NAS may hold (session-table.ts). */
  clientShare: number;
  /** Conversations one Calling-Station-Id may hold on one NAS; a new one replaces the oldest. */
  stationConversations: number;
  /** Responses after which a conversation never gives way to a newcomer (0: only the method's `established`). */
  protectAfterRounds: number;
  /** The worker's octet leading every State, with several worker threads (session-table.ts). */
  statePrefix?: number;
}

/** One warning line per kind and RADIUS client per window (the RADIUS layer uses the same). */
const WARNING_WINDOW_MS = 10_000;

export const DEFAULT_EAP_LIMITS: EapAuthenticatorLimits = {
  maxSessions: 16384,
  idleTimeoutMs: 60_000,
  maxRounds: 50,
  maxInvalidPackets: 5,
  eapPacketSize: 1020,
  clientShare: 0.5,
  stationConversations: 1,
  protectAfterRounds: 10,
};

/** What arrived in one Access-Request, in EAP terms. */
export interface EapInput {
  /** Joined EAP-Message attributes; an empty array is EAP-Start. */
  eap: Uint8Array;
  state?: Uint8Array;
  framedMtu?: number;
  /**
   * Largest EAP packet the reply to this request can carry (the carrier's own limit, e.g. RADIUS
   * with echoed Proxy-States). A new conversation is sized to it; an ongoing one whose packets
   * would no longer fit is not advanced.
   */
  maxEapPacket?: number;
  nas: NasFacts;
}

export type EapOutcome =
  | { kind: 'challenge'; eap: Uint8Array; state: Uint8Array; conversationId: string }
  | {
      kind: 'accept';
      eap: Uint8Array;
      msk: Uint8Array;
      emsk?: Uint8Array;
      sessionId?: Uint8Array;
      grant: Grant;
      identity: string;
      conversationId: string;
    }
  | { kind: 'reject'; eap: Uint8Array; reason: string; conversationId?: string }
  | { kind: 'drop'; reason: string };

/** The table's own reasons for ending a conversation, as counted. */
const END_OF_REMOVAL: Record<Exclude<Removal, 'finished'>, ConversationEnd> = {
  'idle timeout': 'idle-timeout',
  'evicted for a new conversation (no Response yet)': 'evicted',
  'evicted for a new conversation (idle longest)': 'evicted',
  'replaced by a new conversation from the same station': 'replaced',
  shutdown: 'shutdown',
};

/**
 * The EAP authenticator of RFC 3748 §7 behind RADIUS: routes Responses to conversations, runs
 * Identity and Nak handling, and lets the chosen method do the rest. It knows nothing of RADIUS.
 */
export class EapAuthenticator {
  private readonly table: SessionTable;
  private readonly sweeper: NodeJS.Timeout;
  private readonly limiter = new LogLimiter(WARNING_WINDOW_MS);
  /** Methods already warned about for a grant in another name (a plugin bug, reported once). */
  private readonly misnamedGrants = new Set<string>();

  constructor(
    private readonly registry: MethodRegistry,
    private readonly selector: MethodSelector,
    private readonly limits: EapAuthenticatorLimits,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
    /** Told when a conversation is evicted or refused for want of room. */
    private readonly shedding?: SheddingMonitor,
    /** Told how conversations begin and end, for metrics. */
    private readonly observer: EapObserver = NO_EAP_OBSERVER,
  ) {
    this.table = new SessionTable(limits, (c, why) => {
      this.disposeSession(c);
      if (why === 'finished') return;
      this.observer.conversationEnded(c.methodName, END_OF_REMOVAL[why], c.rounds + 1);
      this.log.debug({ conversation: c.id, why }, 'EAP conversation ended');
    });
    this.sweeper = setInterval(() => {
      // A timer callback that throws would be an uncaught exception: the process would end.
      try {
        this.table.expire(this.now());
      } catch (err) {
        this.log.error({ err }, 'EAP idle sweep failed');
      }
    }, Math.max(1000, Math.floor(limits.idleTimeoutMs / 4)));
    this.sweeper.unref();
  }

  get activeConversations(): number {
    return this.table.size;
  }

  /** Conversations by progress, and evictions and refusals since start. */
  get admission(): SessionTableStats {
    return this.table.stats;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.table.clear();
  }

  async handle(input: EapInput): Promise<EapOutcome> {
    let conversation = input.state ? this.table.get(input.state) : undefined;
    let unknownState = 'unknown or expired State';
    if (conversation) {
      const mismatch = bindingMismatch(conversation.nas, input.nas);
      if (mismatch) {
        // Treated as an unknown State. The real conversation is left exactly as it was: not ended,
        // its Identifier, rounds, invalid-packet count and idle time untouched.
        this.warn(
          `binding|${input.nas.clientName}`,
          { conversation: conversation.id, client: input.nas.clientName, fact: mismatch.fact, began: clipForLog(mismatch.began), now: clipForLog(mismatch.now) },
          'State of a conversation presented by another client, NAS or station: treated as unknown',
        );
        unknownState = `unknown State here (its conversation began with another ${mismatch.fact})`;
        conversation = undefined;
      }
    }
    if (conversation && !conversation.busy && this.now() - conversation.lastSeen > this.limits.idleTimeoutMs) {
      // The sweep runs periodically; a lookup must not revive what is already past its time.
      this.table.end(conversation, 'idle timeout');
      conversation = undefined;
    }

    if (input.eap.length === 0) {
      // EAP-Start from the NAS (RFC 3579 §2.1): begin with Identity, whatever State says.
      return this.begin(input, undefined);
    }

    let packet: EapPacket;
    try {
      packet = decodeEap(input.eap);
    } catch (err) {
      if (!(err instanceof EapProtocolError)) throw err;
      if (conversation) return this.invalid(conversation, `malformed EAP: ${err.message}`);
      this.observer.stray('malformed');
      return { kind: 'reject', eap: eapFailure(0), reason: `malformed EAP (${err.code}): ${err.message}` };
    }
    if (packet.code !== EapCode.Response) {
      // Role reversal is not supported (RFC 3579 §2.6.2).
      if (conversation) this.finish(conversation, 'protocol-error');
      else this.observer.stray('not-response');
      return { kind: 'reject', eap: eapFailure(packet.identifier), reason: `EAP code ${packet.code} from the peer` };
    }

    if (!conversation) {
      if (packet.type === EapType.Identity) return this.begin(input, packet);
      this.observer.stray(input.state ? 'unknown-state' : 'not-identity');
      return {
        kind: 'reject',
        eap: eapFailure(packet.identifier),
        reason: input.state ? unknownState : 'EAP Response without State that is not an Identity',
      };
    }

    if (conversation.busy) return { kind: 'drop', reason: 'a Response for this conversation is still being processed' };
    if (input.maxEapPacket !== undefined && input.maxEapPacket < conversation.maxEapPacket) {
      // Checked before anything changes: the reply could not carry this conversation's packets.
      return { kind: 'drop', reason: `the reply has room for ${input.maxEapPacket} octets of EAP, this conversation sends up to ${conversation.maxEapPacket}` };
    }
    if (packet.identifier !== conversation.outstandingId) {
      return this.invalid(conversation, `EAP Identifier ${packet.identifier} does not match the outstanding Request ${conversation.outstandingId}`);
    }
    this.table.touch(conversation, this.now());
    conversation.busy = true;
    try {
      return await this.respond(conversation, packet);
    } finally {
      conversation.busy = false;
    }
  }

  private async begin(input: EapInput, identityResponse: EapResponse | undefined): Promise<EapOutcome> {
    const mtu = input.framedMtu !== undefined && input.framedMtu >= 64 ? input.framedMtu - 4 : Infinity;
    const init = {
      clientName: input.nas.clientName,
      nas: input.nas,
      ...(input.nas.callingStationId !== undefined ? { callingStationId: input.nas.callingStationId } : {}),
      // Starting from the NAS's Identity Response, our first Request follows its Identifier.
      outstandingId: identityResponse ? identityResponse.identifier : randomInt(256),
      lastRequest: new Uint8Array(0),
      rounds: 0,
      methodRounds: 0,
      triedMethods: [],
      invalidPackets: 0,
      allowed: [],
      methodAnswered: false,
      // Busy until its first Request is out: room-making must not dispose a method mid-start.
      busy: true,
      maxEapPacket: Math.min(this.limits.eapPacketSize, mtu, input.maxEapPacket ?? Infinity),
    };
    const admission = this.table.create(init, this.now());
    if (admission.kind === 'refused') {
      this.shedding?.note('eap-refused');
      return { kind: 'drop', reason: admission.reason };
    }
    if (admission.evicted > 0) this.shedding?.note('eap-evicted');
    const conversation = admission.conversation;
    try {
      if (!identityResponse) return this.challenge(conversation, EapType.Identity, new Uint8Array(0));
      return await this.onIdentity(conversation, identityResponse);
    } finally {
      conversation.busy = false;
    }
  }

  private async respond(c: Conversation, packet: EapResponse): Promise<EapOutcome> {
    c.rounds++;
    if (c.rounds > this.limits.maxRounds) return this.fail(c, packet.identifier, 'too-many-rounds', `more than ${this.limits.maxRounds} round trips`);

    if (!c.session) {
      if (packet.type === EapType.Identity) return this.onIdentity(c, packet);
      return this.invalid(c, `Response type ${packet.type} before an Identity`);
    }
    if (packet.type === EapType.Notification) return this.invalid(c, 'unsolicited Notification Response');
    if (packet.type === EapType.Nak) {
      if (c.methodAnswered) return this.invalid(c, 'Nak after the method had started (RFC 3748 §2.1)');
      return this.onNak(c, packet);
    }
    if (packet.type !== c.method!.type) return this.invalid(c, `Response type ${packet.type} while running ${c.method!.name}`);
    c.methodAnswered = true;
    let step: unknown;
    try {
      step = await c.session.step(packet.data);
    } catch (err) {
      this.log.error({ conversation: c.id, method: c.method!.name, err }, 'EAP method threw');
      return this.fail(c, packet.identifier, 'method-error', `${c.method!.name} internal error`);
    }
    return this.apply(c, packet.identifier, step, true);
  }

  private async onIdentity(c: Conversation, packet: EapResponse): Promise<EapOutcome> {
    // RFC 3748 §5.1: no NUL terminator; anything from a NUL on is not part of the identity.
    const raw = Buffer.from(packet.data).toString('utf8');
    const nul = raw.indexOf('\0');
    const identity = nul >= 0 ? raw.slice(0, nul) : raw;
    c.identity = identity;
    c.allowed = this.selector.methodsFor(identity).filter((name) => this.registry.get(name));
    const first = c.allowed[0];
    if (first === undefined) return this.fail(c, packet.identifier, 'no-method', `no EAP method is configured for identity "${clipForLog(identity)}"`);
    return this.startMethod(c, first, packet.identifier);
  }

  private async onNak(c: Conversation, packet: EapResponse): Promise<EapOutcome> {
    const offered = [...packet.data];
    // Each method once: a peer Nak'ing back and forth would otherwise hold the conversation open
    // for maxRounds without ever answering a method.
    const candidate = c.allowed.find((name) => {
      const m = this.registry.get(name)!;
      return m.type !== c.method!.type && offered.includes(m.type) && !c.triedMethods.includes(name);
    });
    if (candidate === undefined) {
      return this.fail(c, packet.identifier, 'no-method', `peer Nak'd ${c.method!.name} and offered ${summariseList(offered)}, none allowed for this identity and not yet tried`);
    }
    this.disposeSession(c);
    return this.startMethod(c, candidate, packet.identifier);
  }

  private async startMethod(c: Conversation, name: string, responseId: number): Promise<EapOutcome> {
    const method = this.registry.get(name)!;
    c.method = method;
    c.methodName = name;
    c.methodAnswered = false;
    c.methodRounds = 0;
    c.triedMethods.push(name);
    this.observer.methodStarted(name);
    // Methods may be plugins: whatever they throw or reject ends this conversation only.
    try {
      c.session = method.createSession(new ConversationContext(c.identity ?? '', c.id, c.maxEapPacket, c.nas, this.log, name));
    } catch (err) {
      this.log.error({ conversation: c.id, method: name, err }, 'EAP method failed to create a session');
      return this.fail(c, responseId, 'method-error', `${name} failed to create a session`);
    }
    let step: unknown;
    try {
      step = await c.session.start();
    } catch (err) {
      this.log.error({ conversation: c.id, method: name, err }, 'EAP method failed to start');
      return this.fail(c, responseId, 'method-error', `${name} failed to start`);
    }
    return this.apply(c, responseId, step);
  }

  /** `answered`: the step is the method's answer to a Response of its own type (not its start). */
  private apply(c: Conversation, responseId: number, result: unknown, answered = false): EapOutcome {
    const step = checkedStep(result);
    if (typeof step === 'string') {
      this.log.error({ conversation: c.id, method: c.method!.name, problem: step }, 'EAP method returned a malformed step: refused');
      return this.fail(c, responseId, 'method-error', `${c.method!.name} returned a malformed step (${step})`);
    }
    switch (step.kind) {
      case 'request':
        if (answered) c.methodRounds++;
        // By count only for a method that never says so itself: the Responses it took in are its
        // only sign of a peer that answers in kind. A declaring method's can be fragments of a
        // message never finished, and Identity, Naks and Responses it discarded count for none.
        if (step.established || (this.limits.protectAfterRounds > 0 && c.methodRounds >= this.limits.protectAfterRounds && !c.method!.declaresEstablished)) this.table.establish(c);
        return this.challenge(c, c.method!.type, step.data);
      case 'discard':
        return this.invalid(c, step.reason);
      case 'failure':
        return this.fail(c, responseId, 'failure', step.reason);
      case 'success': {
        // Access follows the grant's identity; a success that names no one is a method fault, refused.
        if (step.grant.identity.trim().length === 0) {
          this.log.error({ conversation: c.id, method: c.method!.name }, 'EAP method succeeded without an authenticated identity: refused');
          return this.fail(c, responseId, 'method-error', `${c.method!.name} succeeded without an authenticated identity`);
        }
        // The credential policy keys on grant.method (authorization.methods; the NOOB device class,
        // which trusts an eap-noob grant's owner and PeerInfo; the certificate facts of eap-tls and
        // teap): a grant is always in the name the method that ran is registered under, whatever
        // the method wrote into it or calls itself now. A fresh object, read once.
        const written: unknown = step.grant.method;
        const grant: Grant = { ...step.grant, method: c.methodName! };
        if (written !== grant.method && !this.misnamedGrants.has(grant.method)) {
          this.misnamedGrants.add(grant.method);
          this.log.warn({ method: grant.method, grantMethod: String(written).slice(0, 64) }, 'EAP method wrote another method\'s name into its grant; its registered name is used (logged once per method)');
        }
        this.finish(c, 'success');
        return {
          kind: 'accept',
          eap: eapSuccess(responseId),
          msk: step.msk,
          ...(step.emsk ? { emsk: step.emsk } : {}),
          ...(step.sessionId ? { sessionId: step.sessionId } : {}),
          grant,
          identity: c.identity ?? '',
          conversationId: c.id,
        };
      }
    }
  }

  private challenge(c: Conversation, type: number, data: Uint8Array): EapOutcome {
    c.outstandingId = (c.outstandingId + 1) & 0xff;
    c.lastRequest = eapRequest(c.outstandingId, type, data);
    return { kind: 'challenge', eap: c.lastRequest, state: c.state, conversationId: c.id };
  }

  /**
   * A Response we cannot use. RFC 3579 §2.2 lets us re-send the last Request rather than stay
   * silent; after a few, the conversation is given up.
   */
  private invalid(c: Conversation, reason: string): EapOutcome {
    c.invalidPackets++;
    this.observer.invalidResponse();
    this.warn(`invalid|${c.clientName}`, { conversation: c.id, client: c.clientName, reason: clipForLog(reason), count: c.invalidPackets }, 'invalid EAP Response ignored');
    if (c.invalidPackets > this.limits.maxInvalidPackets) return this.fail(c, c.outstandingId, 'too-many-invalid', `too many invalid packets; last: ${reason}`);
    if (c.lastRequest.length === 0) return { kind: 'drop', reason };
    return { kind: 'challenge', eap: c.lastRequest, state: c.state, conversationId: c.id };
  }

  private fail(c: Conversation, identifier: number, end: ConversationEnd, reason: string): EapOutcome {
    this.finish(c, end);
    return { kind: 'reject', eap: eapFailure(identifier), reason, conversationId: c.id };
  }

  /** Counted only if it was still in the table: one that gave way meanwhile was counted then. */
  private finish(c: Conversation, end: ConversationEnd): void {
    if (this.table.end(c, 'finished')) this.observer.conversationEnded(c.methodName, end, c.rounds + 1);
  }

  /**
   * Warnings a peer can trigger at will are rate-limited per kind and RADIUS client, as the RADIUS
   * layer's are: one warning per window, carrying the count held back since the last; the ones held
   * back go to debug level (dropped cheaply unless an operator asks for them).
   */
  private warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.limiter.warn(this.log, key, fields, msg);
  }

  /** Releases the method's session once; a dispose() that throws is logged, never propagated. */
  private disposeSession(c: Conversation): void {
    const session = c.session;
    if (!session) return;
    delete c.session;
    try {
      session.dispose();
    } catch (err) {
      this.log.error({ conversation: c.id, method: c.method?.name, err }, 'EAP method failed to dispose of its session');
    }
  }
}

/**
 * A method's Step as the core may use it, or what is wrong with it. Plugins are JavaScript: a
 * success without key material or an unknown kind must become a refusal, not a crash further on.
 */
function checkedStep(value: unknown): Step | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const step = value as Record<string, unknown>;
  switch (step.kind) {
    case 'request':
      return isOctets(step.data) ? (value as Step) : 'request without Type-Data octets';
    case 'failure':
    case 'discard':
      return typeof step.reason === 'string' ? (value as Step) : `${step.kind} without a reason`;
    case 'success': {
      if (!isOctets(step.msk) || (step.msk as Uint8Array).length < 32) return 'success without an MSK of at least 32 octets';
      if (step.emsk !== undefined && !isOctets(step.emsk)) return 'success with an EMSK that is not octets';
      if (step.sessionId !== undefined && !isOctets(step.sessionId)) return 'success with a Session-Id that is not octets';
      const grant = step.grant as Record<string, unknown> | undefined;
      if (typeof grant !== 'object' || grant === null || typeof grant.identity !== 'string' || typeof grant.method !== 'string') {
        return 'success without a grant naming identity and method';
      }
      return value as Step;
    }
    default:
      return `unknown kind ${JSON.stringify(String(step.kind)).slice(0, 40)}`;
  }
}

/** Realm-independent (a plugin's Buffer may come from another context than ours). */
function isOctets(v: unknown): v is Uint8Array {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && (v as Uint8Array).BYTES_PER_ELEMENT === 1;
}

/**
 * What a method session sees of its conversation. The child logger is made on first use: most
 * conversations of a flood never log, and one per conversation was a sizeable part of its heap.
 */
class ConversationContext implements MethodContext {
  private childLog: Log | undefined;

  constructor(
    readonly identity: string,
    readonly conversationId: string,
    readonly maxEapPacket: number,
    readonly nas: NasFacts,
    private readonly parentLog: Log,
    private readonly method: string,
  ) {}

  get log(): Log {
    this.childLog ??= this.parentLog.child({ conversation: this.conversationId, method: this.method });
    return this.childLog;
  }
}
