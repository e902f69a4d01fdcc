/**
 * Our EAP-NOOB peer (RFC 9140 §3.2–3.4, peer side), sans IO.
 *
 * One call = one EAP-Request of type 56. Input: the conversation so far, the persistent peer
 * state, the request bytes, clock, configuration and randomness. Output: the response to send and,
 * where the RFC puts a commit point, the new persistent state — which the caller must save
 * *before* sending the response (the peer may never see the EAP-Success that follows).
 *
 * Codec, crypto and the transcript (which message text goes into which Hoob/MAC slot, and the
 * MACs over it) are the server's own modules (../../noob/transcript.ts); nothing is duplicated here.
 */
import { b64urlDecodeExact, b64urlEncode } from '../../noob/base64url.js';
import { isAcceptableOobUrl, jwkOptions, codecOptions } from '../../noob/config.js';
import { ecdhSharedSecret, importPublicJwk, type Cryptosuite } from '../../noob/crypto/cryptosuites.js';
import { constantTimeEqualText, matchesNoobId, noobId } from '../../noob/crypto/digests.js';
import { deriveReconnectKeys, sessionId, type ReconnectKeys } from '../../noob/crypto/kdf.js';
import type { NoobRandom } from '../../noob/crypto/random.js';
import { NoobError, NoobErrorCode } from '../../noob/errors.js';
import { isJsonObject, parseObject } from '../../noob/json.js';
import { decodeRequest, memberTexts, type Decoded } from '../../noob/message-codec.js';
import { NOOB_VERSION, type Directions, type NoobRequest, type NoobResponse, type Req2, type Req3, type Req6, type Req7, type Req8, type Req9, type Rsp2, type Rsp7 } from '../../noob/messages.js';
import type { LogEntry, NoobExchange } from '../../noob/server-state-machine.js';
import {
  completionExchange,
  exchangeMacs,
  initialNaiSlotText,
  initialTranscript,
  reconnectNaiSlotText,
  reconnectSlots,
  reconnectTranscript,
} from '../../noob/transcript.js';
import type { ResolvedNoobPeerConfig } from './config.js';
import type { NoobPeerState, PeerOob } from './state.js';

type Texts = ReadonlyMap<string, string>;

interface ReconnectCandidate {
  keys: ReconnectKeys;
  macs2: string;
  macp2: string;
  /** Derived with KzPrev: a match means the server never saw our last upgrade's final response. */
  rollback: boolean;
}

type PeerPhase =
  | { name: 'start' }
  | { name: 'sent-1'; peerState: 0 | 1 | 2 | 3 }
  | { name: 'sent-2'; peerId: string; req2: Req2; req2Raw: Texts; rsp2Texts: Texts; suite: Cryptosuite; dirp: Directions }
  | { name: 'sent-5'; peerId: string }
  | { name: 'sent-7'; peerId: string; req7: Req7; req7Raw: Texts; rsp7Texts: Texts; suite: Cryptosuite; peerInfoSent?: string }
  | {
      name: 'sent-8';
      peerId: string;
      suite: Cryptosuite;
      keyingMode: 1 | 2 | 3;
      candidates: ReconnectCandidate[];
      newNai?: string;
      serverInfo?: string;
      peerInfoSent?: string;
    }
  /** Nothing more is expected but EAP-Success/Failure. */
  | { name: 'finished' };

export interface SessionKeys {
  msk: Uint8Array;
  emsk: Uint8Array;
  sessionId: Uint8Array;
}

export interface PeerConversation {
  readonly identity: string;
  readonly phase: PeerPhase;
  readonly exchange?: NoobExchange;
  /** Keys of a Completion/Reconnect we answered successfully (for the MPPE check at Access-Accept). */
  readonly keys?: SessionKeys;
  /** Error code the server sent us, if any. */
  readonly serverError?: number;
  /** Error code we sent, if any. */
  readonly peerError?: number;
}

export interface PeerEnv {
  config: ResolvedNoobPeerConfig;
  now: Date;
  random: NoobRandom;
}

export interface PeerStepResult {
  conv: PeerConversation;
  response: NoobResponse;
  /** Commit point: persist this before sending `response`. */
  save?: NoobPeerState;
  log: LogEntry[];
}

export function startPeerConversation(identity: string): PeerConversation {
  return { identity, phase: { name: 'start' } };
}

function err(code: NoobErrorCode, msg: string): NoobError {
  return new NoobError(code, msg);
}

const UNWANTED_BACKOFF_MS = 3600_000;

/** Handles one EAP-Request of type 56. Never throws for anything the server sends. */
export function peerStep(conv: PeerConversation, state: NoobPeerState, data: Uint8Array, env: PeerEnv): PeerStepResult {
  let decoded: Decoded<NoobRequest>;
  try {
    decoded = decodeRequest(data, codecOptions(env.config));
  } catch (e) {
    if (!(e instanceof NoobError)) throw e;
    return errorResponse(conv, state, e, env);
  }
  const m = decoded.message;
  if (m.Type === 0) return serverError(conv, state, m, env);
  // The request type tells which exchange this is, also for errors we answer it with.
  const exchange = allowedTypes(conv).includes(m.Type) ? EXCHANGE_OF[m.Type] : undefined;
  const c = exchange ? { ...conv, exchange } : conv;
  try {
    return dispatch(c, state, m, decoded.raw, env);
  } catch (e) {
    if (!(e instanceof NoobError)) throw e;
    return errorResponse(c, state, e, env);
  }
}

const EXCHANGE_OF: Partial<Record<number, NoobExchange>> = {
  2: 'initial',
  3: 'initial',
  4: 'waiting',
  5: 'completion',
  6: 'completion',
  7: 'reconnect',
  8: 'reconnect',
  9: 'reconnect',
};

function currentPeerId(state: NoobPeerState): string | undefined {
  return state.state >= 3 ? state.association?.peerId : state.ephemeral?.peerId;
}

/** Which requests may follow our last response (RFC 9140 Table 1 from the peer's side). */
function allowedTypes(conv: PeerConversation): number[] {
  const p = conv.phase;
  switch (p.name) {
    case 'start':
      return [1];
    case 'sent-1':
      return { 0: [2], 1: [2, 4, 6], 2: [2, 5], 3: [7] }[p.peerState];
    case 'sent-2':
      return [3];
    case 'sent-5':
      return [6];
    case 'sent-7':
      return [8];
    case 'sent-8':
      return [9];
    case 'finished':
      return [];
  }
}

function dispatch(conv: PeerConversation, state: NoobPeerState, m: Exclude<NoobRequest, { Type: 0 }>, raw: Texts, env: PeerEnv): PeerStepResult {
  if (!allowedTypes(conv).includes(m.Type)) throw err(NoobErrorCode.UnexpectedMessageType, `unexpected request type ${m.Type}`);
  // Every request after type 1 names a PeerId; from type 3 on it must be the one of this association/registration.
  const p = conv.phase;
  const expectPeerId = 'peerId' in p ? p.peerId : m.Type === 2 ? undefined : currentPeerId(state);
  if (m.Type !== 1 && expectPeerId !== undefined && m.PeerId !== expectPeerId) throw err(NoobErrorCode.UnexpectedPeerId, 'PeerId does not match');
  switch (m.Type) {
    case 1:
      return onReq1(conv, state);
    case 2:
      return onReq2(conv, m, raw, env);
    case 3:
      return onReq3(conv, state, p as Extract<PeerPhase, { name: 'sent-2' }>, m, raw, env);
    case 4:
      return onReq4(conv, state, m.SleepTime, env);
    case 5:
      return onReq5(conv, state, env);
    case 6:
      return onReq6(conv, state, m, env);
    case 7:
      return onReq7(conv, state, m, raw, env);
    case 8:
      return onReq8(conv, state, p as Extract<PeerPhase, { name: 'sent-7' }>, m, raw, env);
    case 9:
      return onReq9(conv, state, p as Extract<PeerPhase, { name: 'sent-8' }>, m, env);
  }
}

function onReq1(conv: PeerConversation, state: NoobPeerState): PeerStepResult {
  // A registered peer (4) moves to 3 before it starts EAP-NOOB; the runner does that, this is a guard.
  const peerState = (state.state === 4 ? 3 : state.state) as 0 | 1 | 2 | 3;
  const peerId = peerState === 0 ? undefined : currentPeerId(state);
  const exchange: NoobExchange | undefined = peerState === 3 ? 'reconnect' : undefined;
  return {
    conv: { ...conv, phase: { name: 'sent-1', peerState }, ...(exchange ? { exchange } : {}) },
    response: { Type: 1, ...(peerId !== undefined ? { PeerId: peerId } : {}), PeerState: peerState },
    log: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Initial Exchange.

function chooseDirp(dirs: number, env: PeerEnv): Directions {
  const common = dirs & env.config.directions;
  if (common === 0) throw err(NoobErrorCode.NoMutualDirection, 'no OOB direction in common');
  // RFC 9140 §3.3.2: a single direction avoids showing the user two messages.
  return (common === 3 ? env.config.preferredDirection : common) as Directions;
}

/** §3.3.2 / 5003: a ServerURL (or the old "Url") that is not an https URL makes the OOB step impossible. */
function checkServerInfo(serverInfo: string): void {
  const info = parseObject(serverInfo);
  for (const key of ['ServerURL', 'Url']) {
    if (!(key in info)) continue;
    const url = info[key];
    if (typeof url !== 'string' || !isAcceptableOobUrl(url)) throw err(NoobErrorCode.InvalidServerUrl, `${key} is not an https URL`);
  }
}

function onReq2(conv: PeerConversation, m: Req2, raw: Texts, env: PeerEnv): PeerStepResult {
  const { config } = env;
  if (!m.Vers.includes(NOOB_VERSION)) throw err(NoobErrorCode.NoMutualVersion, 'server does not offer version 1');
  const suite = config.cryptosuites.find((s) => m.Cryptosuites.includes(s));
  if (suite === undefined) throw err(NoobErrorCode.NoMutualCryptosuite, 'no cryptosuite in common');
  const dirp = chooseDirp(m.Dirs, env);
  checkServerInfo(m.ServerInfo);
  const rsp2: Rsp2 = { Type: 2, Verp: NOOB_VERSION, PeerId: m.PeerId, Cryptosuitep: suite, Dirp: dirp, PeerInfo: config.peerInfoText };
  return {
    conv: {
      ...conv,
      exchange: 'initial',
      phase: { name: 'sent-2', peerId: m.PeerId, req2: m, req2Raw: raw, rsp2Texts: memberTexts(rsp2, false, codecOptions(config)), suite, dirp },
    },
    response: rsp2,
    log: [],
  };
}

function onReq3(conv: PeerConversation, state: NoobPeerState, p: Extract<PeerPhase, { name: 'sent-2' }>, m: Req3, raw: Texts, env: PeerEnv): PeerStepResult {
  const { config } = env;
  const pks = importPublicJwk(p.suite, m.PKs, jwkOptions(config));
  const keyPair = env.random.keyPair(p.suite, jwkOptions(config));
  const np = env.random.nonce();
  const z = ecdhSharedSecret(keyPair.privateKey, pks);
  const rsp3 = { Type: 3 as const, PeerId: p.peerId, PKp: keyPair.publicJwk, Np: b64urlEncode(np) };
  const compat = config.compat;
  const transcript = initialTranscript(
    { req2: p.req2Raw, rsp2: p.rsp2Texts, req3: raw, rsp3: memberTexts(rsp3, false, codecOptions(config)) },
    initialNaiSlotText(conv.identity, p.req2.NewNAI, compat),
  );
  // In the vogeltak profile the member is a realm, not an NAI to use as identity.
  const newNai = compat === 'none' ? p.req2.NewNAI : undefined;
  const save: NoobPeerState = {
    format: 1,
    state: 1,
    ephemeral: {
      peerId: p.peerId,
      transcript,
      cryptosuite: p.suite,
      dirp: p.dirp,
      identity: conv.identity,
      ...(newNai !== undefined ? { newNai } : {}),
      serverInfo: p.req2.ServerInfo,
      z: b64urlEncode(z),
      ...(m.SleepTime !== undefined ? { sleepTime: m.SleepTime } : {}),
      sentOobs: [],
      oobRejections: 0,
    },
    ...(state.unwantedUntil !== undefined ? { unwantedUntil: state.unwantedUntil } : {}),
  };
  return {
    conv: { ...conv, phase: { name: 'finished' } },
    response: rsp3,
    save,
    log: [{ level: 'info', msg: 'eap-noob peer: Initial Exchange complete', fields: { peerId: p.peerId, cryptosuite: p.suite, dirp: p.dirp } }],
  };
}

// ---------------------------------------------------------------------------------------------
// Waiting and Completion Exchanges.

function onReq4(conv: PeerConversation, state: NoobPeerState, sleepTime: number | undefined, env: PeerEnv): PeerStepResult {
  const e = state.ephemeral!;
  // §3.2.2: after each Waiting Exchange forget our own Noobs older than NoobTimeout.
  const sentOobs = e.sentOobs.filter((o) => !oobTooOld(o, env));
  const save: NoobPeerState = { ...state, ephemeral: { ...e, sentOobs, ...(sleepTime !== undefined ? { sleepTime } : {}) } };
  return {
    conv: { ...conv, exchange: 'waiting', phase: { name: 'finished' } },
    response: { Type: 4, PeerId: e.peerId },
    save,
    log: [],
  };
}

export function oobTooOld(o: PeerOob, env: { now: Date; config: Pick<ResolvedNoobPeerConfig, 'noobTimeout'> }): boolean {
  return env.now.getTime() - Date.parse(o.at) > env.config.noobTimeout * 1000;
}

function onReq5(conv: PeerConversation, state: NoobPeerState, env: PeerEnv): PeerStepResult {
  const e = state.ephemeral!;
  const received = e.receivedOob;
  if (!received) throw err(NoobErrorCode.UnexpectedMessageType, 'no OOB message received');
  const id = noobId(e.cryptosuite as Cryptosuite, received.noob, env.config.noobIdForm);
  return {
    conv: { ...conv, exchange: 'completion', phase: { name: 'sent-5', peerId: e.peerId } },
    response: { Type: 5, PeerId: e.peerId, NoobId: id },
    log: [],
  };
}

function onReq6(conv: PeerConversation, state: NoobPeerState, m: Req6, env: PeerEnv): PeerStepResult {
  const e = state.ephemeral!;
  const suite = e.cryptosuite as Cryptosuite;
  const candidates = [...(e.receivedOob ? [e.receivedOob] : []), ...e.sentOobs.filter((o) => !oobTooOld(o, env))];
  const found = candidates.find((o) => matchesNoobId(suite, o.noob, m.NoobId));
  if (!found) throw err(NoobErrorCode.UnrecognizedOobId, 'NoobId does not name an OOB message we know');
  const { keys, macs, macp } = completionExchange(e.transcript, suite, b64urlDecodeExact(e.z, 32, 'Z'), found.noob, env.config.kdfSuppPrivLengthByte);
  if (!constantTimeEqualText(m.MACs, macs)) throw err(NoobErrorCode.HmacVerificationFailure, 'MACs does not verify');
  // Commit (§3.2.3): the association exists from the moment we answer, EAP-Success or not.
  const save: NoobPeerState = {
    format: 1,
    state: 4,
    association: {
      peerId: e.peerId,
      verp: Number(e.transcript.verp),
      cryptosuite: suite,
      nai: conv.identity,
      kz: b64urlEncode(keys.kz),
      serverInfo: e.serverInfo,
      peerInfo: e.transcript.peerInfo,
    },
  };
  return {
    conv: { ...conv, exchange: 'completion', phase: { name: 'finished' }, keys: { msk: keys.msk, emsk: keys.emsk, sessionId: sessionId(keys.methodId) } },
    response: { Type: 6, PeerId: e.peerId, MACp: macp },
    save,
    log: [{ level: 'info', msg: 'eap-noob peer: Completion Exchange answered; registered', fields: { peerId: e.peerId } }],
  };
}

// ---------------------------------------------------------------------------------------------
// Reconnect Exchange.

function rank(env: PeerEnv, suite: number | undefined): number {
  return suite === undefined ? Infinity : (env.config.cryptosuiteRank[suite] ?? 0);
}

function onReq7(conv: PeerConversation, state: NoobPeerState, m: Req7, raw: Texts, env: PeerEnv): PeerStepResult {
  const { config } = env;
  const a = state.association!;
  if (!m.Vers.includes(NOOB_VERSION)) throw err(NoobErrorCode.NoMutualVersion, 'server does not offer version 1');
  // Downgrade protection (§3.4.2): nothing weaker than our suite, or than the previous one if an upgrade may have been lost.
  const floor = Math.min(rank(env, a.cryptosuite), rank(env, a.cryptosuitePrev));
  const suite = config.cryptosuites.find((s) => m.Cryptosuites.includes(s) && rank(env, s) >= floor);
  if (suite === undefined) throw err(NoobErrorCode.NoMutualCryptosuite, 'no acceptable cryptosuite offered');
  if (m.ServerInfo !== undefined) checkServerInfo(m.ServerInfo);
  const peerInfoSent = config.peerInfoText !== a.peerInfo ? config.peerInfoText : undefined;
  const rsp7: Rsp7 = { Type: 7, Verp: NOOB_VERSION, PeerId: a.peerId, Cryptosuitep: suite, ...(peerInfoSent !== undefined ? { PeerInfo: peerInfoSent } : {}) };
  return {
    conv: {
      ...conv,
      exchange: 'reconnect',
      phase: { name: 'sent-7', peerId: a.peerId, req7: m, req7Raw: raw, rsp7Texts: memberTexts(rsp7, false, codecOptions(config)), suite, ...(peerInfoSent !== undefined ? { peerInfoSent } : {}) },
    },
    response: rsp7,
    log: [],
  };
}

function onReq8(conv: PeerConversation, state: NoobPeerState, p: Extract<PeerPhase, { name: 'sent-7' }>, m: Req8, raw: Texts, env: PeerEnv): PeerStepResult {
  const { config } = env;
  const a = state.association!;
  const mode = m.KeyingMode;
  // A suite change is only possible with a fresh key exchange (§3.4.2).
  if (p.suite !== a.cryptosuite && p.suite !== a.cryptosuitePrev && mode !== 3) throw err(NoobErrorCode.InvalidData, 'a new cryptosuite requires KeyingMode 3');
  let z2: Uint8Array | undefined;
  let pkp2: string | undefined;
  if (mode !== 1) {
    const pks2 = importPublicJwk(p.suite, m.PKs2!, jwkOptions(config));
    const kp = env.random.keyPair(p.suite, jwkOptions(config));
    z2 = ecdhSharedSecret(kp.privateKey, pks2);
    pkp2 = kp.publicJwk;
  }
  const np2 = env.random.nonce();
  const rsp8 = { Type: 8 as const, PeerId: p.peerId, ...(pkp2 !== undefined ? { PKp2: pkp2 } : {}), Np2: b64urlEncode(np2) };
  const newNai = config.compat === 'none' ? p.req7.NewNAI : undefined;
  const slots = reconnectSlots(
    reconnectTranscript(
      { req7: p.req7Raw, rsp7: p.rsp7Texts, req8: raw, rsp8: memberTexts(rsp8, false, codecOptions(config)) },
      reconnectNaiSlotText(newNai ?? a.nai, config),
    ),
  );
  const kzs: { kz: string; rollback: boolean }[] = [{ kz: a.kz, rollback: false }, ...(a.kzPrev !== undefined ? [{ kz: a.kzPrev, rollback: true }] : [])];
  const candidates = kzs.map(({ kz, rollback }): ReconnectCandidate => {
    const keys = deriveReconnectKeys({
      keyingMode: mode,
      suite: p.suite,
      kz: b64urlDecodeExact(kz, 32, 'Kz'),
      ...(z2 ? { z2 } : {}),
      np2,
      ns2: b64urlDecodeExact(m.Ns2, 32, 'Ns2'),
      suppPrivLengthByte: config.kdfSuppPrivLengthByte,
    });
    const { server, peer } = exchangeMacs(p.suite, keys.kms2, keys.kmp2, slots);
    return { keys, macs2: server, macp2: peer, rollback };
  });
  return {
    conv: {
      ...conv,
      phase: {
        name: 'sent-8',
        peerId: p.peerId,
        suite: p.suite,
        keyingMode: mode,
        candidates,
        ...(newNai !== undefined ? { newNai } : {}),
        ...(p.req7.ServerInfo !== undefined ? { serverInfo: p.req7.ServerInfo } : {}),
        ...(p.peerInfoSent !== undefined ? { peerInfoSent: p.peerInfoSent } : {}),
      },
    },
    response: rsp8,
    log: [],
  };
}

function onReq9(conv: PeerConversation, state: NoobPeerState, p: Extract<PeerPhase, { name: 'sent-8' }>, m: Req9, _env: PeerEnv): PeerStepResult {
  const a = state.association!;
  // §3.4.2: try the current Kz first, then KzPrev (rollback of an upgrade the server missed).
  const c = p.candidates.find((x) => constantTimeEqualText(m.MACs2, x.macs2));
  if (!c) throw err(NoobErrorCode.HmacVerificationFailure, 'MACs2 does not verify');
  let suite = a.cryptosuite;
  let kz = a.kz;
  if (c.rollback) {
    suite = a.cryptosuitePrev ?? a.cryptosuite;
    kz = a.kzPrev!;
  }
  let prev: { cryptosuitePrev: number; kzPrev: string } | undefined;
  if (p.keyingMode === 3) {
    prev = { cryptosuitePrev: suite, kzPrev: kz };
    suite = p.suite;
    kz = b64urlEncode(c.keys.kz!);
  }
  const save: NoobPeerState = {
    format: 1,
    state: 4,
    association: {
      peerId: a.peerId,
      verp: a.verp,
      cryptosuite: suite,
      ...(prev ?? {}),
      nai: p.newNai ?? a.nai,
      kz,
      serverInfo: p.serverInfo ?? a.serverInfo,
      peerInfo: p.peerInfoSent ?? a.peerInfo,
    },
  };
  return {
    conv: { ...conv, phase: { name: 'finished' }, keys: { msk: c.keys.msk, emsk: c.keys.emsk, sessionId: sessionId(c.keys.methodId) } },
    response: { Type: 9, PeerId: p.peerId, MACp2: c.macp2 },
    save,
    log: [{ level: 'info', msg: 'eap-noob peer: Reconnect Exchange answered', fields: { peerId: p.peerId, keyingMode: p.keyingMode, cryptosuite: p.suite, rollback: c.rollback } }],
  };
}

// ---------------------------------------------------------------------------------------------
// Errors.

/** State effects of an error in either direction (RFC 9140 §3.6.4). */
function stateAfterError(conv: PeerConversation, state: NoobPeerState, code: number, env: PeerEnv, weSentIt: boolean): NoobPeerState | undefined {
  // The recipient of 2003 goes back to state 1 (OOB Reject): the server did not recognise the
  // NoobId of the server-to-peer message we accepted. The sender of 2003 keeps its state.
  if (!weSentIt && code === NoobErrorCode.UnrecognizedOobId && state.state === 2 && state.ephemeral) {
    const { receivedOob: _dropped, ...rest } = state.ephemeral;
    return { ...state, state: 1, ephemeral: rest };
  }
  if (!weSentIt && code === NoobErrorCode.UnwantedPeer) {
    return { ...state, unwantedUntil: new Date(env.now.getTime() + UNWANTED_BACKOFF_MS).toISOString() };
  }
  // A failed Reconnect leaves both sides in state 3.
  if (conv.exchange === 'reconnect' && state.state === 4) return { ...state, state: 3 };
  return undefined;
}

function errorResponse(conv: PeerConversation, state: NoobPeerState, e: NoobError, env: PeerEnv): PeerStepResult {
  const peerId = 'peerId' in conv.phase ? conv.phase.peerId : currentPeerId(state);
  const save = stateAfterError(conv, state, e.code, env, true);
  return {
    conv: { ...conv, phase: { name: 'finished' }, peerError: e.code },
    response: { Type: 0, ...(peerId !== undefined ? { PeerId: peerId } : {}), ErrorCode: e.code, ErrorInfo: e.message.slice(0, 200) },
    ...(save ? { save } : {}),
    log: [{ level: 'warn', msg: `eap-noob peer: sending error ${e.code}`, fields: { peerId, errorCode: e.code, detail: e.message } }],
  };
}

function serverError(conv: PeerConversation, state: NoobPeerState, m: Extract<NoobRequest, { Type: 0 }>, env: PeerEnv): PeerStepResult {
  const save = stateAfterError(conv, state, m.ErrorCode, env, false);
  const peerId = m.PeerId ?? currentPeerId(state);
  // Answering with a Type-0 response lets the server end the conversation at once (EAP-Failure).
  return {
    conv: { ...conv, phase: { name: 'finished' }, serverError: m.ErrorCode },
    response: { Type: 0, ...(peerId !== undefined ? { PeerId: peerId } : {}), ErrorCode: m.ErrorCode },
    ...(save ? { save } : {}),
    log: [{ level: 'warn', msg: `eap-noob peer: server sent error ${m.ErrorCode}`, fields: { peerId, errorCode: m.ErrorCode, errorInfo: m.ErrorInfo } }],
  };
}

/** The OOB URL prefix from ServerInfo (ServerURL, or "Url" as older servers send). */
export function serverUrlOf(serverInfo: string): string | undefined {
  try {
    const info = parseObject(serverInfo);
    if (!isJsonObject(info)) return undefined;
    for (const key of ['ServerURL', 'Url']) {
      const v = info[key];
      if (typeof v === 'string' && isAcceptableOobUrl(v)) return v;
    }
  } catch {
    // not an object: no URL
  }
  return undefined;
}
