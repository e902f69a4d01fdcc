/**
 * The EAP layer of our EAP-NOOB peer: answers EAP-Request/Identity, Notification and other methods
 * (Nak proposing 56), feeds type-56 requests to the sans-IO peer state machine, saves the state at
 * each commit point before answering, and checks the MPPE keys of an Access-Accept against the
 * MSK. It talks to the network only through `EapTransport`.
 */
import { decodeEap, encodeEap, EapType } from '../../eap-methods/eap-packet.js';
import { constantTimeEqualText } from '../../noob/crypto/digests.js';
import { mppeKeysFromMsk, type MppeKeys } from '../../noob/crypto/mppe.js';
import { systemRandom, type NoobRandom } from '../../noob/crypto/random.js';
import { encodeResponse } from '../../noob/message-codec.js';
import { EAP_TYPE_NOOB } from '../../noob/messages.js';
import { codecOptions } from '../../noob/config.js';
import type { NoobExchange } from '../../noob/server-state-machine.js';
import type { Log } from '../../util/log.js';
import { resolvePeerConfig, type NoobPeerConfig, type ResolvedNoobPeerConfig } from './config.js';
import { peerStep, startPeerConversation, type PeerConversation, type SessionKeys } from './peer-state-machine.js';
import { peerIdentity, type NoobPeerState, type PeerStateStore } from './state.js';

export interface EapTransportReply {
  /** Access-Challenge, Access-Accept or Access-Reject (or their equivalents off RADIUS). */
  code: 'challenge' | 'accept' | 'reject';
  /** The EAP packet carried by the reply, if any. */
  eap?: Uint8Array;
  /** MS-MPPE keys of an Access-Accept, decrypted. */
  mppe?: Partial<MppeKeys>;
}

/** One EAP conversation's carrier: sends our EAP-Response, returns the authenticator's reply. */
export interface EapTransport {
  sendEap(eap: Uint8Array): Promise<EapTransportReply>;
}

export interface NoobPeerDeps {
  transport: EapTransport;
  store: PeerStateStore;
  config: NoobPeerConfig | ResolvedNoobPeerConfig;
  log: Log;
  clock?: () => Date;
  random?: NoobRandom;
}

export interface ConversationOutcome {
  result: 'success' | 'failure';
  /** Which exchange ran, if EAP-NOOB started. */
  exchange?: NoobExchange;
  identity: string;
  /** Peer state after the conversation. */
  state: NoobPeerState;
  keys?: SessionKeys;
  /** Whether the Access-Accept's MPPE keys equal our MSK halves. */
  mppe?: 'match' | 'mismatch' | 'absent';
  serverError?: number;
  peerError?: number;
  /** False when the server never sent an EAP-NOOB request (it did not accept our identity). */
  noobStarted: boolean;
  /** Human-readable reason for a failure. */
  reason?: string;
}

function isResolved(c: NoobPeerConfig | ResolvedNoobPeerConfig): c is ResolvedNoobPeerConfig {
  return typeof (c as ResolvedNoobPeerConfig).peerInfoText === 'string';
}

/** Bound on request/response rounds; the longest exchange (Reconnect) needs five. */
const MAX_ROUNDS = 40;

function eapResponse(identifier: number, type: number, data: Uint8Array): Uint8Array {
  return encodeEap({ code: 2, identifier, type, data });
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && constantTimeEqualText(Buffer.from(a).toString('hex'), Buffer.from(b).toString('hex'));
}

/** Runs one EAP conversation. `fallbackIdentity` selects noob@eap-noob.arpa instead of @noob.eap.arpa. */
export async function runNoobConversation(deps: NoobPeerDeps, opts: { fallbackIdentity?: boolean } = {}): Promise<ConversationOutcome> {
  const config = isResolved(deps.config) ? deps.config : resolvePeerConfig(deps.config);
  const clock = deps.clock ?? (() => new Date());
  const random = deps.random ?? systemRandom;
  let state = await deps.store.load();
  // RFC 9140 §3.1: a registered peer (4) moves to Reconnecting (3) before it starts EAP-NOOB.
  if (state.state === 4) {
    state = { ...state, state: 3 };
    await deps.store.save(state);
  }
  const identity = peerIdentity(state, config, opts.fallbackIdentity === true);
  const log = deps.log.child({ identity });
  let conv: PeerConversation = startPeerConversation(identity);
  let noobStarted = false;
  const outcome = (result: 'success' | 'failure', extra: Partial<ConversationOutcome> = {}): ConversationOutcome => ({
    result,
    identity,
    state,
    noobStarted,
    ...(conv.exchange ? { exchange: conv.exchange } : {}),
    ...(conv.keys ? { keys: conv.keys } : {}),
    ...(conv.serverError !== undefined ? { serverError: conv.serverError } : {}),
    ...(conv.peerError !== undefined ? { peerError: conv.peerError } : {}),
    ...extra,
  });

  // Over RADIUS the conversation starts with our EAP-Response/Identity (the NAS asked for it).
  let out = eapResponse(0, EapType.Identity, new Uint8Array(Buffer.from(identity, 'utf8')));
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const reply = await deps.transport.sendEap(out);
    if (reply.code === 'reject') return outcome('failure', { reason: 'Access-Reject / EAP-Failure' });
    if (reply.code === 'accept') {
      // An EAP-Success before we answered type 6 or 9 authenticates nothing (RFC 4137 §4.1).
      if (!conv.keys) return outcome('failure', { reason: 'premature EAP-Success ignored' });
      const expected = mppeKeysFromMsk(conv.keys.msk);
      const mppe = reply.mppe?.recv === undefined && reply.mppe?.send === undefined ? 'absent' : sameBytes(expected.recv, reply.mppe?.recv) && sameBytes(expected.send, reply.mppe?.send) ? 'match' : 'mismatch';
      if (mppe === 'mismatch') log.warn({}, 'eap-noob peer: MS-MPPE keys differ from our MSK');
      return outcome('success', { mppe });
    }
    if (!reply.eap) return outcome('failure', { reason: 'Access-Challenge without EAP-Message' });
    let packet;
    try {
      packet = decodeEap(reply.eap);
    } catch (e) {
      return outcome('failure', { reason: `bad EAP packet: ${(e as Error).message}` });
    }
    if (packet.code === 3) return conv.keys ? outcome('success', { mppe: 'absent' }) : outcome('failure', { reason: 'premature EAP-Success ignored' });
    if (packet.code === 4) return outcome('failure', { reason: 'EAP-Failure' });
    if (packet.code !== 1) return outcome('failure', { reason: 'unexpected EAP-Response from the server' });
    switch (packet.type) {
      case EapType.Identity:
        out = eapResponse(packet.identifier, EapType.Identity, new Uint8Array(Buffer.from(identity, 'utf8')));
        break;
      case EapType.Notification:
        out = eapResponse(packet.identifier, EapType.Notification, new Uint8Array(0));
        break;
      case EAP_TYPE_NOOB: {
        noobStarted = true;
        const r = peerStep(conv, state, packet.data, { config, now: clock(), random });
        for (const e of r.log) log[e.level](e.fields, e.msg);
        conv = r.conv;
        if (r.save) {
          // Commit point: the state must be on disk before the response leaves.
          await deps.store.save(r.save);
          state = r.save;
        }
        out = eapResponse(packet.identifier, EAP_TYPE_NOOB, encodeResponse(r.response, codecOptions(config)));
        break;
      }
      default:
        // Legacy Nak proposing EAP-NOOB (RFC 3748 §5.3.1).
        out = eapResponse(packet.identifier, EapType.Nak, Uint8Array.of(EAP_TYPE_NOOB));
    }
  }
  return outcome('failure', { reason: 'too many EAP rounds' });
}

/**
 * One conversation with the identity rules of RFC 9965: in state 0 without a configured identity,
 * try @noob.eap.arpa and, if the server never starts EAP-NOOB for it, noob@eap-noob.arpa.
 */
export async function runNoobPeer(deps: NoobPeerDeps): Promise<ConversationOutcome> {
  const config = isResolved(deps.config) ? deps.config : resolvePeerConfig(deps.config);
  const first = await runNoobConversation({ ...deps, config });
  const usedDefault = first.state.state === 0 && config.identity === undefined && config.compat === 'none';
  if (first.result === 'failure' && !first.noobStarted && usedDefault) {
    deps.log.info({ identity: first.identity }, 'eap-noob peer: server did not start EAP-NOOB; trying noob@eap-noob.arpa');
    return runNoobConversation({ ...deps, config }, { fallbackIdentity: true });
  }
  return first;
}
