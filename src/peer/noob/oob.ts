/**
 * The peer's side of the OOB step (RFC 9140 §3.3.2–3.3.3): making the message the device shows
 * (peer-to-server, Dir = 1) and accepting the one it reads (server-to-peer, Dir = 2). Pure
 * functions over the peer state; the caller persists the state they return.
 */
import { b64urlEncode } from '../../noob/base64url.js';
import type { Cryptosuite } from '../../noob/crypto/cryptosuites.js';
import { constantTimeEqualText, hoob } from '../../noob/crypto/digests.js';
import type { NoobRandom } from '../../noob/crypto/random.js';
import { encodeOobQuery, formatOobUrl, OobFormatError, parseOobMessage, type OobMessage } from '../../noob/oob.js';
import { initialSlots } from '../../noob/transcript.js';
import type { ResolvedNoobPeerConfig } from './config.js';
import { oobTooOld, serverUrlOf } from './peer-state-machine.js';
import type { NoobPeerState } from './state.js';

export interface OobToShow {
  state: NoobPeerState;
  message: OobMessage;
  /** `<ServerURL>?P=&N=&H=`, or only the query when the server sent no URL. */
  text: string;
  /** True when a new Noob was made (the state must be saved before showing it). */
  created: boolean;
}

/**
 * The OOB message to display now, or undefined when the peer is not waiting for a peer-to-server
 * OOB step. A new Noob is made every NoobInterval; older ones stay valid until NoobTimeout.
 */
export function peerOobToShow(state: NoobPeerState, env: { config: ResolvedNoobPeerConfig; now: Date; random: NoobRandom }): OobToShow | undefined {
  const e = state.ephemeral;
  // §3.3.3: peers output OOB messages only in state 1.
  if (state.state !== 1 || !e || (e.dirp & 1) === 0) return undefined;
  const live = e.sentOobs.filter((o) => !oobTooOld(o, env));
  const newest = live[live.length - 1];
  let created = false;
  let chosen = newest;
  if (!newest || env.now.getTime() - Date.parse(newest.at) >= env.config.noobInterval * 1000) {
    const noob = b64urlEncode(env.random.noob());
    chosen = { noob, hoob: hoob(e.cryptosuite as Cryptosuite, 1, initialSlots(e.transcript, noob)), at: env.now.toISOString() };
    live.push(chosen);
    created = true;
  }
  const message: OobMessage = { peerId: e.peerId, noob: chosen!.noob, hoob: chosen!.hoob };
  const base = serverUrlOf(e.serverInfo);
  return {
    state: { ...state, ephemeral: { ...e, sentOobs: live } },
    message,
    text: base !== undefined ? formatOobUrl(base, message) : encodeOobQuery(message),
    created,
  };
}

export type AcceptOobResult =
  | { ok: true; state: NoobPeerState }
  | { ok: false; reason: 'malformed' | 'not-waiting' | 'direction-not-negotiated' | 'wrong-peer' | 'hoob-mismatch' | 'retries-exhausted'; detail: string; state: NoobPeerState };

/**
 * Accepts a server-to-peer OOB message (a URL or "P=..&N=..&H=.."): Hoob must verify for our
 * registration with Dir = 2. Invalid messages count against OobRetries; after that many the
 * registration is abandoned (state 0) so the device starts over.
 */
export function acceptServerOob(state: NoobPeerState, text: string, env: { config: ResolvedNoobPeerConfig; now: Date }): AcceptOobResult {
  let m: OobMessage;
  try {
    m = parseOobMessage(text);
  } catch (e) {
    if (e instanceof OobFormatError) return { ok: false, reason: 'malformed', detail: e.message, state };
    throw e;
  }
  const e = state.ephemeral;
  // §3.3.3: once in state 2, accept no further OOB messages.
  if (state.state !== 1 || !e) return { ok: false, reason: 'not-waiting', detail: 'this device is not waiting for an OOB message', state };
  if ((e.dirp & 2) === 0) return { ok: false, reason: 'direction-not-negotiated', detail: 'server-to-peer OOB was not negotiated', state };
  const valid = m.peerId === e.peerId && constantTimeEqualText(hoob(e.cryptosuite as Cryptosuite, 2, initialSlots(e.transcript, m.noob)), m.hoob);
  if (valid) {
    return { ok: true, state: { ...state, state: 2, ephemeral: { ...e, receivedOob: { noob: m.noob, hoob: m.hoob, at: env.now.toISOString() } } } };
  }
  const rejections = e.oobRejections + 1;
  if (rejections >= env.config.oobRetries) {
    return { ok: false, reason: 'retries-exhausted', detail: 'too many invalid OOB messages; starting over', state: { format: 1, state: 0 } };
  }
  return {
    ok: false,
    reason: m.peerId === e.peerId ? 'hoob-mismatch' : 'wrong-peer',
    detail: m.peerId === e.peerId ? 'the code does not match this registration (Hoob)' : 'the code is for another device',
    state: { ...state, ephemeral: { ...e, oobRejections: rejections } },
  };
}
