/**
 * The transcript of each exchange and what both sides compute over it (RFC 9140 §3.3.2, §3.4,
 * §3.5): which member text of which message goes into which of the 17 slots of Hoob and the MACs,
 * and the MACs themselves. The server, the OOB step and our peer all build their inputs here, so
 * they cannot drift apart — a mistake here shows in the byte-exact vector tests, not in both
 * copies at once.
 *
 * Member texts come from the message codec: the raw wire text of a received message, the exact
 * encoding of one we sent (`memberTexts`). Slots copy them verbatim, never re-encoded.
 */
import type { NoobInitialTranscript } from '../store/noob-peers.js';
import { b64urlDecodeExact } from './base64url.js';
import type { Cryptosuite } from './crypto/cryptosuites.js';
import { mac, macInput, type MacInputSlots } from './crypto/digests.js';
import { deriveCompletionKeys, type CompletionKeys } from './crypto/kdf.js';
import { NoobError, NoobErrorCode } from './errors.js';
import { realmOf } from './nai.js';

export type { NoobInitialTranscript } from '../store/noob-peers.js';

/** Member name → JSON text of its value, for one message. */
export type MemberTexts = ReadonlyMap<string, string>;

/** JSON text of an absent value. */
export const EMPTY = '""';

function member(texts: MemberTexts, name: string, message: string): string {
  const t = texts.get(name);
  // The codec guarantees required members; reaching this means a caller passed the wrong message.
  if (t === undefined) throw new NoobError(NoobErrorCode.InvalidMessageStructure, `${message} has no ${name}`);
  return t;
}

/** The four messages of the Initial Exchange, as member texts, from either side's point of view. */
export interface InitialExchangeTexts {
  req2: MemberTexts;
  rsp2: MemberTexts;
  req3: MemberTexts;
  rsp3: MemberTexts;
}

/**
 * The Initial Exchange values that enter Hoob and the Completion MACs. `naiSlot` is the JSON text
 * of slot 9 (`initialNaiSlotText`), which depends on who sent which NAI, not on one message.
 */
export function initialTranscript(m: InitialExchangeTexts, naiSlot: string): NoobInitialTranscript {
  return {
    vers: member(m.req2, 'Vers', 'type-2 request'),
    verp: member(m.rsp2, 'Verp', 'type-2 response'),
    peerId: member(m.req2, 'PeerId', 'type-2 request'),
    cryptosuites: member(m.req2, 'Cryptosuites', 'type-2 request'),
    dirs: member(m.req2, 'Dirs', 'type-2 request'),
    serverInfo: member(m.req2, 'ServerInfo', 'type-2 request'),
    cryptosuitep: member(m.rsp2, 'Cryptosuitep', 'type-2 response'),
    dirp: member(m.rsp2, 'Dirp', 'type-2 response'),
    nai: naiSlot,
    peerInfo: member(m.rsp2, 'PeerInfo', 'type-2 response'),
    pks: member(m.req3, 'PKs', 'type-3 request'),
    ns: member(m.req3, 'Ns', 'type-3 request'),
    pkp: member(m.rsp3, 'PKp', 'type-3 response'),
    np: member(m.rsp3, 'Np', 'type-3 response'),
  };
}

/** Slots for Hoob and for MACs/MACp of the Completion Exchange (KeyingMode 0). */
export function initialSlots(t: NoobInitialTranscript, noobB64: string): MacInputSlots {
  return {
    vers: t.vers,
    verp: t.verp,
    peerId: t.peerId,
    cryptosuites: t.cryptosuites,
    dirs: t.dirs,
    serverInfo: t.serverInfo,
    cryptosuitep: t.cryptosuitep,
    dirp: t.dirp,
    nai: t.nai,
    peerInfo: t.peerInfo,
    keyingMode: '0',
    pks: t.pks,
    ns: t.ns,
    pkp: t.pkp,
    np: t.np,
    noob: JSON.stringify(noobB64),
  };
}

/** Texts of one Reconnect Exchange that enter MACs2/MACp2. */
export interface ReconnectTranscript {
  /** Vers, PeerId and Cryptosuites of the type-7 request. */
  vers: string;
  peerId: string;
  cryptosuites: string;
  /** ServerInfo if sent in this type-7 request, else absent. */
  serverInfo?: string;
  /** Verp and Cryptosuitep of the type-7 response. */
  verp: string;
  cryptosuitep: string;
  /** JSON string text for the NAI slot (decision D3; see config `reconnectMacNai`). */
  nai: string;
  /** PeerInfo if sent in this type-7 response, else absent. */
  peerInfo?: string;
  keyingMode: string;
  pks2?: string;
  ns2: string;
  pkp2?: string;
  np2: string;
}

/** The four messages of the Reconnect Exchange up to the MACs, as member texts. */
export interface ReconnectExchangeTexts {
  req7: MemberTexts;
  rsp7: MemberTexts;
  req8: MemberTexts;
  rsp8: MemberTexts;
}

/**
 * The Reconnect values that enter MACs2/MACp2. Optional members (ServerInfo, PeerInfo, PKs2,
 * PKp2) count only if they were sent in this exchange. `naiSlot`: `reconnectNaiSlotText`.
 */
export function reconnectTranscript(m: ReconnectExchangeTexts, naiSlot: string): ReconnectTranscript {
  const serverInfo = m.req7.get('ServerInfo');
  const peerInfo = m.rsp7.get('PeerInfo');
  const pks2 = m.req8.get('PKs2');
  const pkp2 = m.rsp8.get('PKp2');
  return {
    vers: member(m.req7, 'Vers', 'type-7 request'),
    peerId: member(m.req7, 'PeerId', 'type-7 request'),
    cryptosuites: member(m.req7, 'Cryptosuites', 'type-7 request'),
    ...(serverInfo !== undefined ? { serverInfo } : {}),
    verp: member(m.rsp7, 'Verp', 'type-7 response'),
    cryptosuitep: member(m.rsp7, 'Cryptosuitep', 'type-7 response'),
    nai: naiSlot,
    ...(peerInfo !== undefined ? { peerInfo } : {}),
    keyingMode: member(m.req8, 'KeyingMode', 'type-8 request'),
    ...(pks2 !== undefined ? { pks2 } : {}),
    ns2: member(m.req8, 'Ns2', 'type-8 request'),
    ...(pkp2 !== undefined ? { pkp2 } : {}),
    np2: member(m.rsp8, 'Np2', 'type-8 response'),
  };
}

/** Slots for MACs2/MACp2: Dirs, Dirp and Noob are empty, KeyingMode is 1–3. */
export function reconnectSlots(r: ReconnectTranscript): MacInputSlots {
  return {
    vers: r.vers,
    verp: r.verp,
    peerId: r.peerId,
    cryptosuites: r.cryptosuites,
    dirs: EMPTY,
    serverInfo: r.serverInfo ?? EMPTY,
    cryptosuitep: r.cryptosuitep,
    dirp: EMPTY,
    nai: r.nai,
    peerInfo: r.peerInfo ?? EMPTY,
    keyingMode: r.keyingMode,
    pks: r.pks2 ?? EMPTY,
    ns: r.ns2,
    pkp: r.pkp2 ?? EMPTY,
    np: r.np2,
    noob: EMPTY,
  };
}

/** The server's MAC (slot 0 = 2) and the peer's (slot 0 = 1) over the same slots: MACs/MACp, or MACs2/MACp2. */
export function exchangeMacs(suite: Cryptosuite, serverKey: Uint8Array, peerKey: Uint8Array, slots: MacInputSlots): { server: string; peer: string } {
  return { server: mac(suite, serverKey, macInput(2, slots)), peer: mac(suite, peerKey, macInput(1, slots)) };
}

/**
 * Keys and MACs of a Completion Exchange with one Noob (KeyingMode 0): the KDF over Z and the
 * transcript's nonces, then MACs and MACp over the Initial Exchange slots.
 */
export function completionExchange(
  t: NoobInitialTranscript,
  suite: Cryptosuite,
  z: Uint8Array,
  noobB64: string,
  suppPrivLengthByte: boolean,
): { keys: CompletionKeys; macs: string; macp: string } {
  const keys = deriveCompletionKeys({
    suite,
    z,
    np: b64urlDecodeExact(JSON.parse(t.np) as string, 32, 'Np'),
    ns: b64urlDecodeExact(JSON.parse(t.ns) as string, 32, 'Ns'),
    noob: b64urlDecodeExact(noobB64, 16, 'Noob'),
    suppPrivLengthByte,
  });
  const { server, peer } = exchangeMacs(suite, keys.kms, keys.kmp, initialSlots(t, noobB64));
  return { keys, macs: server, macp: peer };
}

/**
 * Slot 9 of Hoob and the Completion MACs (RFC 9140 §3.3.2): the NewNAI of the Initial Exchange if
 * one was sent, else the identity the peer used in it. With the vogeltak profile the member is
 * "Realm" and the slot holds that realm, or the realm of the identity when the Realm was empty.
 */
export function initialNaiSlotText(identity: string, newNaiOrRealm: string | undefined, compat: 'none' | 'vogeltak'): string {
  if (compat === 'vogeltak') return JSON.stringify(newNaiOrRealm || realmOf(identity));
  return JSON.stringify(newNaiOrRealm ?? identity);
}

/** Slot 9 of MACs2/MACp2 (decision D3; the realm with the vogeltak profile). */
export function reconnectNaiSlotText(naiAfter: string, s: { compat: 'none' | 'vogeltak'; reconnectMacNai: 'nai' | 'empty' }): string {
  if (s.compat === 'vogeltak') return JSON.stringify(realmOf(naiAfter));
  return s.reconnectMacNai === 'empty' ? EMPTY : JSON.stringify(naiAfter);
}
