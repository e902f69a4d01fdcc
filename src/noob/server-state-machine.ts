/**
 * The EAP-NOOB server state machine (RFC 9140 §3.2–3.4), sans IO.
 *
 * One call = one incoming EAP-Response. Input: the conversation so far (in memory, per EAP
 * session), the decoded message, the stored record of the PeerId concerned (freshly read by the
 * caller), the clock, the configuration and a randomness source. Output: the next action (a
 * request to send, success with keys, or failure), at most one record transition to persist
 * before the action takes effect, and log entries.
 *
 * Persistence rules this module guarantees:
 *  - a record is only ever created by a completed Initial Exchange, under a fresh PeerId, so a
 *    peer's message can never overwrite or reset someone else's registration;
 *  - a persistent association (states 3, 4) is never deleted or demoted below 3 by the protocol;
 *  - success is reported only together with the write that records it (`required: true`), so the
 *    caller answers EAP-Success only after the transaction has committed;
 *  - an exchange writes only over the record version it started from (read with the type-1
 *    response), so nothing that happened to the registration meanwhile — a 2003 rollback by another
 *    conversation, a new OOB delivery — is overwritten by a decision taken before it;
 *  - the account a registration is bound to (`accountBound`) is never changed here, and an OOB
 *    message it has consumed is never used again.
 */
import { b64urlDecodeExact, b64urlEncode } from './base64url.js';
import type { NoobRequest, NoobResponse, Req2, Req7, Rsp1, Rsp2, Rsp3, Rsp5, Rsp6, Rsp7, Rsp8, Rsp9, KeyingMode } from './messages.js';
import { NOOB_VERSION } from './messages.js';
import { NoobError, NoobErrorCode, isKnownNoobErrorCode } from './errors.js';
import { decodeResponse, memberTexts, type Decoded } from './message-codec.js';
import { codecOptions, jwkOptions, type ResolvedNoobConfig } from './config.js';
import { ecdhSharedSecret, importPublicJwk, isSupportedCryptosuite, type Cryptosuite, type EphemeralKeyPair } from './crypto/cryptosuites.js';
import { constantTimeEqualText, matchesNoobId, noobId } from './crypto/digests.js';
import { deriveReconnectKeys, sessionId, type CompletionKeys, type ReconnectKeys } from './crypto/kdf.js';
import type { NoobRandom } from './crypto/random.js';
import {
  completionExchange,
  exchangeMacs,
  initialNaiSlotText,
  initialTranscript,
  reconnectNaiSlotText,
  reconnectSlots,
  reconnectTranscript,
} from './transcript.js';
import { isUnderEapArpa, isValidNai } from './nai.js';
import { clipForLog } from '../util/log-fields.js';
import {
  holdsLiveIssuedOob,
  isConsumed,
  isOobExpired,
  mergeConsumed,
  type NoobConsumedOob,
  type NoobOobMessage,
  type NoobPeerRecord,
  type NoobPeerWrite,
} from '../store/noob-peers.js';

export type NoobExchange = 'initial' | 'waiting' | 'completion' | 'reconnect';

type Texts = ReadonlyMap<string, string>;

type Phase =
  | { name: 'await-1' }
  | { name: 'await-2'; peerId: string; req2: Req2; req2Texts: Texts }
  | {
      name: 'await-3';
      peerId: string;
      req2Texts: Texts;
      rsp2: Rsp2;
      rsp2Raw: Texts;
      suite: Cryptosuite;
      keyPair: EphemeralKeyPair;
      req3Texts: Texts;
      sleepTime: number;
    }
  | { name: 'await-4'; peerId: string }
  | { name: 'await-5'; peerId: string }
  | { name: 'await-6'; peerId: string; via: 'received' | 'issued'; keys: CompletionKeys; macp: string; account?: string; hoob: string }
  | { name: 'await-7'; peerId: string; req7: Req7; req7Texts: Texts }
  | {
      name: 'await-8';
      peerId: string;
      req7: Req7;
      req7Texts: Texts;
      rsp7: Rsp7;
      rsp7Raw: Texts;
      suite: Cryptosuite;
      keyingMode: KeyingMode;
      keyPair?: EphemeralKeyPair;
      req8Texts: Texts;
    }
  | {
      name: 'await-9';
      peerId: string;
      keys: ReconnectKeys;
      macp2: string;
      keyingMode: KeyingMode;
      suite: Cryptosuite;
      newNai?: string;
      serverInfoSent?: string;
      peerInfo?: string;
    }
  /** We sent a Type-0 error request; whatever comes back ends the conversation with EAP-Failure. */
  | { name: 'closing'; reason: string }
  | { name: 'done' };

/** Per-conversation state. Held in memory by the method session; opaque to callers. */
export interface ServerConversation {
  readonly identity: string;
  readonly phase: Phase;
  readonly exchange?: NoobExchange;
  /**
   * Version of the stored record this exchange was chosen from (Waiting, Completion, Reconnect).
   * Every later step requires the record to still be exactly this version, and every write expects it.
   */
  readonly startedFrom?: number;
}

export interface ServerEnv {
  config: ResolvedNoobConfig;
  now: Date;
  random: NoobRandom;
}

export type ServerAction =
  | { kind: 'request'; message: NoobRequest }
  | {
      kind: 'success';
      exchange: 'completion' | 'reconnect';
      peerId: string;
      /** The owner and the PeerInfo of the registration this success commits (the write's `next`). */
      account?: string;
      peerInfo?: string;
      msk: Uint8Array;
      emsk: Uint8Array;
      sessionId: Uint8Array;
    }
  | { kind: 'failure'; reason: string };

export interface ServerTransition {
  peerId: string;
  /** Version of the record the exchange started from; null when creating. */
  expectedVersion: number | null;
  next: NoobPeerWrite | null;
  /** When true the action must not take effect unless the write committed. */
  required: boolean;
}

export interface LogEntry {
  level: 'info' | 'warn';
  msg: string;
  fields: Record<string, unknown>;
}

export interface ServerStepResult {
  conv: ServerConversation;
  action: ServerAction;
  write?: ServerTransition;
  log: LogEntry[];
}

export type DecodeResult = { ok: true; decoded: Decoded<NoobResponse> } | { ok: false; error: NoobError };

/** Decodes a response with the codec options the configuration implies; never throws. */
export function decodeForServer(data: Uint8Array, config: ResolvedNoobConfig): DecodeResult {
  try {
    return { ok: true, decoded: decodeResponse(data, codecOptions(config)) };
  } catch (e) {
    if (e instanceof NoobError) return { ok: false, error: e };
    throw e;
  }
}

/** First step after EAP-Response/Identity: request type 1, or refuse the identity. */
export function startServerConversation(identity: string, _env: ServerEnv): ServerStepResult {
  if (!isValidNai(identity)) {
    if (isUnderEapArpa(identity)) {
      // RFC 9965 §3.4.2: a malformed provisioning identifier gets a plain EAP-Failure.
      return {
        conv: { identity, phase: { name: 'done' } },
        action: { kind: 'failure', reason: 'malformed identity under eap.arpa' },
        log: [{ level: 'warn', msg: 'eap-noob: malformed identity under eap.arpa', fields: { identity: clipForLog(identity) } }],
      };
    }
    const reason = 'identity is not a valid NAI';
    return {
      conv: { identity, phase: { name: 'closing', reason } },
      action: { kind: 'request', message: { Type: 0, ErrorCode: NoobErrorCode.InvalidNai, ErrorInfo: 'Invalid NAI' } },
      log: [{ level: 'warn', msg: 'eap-noob: error 1001', fields: { identity: clipForLog(identity), errorCode: 1001 } }],
    };
  }
  return { conv: { identity, phase: { name: 'await-1' } }, action: { kind: 'request', message: { Type: 1 } }, log: [] };
}

/** Which stored record the caller must load before calling `serverStep` (undefined: none). */
export function serverPeerIdToLoad(conv: ServerConversation, input: DecodeResult): string | undefined {
  const p = conv.phase;
  switch (p.name) {
    case 'await-1':
      return input.ok && input.decoded.message.Type === 1 ? input.decoded.message.PeerId : undefined;
    case 'await-4':
    case 'await-5':
    case 'await-6':
    case 'await-7':
    case 'await-8':
    case 'await-9':
      return p.peerId;
    default:
      return undefined;
  }
}

/** The server state a stored record stands for now (expired registrations count as 0). */
export function effectiveServerState(
  record: NoobPeerRecord | undefined,
  now: Date,
  config: Pick<ResolvedNoobConfig, 'ephemeralLifetime'>,
): 0 | 1 | 2 | 3 | 4 {
  if (!record) return 0;
  if (record.state <= 2 && ephemeralExpired(record, now, config)) return 0;
  return record.state;
}

/**
 * RFC 9140 §3.2.2: keep ephemeral state at least a day and, with server-to-peer OOB, not before
 * the Noobs we issued have expired (each by the expiry stored with it).
 */
export function ephemeralExpired(record: NoobPeerRecord, now: Date, config: Pick<ResolvedNoobConfig, 'ephemeralLifetime'>): boolean {
  const age = now.getTime() - record.createdAt.getTime();
  if (age <= config.ephemeralLifetime * 1000) return false;
  return !holdsLiveIssuedOob(record, now);
}

/**
 * Past the expiry stored with the message when it was issued or received, never recomputed from
 * today's configuration: a code keeps the lifetime the person was shown.
 */
export function oobExpired(o: Pick<NoobOobMessage, 'expiresAt'>, now: Date): boolean {
  return isOobExpired(o, now);
}

/** The slot-9 text of the Initial Exchange (NewNAI if sent, else the identity; a realm with vogeltak). */
export function initialNaiSlot(identity: string, config: ResolvedNoobConfig): string {
  return initialNaiSlotText(identity, config.compat === 'vogeltak' ? config.compatRealm : config.newNai, config.compat);
}

function err(code: NoobErrorCode, msg: string): NoobError {
  return new NoobError(code, msg);
}

function jsonString(text: string): string {
  return JSON.parse(text) as string;
}

function bytesOfB64Text(text: string, n: number, what: string): Uint8Array {
  return b64urlDecodeExact(jsonString(text), n, what);
}

/** A Type-0 request ending the conversation; the peer's reply, whatever it is, gets EAP-Failure. */
function errorResult(conv: ServerConversation, e: NoobError, peerId: string | undefined, write?: ServerTransition): ServerStepResult {
  return {
    conv: { ...conv, phase: { name: 'closing', reason: `error ${e.code}: ${e.message}` } },
    action: {
      kind: 'request',
      message: { Type: 0, ...(peerId !== undefined ? { PeerId: peerId } : {}), ErrorCode: e.code, ErrorInfo: e.message.slice(0, 200) },
    },
    ...(write ? { write } : {}),
    log: [{ level: 'warn', msg: `eap-noob: sending error ${e.code}`, fields: { peerId, errorCode: e.code, detail: e.message, exchange: conv.exchange } }],
  };
}

function failure(conv: ServerConversation, reason: string, log: LogEntry[] = [], write?: ServerTransition): ServerStepResult {
  return { conv: { ...conv, phase: { name: 'done' } }, action: { kind: 'failure', reason }, log, ...(write ? { write } : {}) };
}

function request(conv: ServerConversation, phase: Phase, message: NoobRequest, exchange?: NoobExchange): ServerStepResult {
  return { conv: { ...conv, phase, ...(exchange ? { exchange } : {}) }, action: { kind: 'request', message }, log: [] };
}

function texts(msg: NoobRequest, config: ResolvedNoobConfig): Texts {
  return memberTexts(msg, true, codecOptions(config));
}

function sleepTimeFor(dirp: number, config: ResolvedNoobConfig): number {
  return dirp === 2 ? config.sleepTimeServerToPeer : config.sleepTime;
}

function phasePeerId(p: Phase): string | undefined {
  return 'peerId' in p ? p.peerId : undefined;
}

const EXPECTED_TYPE: Partial<Record<Phase['name'], number>> = {
  'await-1': 1,
  'await-2': 2,
  'await-3': 3,
  'await-4': 4,
  'await-5': 5,
  'await-6': 6,
  'await-7': 7,
  'await-8': 8,
  'await-9': 9,
};

function isReconnectPhase(p: Phase): boolean {
  return p.name === 'await-7' || p.name === 'await-8' || p.name === 'await-9';
}

/** The record, if it is still the version this conversation's exchange started from. */
function unchangedSinceStart(conv: ServerConversation, record: NoobPeerRecord | undefined): NoobPeerRecord | undefined {
  return record !== undefined && conv.startedFrom !== undefined && record.version === conv.startedFrom ? record : undefined;
}

/** RFC 9140 §3.4.3: a Reconnect that fails leaves the server in state 3 (never lower). */
function reconnectFailureWrite(conv: ServerConversation, record: NoobPeerRecord | undefined, now: Date): ServerTransition | undefined {
  const rec = unchangedSinceStart(conv, record);
  if (!rec || rec.state !== 4) return undefined;
  return { peerId: rec.peerId, expectedVersion: rec.version, next: { ...rec, state: 3, updatedAt: now }, required: false };
}

/** Handles one EAP-Response of type 56. */
export function serverStep(conv: ServerConversation, input: DecodeResult, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  const phase = conv.phase;
  if (phase.name === 'closing') return failure(conv, phase.reason);
  if (phase.name === 'done') return failure(conv, 'conversation already finished');

  const peerId = phasePeerId(phase);
  if (!input.ok) {
    const write = isReconnectPhase(phase) ? reconnectFailureWrite(conv, record, env.now) : undefined;
    return errorResult(conv, input.error, peerId, write);
  }
  const { message, raw } = input.decoded;

  if (message.Type === 0) return peerError(conv, message, record, env);

  try {
    if (message.Type !== EXPECTED_TYPE[phase.name]) {
      throw err(NoobErrorCode.UnexpectedMessageType, `expected type ${EXPECTED_TYPE[phase.name]}, got ${message.Type}`);
    }
    // Every message after type 1 names the PeerId of this conversation (RFC 9140 §3.6.4: 2004).
    if (message.Type !== 1 && peerId !== undefined && message.PeerId !== peerId) {
      throw err(NoobErrorCode.UnexpectedPeerId, 'PeerId does not match this conversation');
    }
    switch (phase.name) {
      case 'await-1':
        return onType1(conv, message as Rsp1, record, env);
      case 'await-2':
        return onType2(conv, phase, message as Rsp2, raw, env);
      case 'await-3':
        return onType3(conv, phase, message as Rsp3, raw, env);
      case 'await-4':
        return onType4(conv, phase, record, env);
      case 'await-5':
        return onType5(conv, phase, message as Rsp5, record, env);
      case 'await-6':
        return onType6(conv, phase, message as Rsp6, record, env);
      case 'await-7':
        return onType7(conv, phase, message as Rsp7, raw, record, env);
      case 'await-8':
        return onType8(conv, phase, message as Rsp8, raw, record, env);
      case 'await-9':
        return onType9(conv, phase, message as Rsp9, record, env);
    }
  } catch (e) {
    if (!(e instanceof NoobError)) throw e;
    const write = isReconnectPhase(phase) ? reconnectFailureWrite(conv, record, env.now) : undefined;
    return errorResult(conv, e, peerId ?? (message.Type === 1 ? message.PeerId : undefined), write);
  }
}

/** The peer sent a Type-0 error: log it, apply RFC 9140's state rule, end with EAP-Failure. */
function peerError(conv: ServerConversation, m: Extract<NoobResponse, { Type: 0 }>, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  const phase = conv.phase;
  const log: LogEntry[] = [
    {
      level: 'warn',
      msg: `eap-noob: peer sent error ${m.ErrorCode}`,
      fields: { peerId: m.PeerId ?? phasePeerId(phase), errorCode: m.ErrorCode, known: isKnownNoobErrorCode(m.ErrorCode), errorInfo: m.ErrorInfo === undefined ? undefined : clipForLog(m.ErrorInfo), exchange: conv.exchange },
    },
  ];
  let write: ServerTransition | undefined;
  // §3.6.4: the recipient of 2003 in the Completion Exchange goes back to state 1 (OOB Reject).
  // Only a server in state 2 has anything to undo: the peer-to-server Noob the peer no longer knows.
  // The error is unauthenticated — anyone who read the PeerId off the QR code can send it — so the
  // rollback undoes nothing else: the account stays bound and the code stays consumed.
  if (m.ErrorCode === NoobErrorCode.UnrecognizedOobId && phase.name === 'await-6' && phase.via === 'received') {
    const rec = unchangedSinceStart(conv, record);
    if (rec?.state === 2 && rec.ephemeral) {
      const dropped = rec.oobs.filter((o) => o.direction === 1);
      write = {
        peerId: rec.peerId,
        expectedVersion: rec.version,
        next: {
          ...rec,
          state: 1,
          oobs: rec.oobs.filter((o) => o.direction !== 1),
          consumedOobs: mergeConsumed(rec.consumedOobs, dropped.map(consumedFrom)),
          updatedAt: env.now,
        },
        required: false,
      };
      log.push({
        level: 'warn',
        msg: 'eap-noob: peer rejected our NoobId (2003); registration back to state 1',
        fields: { peerId: rec.peerId, account: rec.account, accountBound: rec.accountBound, consumedHoobs: dropped.map((o) => o.hoob) },
      });
    } else {
      log.push({ level: 'warn', msg: 'eap-noob: 2003 ignored; the registration changed since this exchange started', fields: { peerId: phase.peerId } });
    }
  } else if (isReconnectPhase(phase)) {
    write = reconnectFailureWrite(conv, record, env.now);
  }
  return failure(conv, `peer error ${m.ErrorCode}`, log, write);
}

// ---------------------------------------------------------------------------------------------
// Type 1: PeerId and PeerState discovery, then the exchange table of RFC 9140 §3.2.1 (Table 1).

function onType1(conv: ServerConversation, m: Rsp1, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  const { config, now } = env;
  const s = m.PeerId !== undefined ? effectiveServerState(record, now, config) : 0;
  const p = m.PeerState;
  const mismatch = (): never => {
    throw err(NoobErrorCode.StateMismatch, `peer state ${p} does not match server state ${s}`);
  };
  // From here on every step of the chosen exchange is measured against this version of the record.
  const c: ServerConversation = record !== undefined && s !== 0 ? { ...conv, startedFrom: record.version } : conv;
  if (p === 3) {
    if (s === 3 || s === 4) return startReconnect(c, record!, env);
    return mismatch();
  }
  if (s === 3 || s === 4) return mismatch();
  if (p === 0 || s === 0) return startInitial(conv, env);
  const rec = record!;
  if (p === 1 && s === 1) return startWaiting(c, rec, env);
  if (p === 1 && s === 2) return startCompletionReceived(c, rec, env);
  // Peer in 2 with server in 1 or 2: the server-to-peer OOB wins a tie (§3.2.1).
  return request(c, { name: 'await-5', peerId: rec.peerId }, { Type: 5, PeerId: rec.peerId }, 'completion');
}

// ---------------------------------------------------------------------------------------------
// Initial Exchange (types 2, 3). Nothing is stored until it has finished.

function startInitial(conv: ServerConversation, env: ServerEnv): ServerStepResult {
  const { config } = env;
  const peerId = env.random.peerId();
  const newNai = config.compat === 'vogeltak' ? config.compatRealm : config.newNai;
  const req2: Req2 = {
    Type: 2,
    Vers: [NOOB_VERSION],
    PeerId: peerId,
    ...(newNai !== undefined ? { NewNAI: newNai } : {}),
    Cryptosuites: [...config.cryptosuites],
    Dirs: config.dirs,
    ServerInfo: config.serverInfoText,
  };
  return request(conv, { name: 'await-2', peerId, req2, req2Texts: texts(req2, config) }, req2, 'initial');
}

function onType2(conv: ServerConversation, phase: Extract<Phase, { name: 'await-2' }>, m: Rsp2, raw: Texts, env: ServerEnv): ServerStepResult {
  const { config } = env;
  if (!phase.req2.Vers.includes(m.Verp)) throw err(NoobErrorCode.InvalidData, `Verp ${m.Verp} was not offered`);
  if (!phase.req2.Cryptosuites.includes(m.Cryptosuitep) || !isSupportedCryptosuite(m.Cryptosuitep)) {
    throw err(NoobErrorCode.InvalidData, `Cryptosuitep ${m.Cryptosuitep} was not offered`);
  }
  if ((m.Dirp & phase.req2.Dirs) !== m.Dirp) throw err(NoobErrorCode.InvalidData, `Dirp ${m.Dirp} was not offered`);
  const suite = m.Cryptosuitep;
  const keyPair = env.random.keyPair(suite, jwkOptions(config));
  const ns = env.random.nonce();
  const sleepTime = sleepTimeFor(m.Dirp, config);
  const req3 = { Type: 3 as const, PeerId: phase.peerId, PKs: keyPair.publicJwk, Ns: b64urlEncode(ns), SleepTime: sleepTime };
  return request(conv, { name: 'await-3', peerId: phase.peerId, req2Texts: phase.req2Texts, rsp2: m, rsp2Raw: raw, suite, keyPair, req3Texts: texts(req3, config), sleepTime }, req3);
}

function onType3(conv: ServerConversation, phase: Extract<Phase, { name: 'await-3' }>, m: Rsp3, raw: Texts, env: ServerEnv): ServerStepResult {
  const { config, now } = env;
  const pkp = importPublicJwk(phase.suite, m.PKp, jwkOptions(config));
  const z = ecdhSharedSecret(phase.keyPair.privateKey, pkp);
  const transcript = initialTranscript({ req2: phase.req2Texts, rsp2: phase.rsp2Raw, req3: phase.req3Texts, rsp3: raw }, initialNaiSlot(conv.identity, config));
  const newNai = config.compat === 'vogeltak' ? undefined : config.newNai;
  const next: NoobPeerWrite = {
    peerId: phase.peerId,
    state: 1,
    createdAt: now,
    updatedAt: now,
    accountBound: false,
    peerInfo: phase.rsp2.PeerInfo,
    ephemeral: {
      transcript,
      identity: conv.identity,
      ...(newNai !== undefined ? { newNai } : {}),
      cryptosuite: phase.suite,
      dirp: phase.rsp2.Dirp,
      z,
      sleepTime: phase.sleepTime,
      waitingExchanges: 0,
      oobRejections: 0,
    },
    oobs: [],
    consumedOobs: [],
  };
  return {
    conv: { ...conv, phase: { name: 'done' } },
    // RFC 9140 §3.2.2: the Initial Exchange always ends in EAP-Failure; the peer now waits for OOB.
    action: { kind: 'failure', reason: 'Initial Exchange complete; waiting for the OOB step' },
    write: { peerId: phase.peerId, expectedVersion: null, next, required: true },
    log: [{ level: 'info', msg: 'eap-noob: Initial Exchange complete', fields: { peerId: phase.peerId, cryptosuite: phase.suite, dirp: phase.rsp2.Dirp } }],
  };
}

// ---------------------------------------------------------------------------------------------
// Waiting Exchange (type 4).

function startWaiting(conv: ServerConversation, rec: NoobPeerRecord, env: ServerEnv): ServerStepResult {
  const e = rec.ephemeral!;
  if (e.waitingExchanges >= env.config.maxWaitingExchanges) {
    throw err(NoobErrorCode.UnwantedPeer, 'too many Waiting Exchanges without an OOB message');
  }
  const sleepTime = sleepTimeFor(e.dirp, env.config);
  return request(conv, { name: 'await-4', peerId: rec.peerId }, { Type: 4, PeerId: rec.peerId, SleepTime: sleepTime }, 'waiting');
}

function onType4(conv: ServerConversation, phase: Extract<Phase, { name: 'await-4' }>, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  const log: LogEntry[] = [{ level: 'info', msg: 'eap-noob: Waiting Exchange complete', fields: { peerId: phase.peerId } }];
  // Count the exchange if the registration is still waiting; a concurrent OOB delivery wins.
  const rec = unchangedSinceStart(conv, record);
  if (rec?.state === 1 && rec.ephemeral) {
    const next: NoobPeerWrite = {
      ...rec,
      updatedAt: env.now,
      ephemeral: { ...rec.ephemeral, waitingExchanges: rec.ephemeral.waitingExchanges + 1, sleepTime: sleepTimeFor(rec.ephemeral.dirp, env.config) },
    };
    return failure(conv, 'Waiting Exchange complete', log, { peerId: phase.peerId, expectedVersion: rec.version, next, required: false });
  }
  return failure(conv, 'Waiting Exchange complete', log);
}

// ---------------------------------------------------------------------------------------------
// Completion Exchange (types 5, 6).

function completionKeys(rec: NoobPeerRecord, noobB64: string, env: ServerEnv): { keys: CompletionKeys; macs: string; macp: string } {
  const e = rec.ephemeral!;
  return completionExchange(e.transcript, e.cryptosuite as Cryptosuite, e.z, noobB64, env.config.kdfSuppPrivLengthByte);
}

/** Peer in 1, server in 2: the peer's OOB reached us, so we go straight to type 6. */
function startCompletionReceived(conv: ServerConversation, rec: NoobPeerRecord, env: ServerEnv): ServerStepResult {
  const received = [...rec.oobs].reverse().find((o) => o.direction === 1);
  if (!received) return startWaiting(conv, rec, env);
  // The delivery that put us in state 2 chose the account (deliverOob); it is bound from then on.
  const suite = rec.ephemeral!.cryptosuite as Cryptosuite;
  const { keys, macs, macp } = completionKeys(rec, received.noob, env);
  const id = noobId(suite, received.noob, env.config.noobIdForm);
  return request(
    conv,
    { name: 'await-6', peerId: rec.peerId, via: 'received', keys, macp, hoob: received.hoob, ...(rec.account !== undefined ? { account: rec.account } : {}) },
    { Type: 6, PeerId: rec.peerId, NoobId: id, MACs: macs },
    'completion',
  );
}

/** The record as this exchange started from it, in one of `states`; otherwise 2002 (§3.2.1: no state change). */
function liveRecord(conv: ServerConversation, record: NoobPeerRecord | undefined, states: readonly number[]): NoobPeerRecord {
  const rec = unchangedSinceStart(conv, record);
  if (!rec || !states.includes(rec.state)) {
    throw err(NoobErrorCode.StateMismatch, 'the registration changed during this conversation');
  }
  return rec;
}

function consumedFrom(o: NoobOobMessage): NoobConsumedOob {
  return { direction: o.direction, hoob: o.hoob, ...(o.account !== undefined ? { account: o.account } : {}), consumedAt: o.createdAt };
}

function onType5(conv: ServerConversation, phase: Extract<Phase, { name: 'await-5' }>, m: Rsp5, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  const rec = liveRecord(conv, record, [1, 2]);
  const suite = rec.ephemeral!.cryptosuite as Cryptosuite;
  // Only Noobs we issued (server-to-peer), not yet used, and not past the expiry each was issued
  // with (§3.2.3: the server MUST NOT accept a server-sent Noob older than NoobTimeout).
  const named = rec.oobs.filter((o) => o.direction === 2 && !isConsumed(rec, o.hoob) && matchesNoobId(suite, o.noob, m.NoobId));
  const issued = named.find((o) => !oobExpired(o, env.now));
  if (!issued) {
    const expired = named.at(-1);
    if (expired) {
      const r = errorResult(conv, err(NoobErrorCode.UnrecognizedOobId, 'NoobId names an expired OOB message'), phase.peerId);
      r.log.push({ level: 'warn', msg: 'eap-noob: server-to-peer code refused; it expired', fields: { peerId: rec.peerId, expiredAt: expired.expiresAt.toISOString() } });
      return r;
    }
    throw err(NoobErrorCode.UnrecognizedOobId, 'NoobId does not name an unexpired OOB message');
  }
  // A code issued for another account than the one an accepted delivery bound (a tie, §3.2.1, or a
  // code issued before a rollback) is not one we can complete with: 2003 sends the peer back to
  // state 1, and the delivery that bound the account completes instead.
  if (rec.accountBound && issued.account !== undefined && issued.account !== rec.account) {
    const r = errorResult(conv, err(NoobErrorCode.UnrecognizedOobId, 'NoobId names a code issued for another account'), phase.peerId);
    r.log.push({
      level: 'warn',
      msg: 'eap-noob: server-to-peer code refused; the registration is bound to another account',
      fields: { peerId: rec.peerId, boundAccount: rec.account, codeAccount: issued.account },
    });
    return r;
  }
  const { keys, macs, macp } = completionKeys(rec, issued.noob, env);
  const account = rec.accountBound ? rec.account : (issued.account ?? rec.account);
  return request(
    conv,
    { name: 'await-6', peerId: phase.peerId, via: 'issued', keys, macp, hoob: issued.hoob, ...(account !== undefined ? { account } : {}) },
    { Type: 6, PeerId: phase.peerId, NoobId: m.NoobId, MACs: macs },
  );
}

function onType6(conv: ServerConversation, phase: Extract<Phase, { name: 'await-6' }>, m: Rsp6, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  if (!constantTimeEqualText(m.MACp, phase.macp)) throw err(NoobErrorCode.HmacVerificationFailure, 'MACp does not verify');
  const rec = liveRecord(conv, record, [1, 2]);
  const e = rec.ephemeral!;
  const account = phase.account;
  const used = rec.oobs.find((o) => o.hoob === phase.hoob);
  const next: NoobPeerWrite = {
    peerId: rec.peerId,
    state: 4,
    createdAt: rec.createdAt,
    updatedAt: env.now,
    ...(account !== undefined ? { account } : {}),
    accountBound: true,
    ...(rec.peerInfo !== undefined ? { peerInfo: rec.peerInfo } : {}),
    association: {
      verp: Number(e.transcript.verp),
      cryptosuite: e.cryptosuite,
      nai: e.newNai ?? e.identity,
      kz: phase.keys.kz,
      serverInfo: e.transcript.serverInfo,
    },
    // Ephemeral data and every OOB message die with the registration (they are single-use).
    oobs: [],
    consumedOobs: mergeConsumed(rec.consumedOobs, used ? [{ ...consumedFrom(used), consumedAt: env.now }] : []),
    lastAuthenticatedAt: env.now,
  };
  return {
    conv: { ...conv, phase: { name: 'done' } },
    action: {
      kind: 'success',
      exchange: 'completion',
      peerId: rec.peerId,
      ...(account !== undefined ? { account } : {}),
      ...(next.peerInfo !== undefined ? { peerInfo: next.peerInfo } : {}),
      msk: phase.keys.msk,
      emsk: phase.keys.emsk,
      sessionId: sessionId(phase.keys.methodId),
    },
    write: { peerId: rec.peerId, expectedVersion: rec.version, next, required: true },
    log: [{ level: 'info', msg: 'eap-noob: Completion Exchange succeeded; peer registered', fields: { peerId: rec.peerId, account } }],
  };
}

// ---------------------------------------------------------------------------------------------
// Reconnect Exchange (types 7, 8, 9), RFC 9140 §3.4.

function rank(config: ResolvedNoobConfig, suite: number): number {
  return config.cryptosuiteRank[suite] ?? 0;
}

function startReconnect(conv: ServerConversation, rec: NoobPeerRecord, env: ServerEnv): ServerStepResult {
  const { config } = env;
  const a = rec.association!;
  // Downgrade protection (§3.4.2): never offer a suite weaker than the one the peer registered with.
  let offered = config.cryptosuites.filter((s) => rank(config, s) >= rank(config, a.cryptosuite));
  if (offered.length === 0) offered = [...config.cryptosuites];
  // NewNAI and ServerInfo only when they changed (§3.4.1, privacy). The authors' peer puts its
  // PeerInfo into the MACs2/MACp2 input only when Type 7 carried ServerInfo (otherwise "" there, and
  // the exchange ends in 4001), so the vogeltak profile always sends ServerInfo.
  const newNai = config.compat === 'none' && config.newNai !== undefined && config.newNai !== a.nai ? config.newNai : undefined;
  const serverInfo = config.compat === 'vogeltak' || config.serverInfoText !== a.serverInfo ? config.serverInfoText : undefined;
  const req7: Req7 = {
    Type: 7,
    Vers: [NOOB_VERSION],
    PeerId: rec.peerId,
    Cryptosuites: offered,
    ...(newNai !== undefined ? { NewNAI: newNai } : {}),
    ...(serverInfo !== undefined ? { ServerInfo: serverInfo } : {}),
  };
  return request(conv, { name: 'await-7', peerId: rec.peerId, req7, req7Texts: texts(req7, config) }, req7, 'reconnect');
}

function onType7(conv: ServerConversation, phase: Extract<Phase, { name: 'await-7' }>, m: Rsp7, raw: Texts, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  const { config } = env;
  const rec = liveRecord(conv, record, [3, 4]);
  if (!phase.req7.Vers.includes(m.Verp)) throw err(NoobErrorCode.InvalidData, `Verp ${m.Verp} was not offered`);
  if (!phase.req7.Cryptosuites.includes(m.Cryptosuitep) || !isSupportedCryptosuite(m.Cryptosuitep)) {
    throw err(NoobErrorCode.InvalidData, `Cryptosuitep ${m.Cryptosuitep} was not offered`);
  }
  const suite = m.Cryptosuitep;
  // §3.4.2: a new suite needs KeyingMode 3; otherwise our configured choice (2 = fresh ECDHE).
  const keyingMode: KeyingMode = suite !== rec.association!.cryptosuite ? 3 : config.reconnectKeyingMode;
  const keyPair = keyingMode === 1 ? undefined : env.random.keyPair(suite, jwkOptions(config));
  const ns2 = env.random.nonce();
  const req8 = {
    Type: 8 as const,
    PeerId: phase.peerId,
    KeyingMode: keyingMode,
    ...(keyPair ? { PKs2: keyPair.publicJwk } : {}),
    Ns2: b64urlEncode(ns2),
  };
  return request(
    conv,
    { name: 'await-8', peerId: phase.peerId, req7: phase.req7, req7Texts: phase.req7Texts, rsp7: m, rsp7Raw: raw, suite, keyingMode, ...(keyPair ? { keyPair } : {}), req8Texts: texts(req8, config) },
    req8,
  );
}

function onType8(conv: ServerConversation, phase: Extract<Phase, { name: 'await-8' }>, m: Rsp8, raw: Texts, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  const { config } = env;
  const rec = liveRecord(conv, record, [3, 4]);
  const a = rec.association!;
  if ((phase.keyingMode !== 1) !== (m.PKp2 !== undefined)) {
    throw err(NoobErrorCode.InvalidMessageStructure, 'PKp2 must be present exactly when KeyingMode is 2 or 3');
  }
  let z2: Uint8Array | undefined;
  if (phase.keyPair) z2 = ecdhSharedSecret(phase.keyPair.privateKey, importPublicJwk(phase.suite, m.PKp2!, jwkOptions(config)));
  const keys = deriveReconnectKeys({
    keyingMode: phase.keyingMode,
    suite: phase.suite,
    kz: a.kz,
    ...(z2 ? { z2 } : {}),
    np2: b64urlDecodeExact(m.Np2, 32, 'Np2'),
    ns2: bytesOfB64Text(phase.req8Texts.get('Ns2')!, 32, 'Ns2'),
    suppPrivLengthByte: config.kdfSuppPrivLengthByte,
  });
  const newNai = phase.req7.NewNAI;
  const transcript = reconnectTranscript(
    { req7: phase.req7Texts, rsp7: phase.rsp7Raw, req8: phase.req8Texts, rsp8: raw },
    reconnectNaiSlotText(newNai ?? a.nai, config),
  );
  const { server: macs2, peer: macp2 } = exchangeMacs(phase.suite, keys.kms2, keys.kmp2, reconnectSlots(transcript));
  return request(
    conv,
    {
      name: 'await-9',
      peerId: phase.peerId,
      keys,
      macp2,
      keyingMode: phase.keyingMode,
      suite: phase.suite,
      ...(newNai !== undefined ? { newNai } : {}),
      ...(phase.req7.ServerInfo !== undefined ? { serverInfoSent: phase.req7.ServerInfo } : {}),
      ...(phase.rsp7.PeerInfo !== undefined ? { peerInfo: phase.rsp7.PeerInfo } : {}),
    },
    { Type: 9, PeerId: phase.peerId, MACs2: macs2 },
  );
}

function onType9(conv: ServerConversation, phase: Extract<Phase, { name: 'await-9' }>, m: Rsp9, record: NoobPeerRecord | undefined, env: ServerEnv): ServerStepResult {
  if (!constantTimeEqualText(m.MACp2, phase.macp2)) throw err(NoobErrorCode.HmacVerificationFailure, 'MACp2 does not verify');
  const rec = liveRecord(conv, record, [3, 4]);
  const a = rec.association!;
  // §3.4.2: on success, KeyingMode 3 replaces suite and Kz; a NewNAI replaces the NAI. The server keeps no KzPrev.
  const next: NoobPeerWrite = {
    ...rec,
    state: 4,
    updatedAt: env.now,
    ...(phase.peerInfo !== undefined ? { peerInfo: phase.peerInfo } : {}),
    association: {
      verp: a.verp,
      cryptosuite: phase.keyingMode === 3 ? phase.suite : a.cryptosuite,
      nai: phase.newNai ?? a.nai,
      kz: phase.keyingMode === 3 ? phase.keys.kz! : a.kz,
      serverInfo: phase.serverInfoSent ?? a.serverInfo,
    },
    lastAuthenticatedAt: env.now,
  };
  return {
    conv: { ...conv, phase: { name: 'done' } },
    action: {
      kind: 'success',
      exchange: 'reconnect',
      peerId: rec.peerId,
      ...(next.account !== undefined ? { account: next.account } : {}),
      ...(next.peerInfo !== undefined ? { peerInfo: next.peerInfo } : {}),
      msk: phase.keys.msk,
      emsk: phase.keys.emsk,
      sessionId: sessionId(phase.keys.methodId),
    },
    write: { peerId: rec.peerId, expectedVersion: rec.version, next, required: true },
    log: [{ level: 'info', msg: 'eap-noob: Reconnect Exchange succeeded', fields: { peerId: rec.peerId, keyingMode: phase.keyingMode, cryptosuite: phase.suite } }],
  };
}
