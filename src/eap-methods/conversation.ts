import type { EapMethod, EapMethodSession, NasFacts } from './method.js';

/** One EAP conversation between a peer and us, as the session table keeps it. */
export interface Conversation {
  readonly id: string;
  /** RADIUS State value that routes the next Access-Request here (RFC 5080 §2.1.2). */
  readonly state: Uint8Array;
  readonly createdAt: number;
  lastSeen: number;
  identity?: string;
  callingStationId?: string;
  clientName: string;
  /** What the NAS told us in the Access-Request that began the conversation. */
  nas: NasFacts;
  /** Identifier and bytes of the Request awaiting a Response. */
  outstandingId: number;
  lastRequest: Uint8Array;
  rounds: number;
  /**
   * Responses of the current method's type handed to it since it started: what `protectAfterRounds`
   * counts (Identity, Naks and unusable Responses prove nothing of any method).
   */
  methodRounds: number;
  /** Methods started in this conversation: a Nak may only move to one not yet tried. */
  triedMethods: string[];
  invalidPackets: number;
  /** Methods policy allows for this identity, in preference order. */
  allowed: string[];
  method?: EapMethod;
  /** The name `method` is registered under: grants are in this name, whatever the method object says later. */
  methodName?: string;
  session?: EapMethodSession;
  /** True once the peer answered the method's Request in kind: no more Naks (RFC 3748 §2.1). */
  methodAnswered: boolean;
  /** Set while a Response is being processed, so a concurrent duplicate is dropped, not run twice. */
  busy: boolean;
  maxEapPacket: number;
}
