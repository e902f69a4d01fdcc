/**
 * The EAP-NOOB peers aggregate: everything the server remembers about one PeerId between EAP
 * conversations. Records are plain data; the store does not interpret them, it only guarantees
 * that a transition replaces one record (and its OOB messages) atomically, and only if nobody else
 * changed it since it was read (optimistic concurrency on `version`).
 *
 * The interface is asynchronous so a PostgreSQL implementation (many servers, one database) can
 * follow unchanged; the SQLite implementation is synchronous underneath.
 */

/** Server association states (RFC 9140 §3.1): 1 Waiting for OOB, 2 OOB Received, 3 Reconnecting, 4 Registered. State 0 = no record. */
export type NoobServerState = 1 | 2 | 3 | 4;

/**
 * JSON texts of the Initial Exchange values that enter Hoob and the Completion MACs, exactly as
 * they appeared on the wire (RFC 9140 §3.3.2: copied verbatim, never re-encoded).
 */
export interface NoobInitialTranscript {
  vers: string;
  verp: string;
  peerId: string;
  cryptosuites: string;
  dirs: string;
  serverInfo: string;
  cryptosuitep: string;
  dirp: string;
  /** The JSON string text placed in the NAI slot (NewNAI if sent, else the identity of the Initial Exchange). */
  nai: string;
  peerInfo: string;
  pks: string;
  ns: string;
  pkp: string;
  np: string;
}

/** Data of an unfinished registration (states 1 and 2). */
export interface NoobEphemeralData {
  transcript: NoobInitialTranscript;
  /** EAP-Response/Identity the peer used in the Initial Exchange. */
  identity: string;
  /** NewNAI sent in the Initial Exchange, if any. */
  newNai?: string;
  cryptosuite: number;
  dirp: number;
  /** ECDHE shared secret of the Initial Exchange. Secret. */
  z: Uint8Array;
  /** SleepTime last sent to the peer. */
  sleepTime?: number;
  /** Waiting Exchanges completed so far. */
  waitingExchanges: number;
  /** OOB messages rejected so far (bad Hoob); RFC 9140 OobRetries. */
  oobRejections: number;
}

/** The persistent association (states 3 and 4). */
export interface NoobAssociationData {
  verp: number;
  cryptosuite: number;
  /** The peer's NAI in this association. */
  nai: string;
  /** Association key Kz. Secret. */
  kz: Uint8Array;
  /** ServerInfo text the peer last received, so Reconnect sends ServerInfo only when it changed. */
  serverInfo: string;
}

/**
 * An OOB message that was accepted once (a peer-to-server delivery, or the server-to-peer code a
 * Completion succeeded with). It is never accepted again, whatever happens to the registration
 * afterwards: RFC 9140's 2003 rule can send the server back to state 1, and without this memory the
 * same URL could then be delivered a second time — for another account. Hoob identifies the code:
 * it is a hash over the Noob and the whole Initial Exchange, so one Noob has one Hoob per PeerId
 * and direction. The Noob itself (a secret) is not kept.
 */
export interface NoobConsumedOob {
  direction: 1 | 2;
  /** Hoob, base64url (16 bytes). */
  hoob: string;
  /** The account of the person who delivered or requested it, if any. */
  account?: string;
  consumedAt: Date;
}

/** One OOB message the server received (direction 1, peer-to-server) or issued (direction 2). */
export interface NoobOobMessage {
  direction: 1 | 2;
  /** Noob, base64url (16 bytes). Secret until used. */
  noob: string;
  /** Hoob, base64url (16 bytes). */
  hoob: string;
  createdAt: Date;
  /**
   * Fixed when the message is stored, from the configuration of that moment; a later change of
   * `noobTimeout` does not move it. Issued (2): the Completion Exchange refuses the code after it
   * (RFC 9140 §3.2.3). Received (1): the latest moment the device can still know its Noob (the
   * sender forgets it after NoobTimeout, §3.6); the device, not the server, enforces that.
   */
  expiresAt: Date;
  /** The account of the person who delivered (1) or requested (2) it. */
  account?: string;
}

export interface NoobPeerRecord {
  peerId: string;
  state: NoobServerState;
  /** Incremented by the store on every write. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** The user account the device is bound to, if any. */
  account?: string;
  /**
   * True once an accepted OOB delivery (or a completed registration) has chosen `account` —
   * including the choice of no account. From then on the protocol never changes `account`: a
   * rollback keeps it, and a delivery or issued code for another account is refused. Only an
   * administrator's reset (`resetNoobOwner`) clears it.
   */
  accountBound: boolean;
  /** PeerInfo text as the peer last sent it (unauthenticated until the association exists). */
  peerInfo?: string;
  /** Present exactly in states 1 and 2. */
  ephemeral?: NoobEphemeralData;
  /** Present exactly in states 3 and 4. */
  association?: NoobAssociationData;
  oobs: NoobOobMessage[];
  /**
   * Every OOB message this registration ever accepted. Append-only: a transition may add entries
   * but the store keeps those it already has even when `next` omits them; they go only with the record.
   */
  consumedOobs: NoobConsumedOob[];
  lastAuthenticatedAt?: Date;
  /**
   * The NAS (RADIUS client entry and source address) the Initial Exchange came through, for the
   * per-NAS quota of unbound registrations. Unauthenticated, like everything a NAS reports.
   */
  registeredVia?: string;
}

/** What a transition writes; the store assigns `version`. */
export type NoobPeerWrite = Omit<NoobPeerRecord, 'version'>;

export interface NoobPeerQuery {
  states?: readonly NoobServerState[];
  /** A string: bound to that account; null: not bound to any account. */
  account?: string | null;
  limit?: number;
}

/** The quotas a new registration is held to (registration-quota.ts decides them). */
export interface NoobRegistrationLimits {
  /** Records in states 1 and 2, all NAS together. */
  maxEphemeral: number;
  /** Unbound registrations made through the new record's `registeredVia`. */
  maxUnboundVia: number;
}

/** Which quota was full when a registration was refused, and what the count found. */
export interface NoobQuotaRefusal {
  quota: 'nas' | 'table';
  count: number;
  limit: number;
}

/** `exists`: the peer has a record already (another conversation made it first); nothing written. */
export type NoobRegistrationOutcome = { created: true } | { created: false; refusal: NoobQuotaRefusal } | { created: false; exists: true };

export interface NoobPeerStore {
  get(peerId: string): Promise<NoobPeerRecord | undefined>;
  /**
   * The stored version of the record, undefined when there is none. Every write changes it, so a
   * record read earlier at this version is still exactly the stored one: a cheap check before
   * reusing it.
   */
  version(peerId: string): Promise<number | undefined>;
  /**
   * Replaces the record of `peerId` (and all its OOB messages) in one transaction, provided its
   * stored version still equals `expectedVersion` (null: the record must not exist). Consumed OOB
   * messages are only ever added (see `consumedOobs`). `next` null deletes the record. Resolves false, writing nothing, when the record changed in the meantime;
   * rejects, writing nothing, when the write itself fails.
   */
  transition(peerId: string, expectedVersion: number | null, next: NoobPeerWrite | null): Promise<boolean>;
  /**
   * Creates the record of a new registration, as `transition(next.peerId, null, next)` would,
   * unless a quota is full: the counts are read in the creating transaction itself, and creations
   * take turns across every connection to the database (other servers, other worker threads), so
   * registrations made at the same moment cannot together pass a quota that each alone respects.
   */
  createRegistration(next: NoobPeerWrite, limits: NoobRegistrationLimits): Promise<NoobRegistrationOutcome>;
  list(query: NoobPeerQuery): Promise<NoobPeerRecord[]>;
  /** Number of records in states 1 and 2. */
  countEphemeral(): Promise<number>;
  /**
   * Deletes records in states 1 and 2 created before `createdBefore` that hold no issued (direction
   * 2) OOB message still valid at `now`, oldest first, at most `limit`. Persistent associations
   * (3, 4) are never touched: RFC 9140 §3.1 forbids dropping them without the user's or an
   * administrator's say-so.
   */
  deleteExpiredEphemeral(createdBefore: Date, now: Date, limit?: number): Promise<number>;
  /** Unbound registrations (see `isUnbound`), all or those made through one NAS. */
  countUnbound(registeredVia?: string): Promise<number>;
  /** Deletes unbound registrations created before `before`, oldest first, at most `limit`. */
  deleteUnboundBefore(before: Date, limit?: number): Promise<number>;
  /** Removes a peer on explicit user/administrator request (RFC 9140 "user reset"). */
  remove(peerId: string): Promise<boolean>;
}

/** An in-memory store with the same semantics, for unit tests and a server run without a data directory. */
export class MemoryNoobPeerStore implements NoobPeerStore {
  private readonly records = new Map<string, NoobPeerRecord>();

  async get(peerId: string): Promise<NoobPeerRecord | undefined> {
    const r = this.records.get(peerId);
    return r ? structuredClone(r) : undefined;
  }

  async version(peerId: string): Promise<number | undefined> {
    return this.records.get(peerId)?.version;
  }

  async transition(peerId: string, expectedVersion: number | null, next: NoobPeerWrite | null): Promise<boolean> {
    return transitionIn(this.records, peerId, expectedVersion, next);
  }

  async createRegistration(next: NoobPeerWrite, limits: NoobRegistrationLimits): Promise<NoobRegistrationOutcome> {
    // Synchronous from the counts to the write: no other creation can come between them.
    const via = next.registeredVia;
    const refusal = tableQuotaRefusal(countEphemeralIn(this.records), limits) ?? (via === undefined ? undefined : nasQuotaRefusal(countUnboundIn(this.records, via), limits));
    if (refusal) return { created: false, refusal };
    return transitionIn(this.records, next.peerId, null, next) ? { created: true } : { created: false, exists: true };
  }

  async list(query: NoobPeerQuery): Promise<NoobPeerRecord[]> {
    return [...this.records.values()]
      .filter((r) => !query.states || query.states.includes(r.state))
      .filter((r) => query.account === undefined || (query.account === null ? r.account === undefined : r.account === query.account))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, query.limit ?? 100)
      .map((r) => structuredClone(r));
  }

  async countEphemeral(): Promise<number> {
    return countEphemeralIn(this.records);
  }

  async deleteExpiredEphemeral(createdBefore: Date, now: Date, limit = Infinity): Promise<number> {
    const victims = [...this.records.values()]
      .filter((r) => r.state <= 2 && r.createdAt < createdBefore && !holdsLiveIssuedOob(r, now))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit);
    for (const v of victims) this.records.delete(v.peerId);
    return victims.length;
  }

  async countUnbound(registeredVia?: string): Promise<number> {
    return countUnboundIn(this.records, registeredVia);
  }

  async deleteUnboundBefore(before: Date, limit = Infinity): Promise<number> {
    const victims = [...this.records.values()]
      .filter((r) => isUnbound(r) && r.createdAt < before)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit);
    for (const v of victims) this.records.delete(v.peerId);
    return victims.length;
  }

  async remove(peerId: string): Promise<boolean> {
    return this.records.delete(peerId);
  }
}

// The memory store's workings, as functions: a method of its class would be timed as an operation.
function transitionIn(records: Map<string, NoobPeerRecord>, peerId: string, expectedVersion: number | null, next: NoobPeerWrite | null): boolean {
  const current = records.get(peerId);
  if ((current?.version ?? null) !== expectedVersion) return false;
  if (next === null) records.delete(peerId);
  else {
    const consumedOobs = mergeConsumed(current?.consumedOobs ?? [], next.consumedOobs);
    records.set(peerId, structuredClone({ ...next, consumedOobs, version: (expectedVersion ?? 0) + 1 }));
  }
  return true;
}

function countEphemeralIn(records: Map<string, NoobPeerRecord>): number {
  let n = 0;
  for (const r of records.values()) if (r.state <= 2) n++;
  return n;
}

function countUnboundIn(records: Map<string, NoobPeerRecord>, registeredVia?: string): number {
  let n = 0;
  for (const r of records.values()) if (isUnbound(r) && (registeredVia === undefined || r.registeredVia === registeredVia)) n++;
  return n;
}

/** A refusal when the ephemeral table holds `count` records and `limits` allow no more; else undefined. */
export function tableQuotaRefusal(count: number, limits: NoobRegistrationLimits): NoobQuotaRefusal | undefined {
  return count >= limits.maxEphemeral ? { quota: 'table', count, limit: limits.maxEphemeral } : undefined;
}

/** A refusal when the new record's NAS holds `count` unbound registrations and `limits` allow no more. */
export function nasQuotaRefusal(count: number, limits: NoobRegistrationLimits): NoobQuotaRefusal | undefined {
  return count >= limits.maxUnboundVia ? { quota: 'nas', count, limit: limits.maxUnboundVia } : undefined;
}

/**
 * A registration nobody has vouched for: Waiting for OOB (state 1), no account chosen, no OOB
 * message issued or received. Anyone who can reach a NAS can make these; nothing is lost when one
 * goes but the device's next Initial Exchange (RFC 9140 §3.7: dropping ephemeral state never
 * harms an association).
 */
export function isUnbound(r: Pick<NoobPeerRecord, 'state' | 'accountBound' | 'oobs'>): boolean {
  return r.state === 1 && !r.accountBound && r.oobs.length === 0;
}

/** True when `r` holds a code the server issued (direction 2) that is still valid at `now`. */
export function holdsLiveIssuedOob(r: Pick<NoobPeerRecord, 'oobs'>, now: Date): boolean {
  return r.oobs.some((o) => o.direction === 2 && !isOobExpired(o, now));
}

/** A message is valid up to and including its `expiresAt`. */
export function isOobExpired(o: Pick<NoobOobMessage, 'expiresAt'>, now: Date): boolean {
  return now.getTime() > o.expiresAt.getTime();
}

/** `kept` plus the entries of `added` whose Hoob it does not hold yet, in order. */
export function mergeConsumed(kept: readonly NoobConsumedOob[], added: readonly NoobConsumedOob[]): NoobConsumedOob[] {
  const seen = new Set(kept.map((c) => c.hoob));
  const out = [...kept];
  for (const c of added) {
    if (seen.has(c.hoob)) continue;
    seen.add(c.hoob);
    out.push(c);
  }
  return out;
}

/** True when `hoob` names an OOB message this registration has accepted before. */
export function isConsumed(record: Pick<NoobPeerRecord, 'consumedOobs'>, hoob: string): boolean {
  return record.consumedOobs.some((c) => c.hoob === hoob);
}
