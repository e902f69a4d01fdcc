/**
 * Which text goes into which slot of the 17-element Hoob/MAC input (RFC 9140 §3.3.2, Table 4).
 * Shared by the server, the OOB step and the peer so the three can never disagree.
 */
import type { NoobInitialTranscript } from '../store/noob-peers.js';
import type { MacInputSlots } from './crypto/digests.js';
import { realmOf } from './nai.js';

export type { NoobInitialTranscript } from '../store/noob-peers.js';

/** JSON text of an absent value. */
export const EMPTY = '""';

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
