/**
 * What our EAP-NOOB peer remembers between EAP conversations (RFC 9140 §3.1 and §4.1, peer
 * column). Plain JSON-friendly data: secrets are base64url strings so the state file is one JSON
 * document written atomically.
 */
import type { NoobInitialTranscript } from '../../store/noob-peers.js';
import { NOOB_DEFAULT_NAI, NOOB_PROVISIONING_NAI } from '../../noob/nai.js';
import type { ResolvedNoobPeerConfig } from './config.js';

export type PeerAssociationState = 0 | 1 | 2 | 3 | 4;

/** An OOB message we showed (Dir 1) or accepted (Dir 2). */
export interface PeerOob {
  noob: string;
  hoob: string;
  /** ISO time. */
  at: string;
}

/** Unfinished registration (states 1 and 2). */
export interface PeerEphemeral {
  peerId: string;
  transcript: NoobInitialTranscript;
  cryptosuite: number;
  dirp: number;
  /** Identity we used in the Initial Exchange. */
  identity: string;
  /** NewNAI the server gave us, if any (RFC 9140: use it from now on). */
  newNai?: string;
  /** ServerInfo text of the Initial Exchange (for the OOB URL). */
  serverInfo: string;
  /** ECDHE secret Z, base64url. */
  z: string;
  sleepTime?: number;
  /** Noobs we showed (peer-to-server), newest last. */
  sentOobs: PeerOob[];
  /** The server-to-peer OOB message we accepted (state 2). */
  receivedOob?: PeerOob;
  oobRejections: number;
}

/** Persistent association (states 3 and 4). */
export interface PeerAssociation {
  peerId: string;
  verp: number;
  cryptosuite: number;
  cryptosuitePrev?: number;
  nai: string;
  /** Kz, base64url. */
  kz: string;
  /** Kz before the last cryptosuite upgrade, base64url (RFC 9140 §3.4.2 KzPrev). */
  kzPrev?: string;
  /** Latest ServerInfo text received. */
  serverInfo: string;
  /** PeerInfo text the server has from us, so we send PeerInfo in Reconnect only when it changed. */
  peerInfo: string;
}

export interface NoobPeerState {
  format: 1;
  state: PeerAssociationState;
  ephemeral?: PeerEphemeral;
  association?: PeerAssociation;
  /** Server told us 2001 (unwanted peer): do not try again before this ISO time. */
  unwantedUntil?: string;
}

export const INITIAL_PEER_STATE: NoobPeerState = { format: 1, state: 0 };

/** Where the peer keeps its state (a file for the CLI, memory for tests). */
export interface PeerStateStore {
  load(): Promise<NoobPeerState>;
  /** Must be durable and atomic: the peer commits a state transition by saving it before answering. */
  save(state: NoobPeerState): Promise<void>;
}

export class MemoryPeerStateStore implements PeerStateStore {
  constructor(private state: NoobPeerState = INITIAL_PEER_STATE) {}
  async load(): Promise<NoobPeerState> {
    return structuredClone(this.state);
  }
  async save(state: NoobPeerState): Promise<void> {
    this.state = structuredClone(state);
  }
}

/**
 * The NAI for EAP-Response/Identity (RFC 9140 §3.3.1): registered → the association's NAI;
 * registering with a NewNAI → that NewNAI; registering → the identity of our Initial Exchange;
 * otherwise the configured one, else the provisioning identity (`fallback` selects the older
 * noob@eap-noob.arpa form).
 */
export function peerIdentity(s: NoobPeerState, config: ResolvedNoobPeerConfig, fallback = false): string {
  if ((s.state === 3 || s.state === 4) && s.association) return s.association.nai;
  if ((s.state === 1 || s.state === 2) && s.ephemeral) return s.ephemeral.newNai ?? s.ephemeral.identity;
  if (config.identity !== undefined) return config.identity;
  if (config.compat === 'vogeltak') return 'noob@eap-noob.net';
  return fallback ? NOOB_DEFAULT_NAI : NOOB_PROVISIONING_NAI;
}
