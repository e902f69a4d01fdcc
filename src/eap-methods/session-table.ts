import { randomOctets } from '../util/random-octets.js';
import type { Conversation } from './conversation.js';

export interface SessionTableLimits {
  /** Conversations held at once. */
  maxSessions: number;
  /** A conversation with no Response for this long is dropped (FreeRADIUS and hostapd use 60 s). */
  idleTimeoutMs: number;
  /**
   * Share of `maxSessions` one NAS may hold (0 < share ≤ 1). A NAS is a RADIUS client entry seen
   * from one source address: a prefix entry may cover many access points.
   */
  clientShare: number;
  /** Conversations one Calling-Station-Id may hold on one NAS; a new one replaces the oldest. */
  stationConversations: number;
  /** Responses after which a conversation counts as established (0: only the method's word). */
  protectAfterRounds: number;
  /**
   * With several worker threads, the octet that names this table's worker: it leads every State
   * (then 17 octets), so the primary routes a Response by State without a table of its own.
   */
  statePrefix?: number;
}

/**
 * How far a conversation has got, which decides what gives way when room is short:
 *  fresh        no Response since it began (the first Request may never have reached anyone);
 *  progressing  the peer answered at least once;
 *  established  the method said the peer proved something (a completed TLS handshake), or it
 *               passed `protectAfterRounds` Responses. Never evicted for a newcomer.
 */
export type Progress = 'fresh' | 'progressing' | 'established';

export type Admission =
  | { kind: 'admitted'; conversation: Conversation; /** Conversations evicted to make room (not replacements). */ evicted: number }
  | { kind: 'refused'; reason: string };

/**
 * Why a conversation left the table: `finished` when the authenticator ended it, else the table's
 * own reason. Fixed words, so that they can be counted.
 */
export type Removal =
  | 'finished'
  | 'idle timeout'
  | 'evicted for a new conversation (no Response yet)'
  | 'evicted for a new conversation (idle longest)'
  | 'replaced by a new conversation from the same station'
  | 'shutdown';

export interface SessionTableStats {
  conversations: number;
  fresh: number;
  progressing: number;
  established: number;
  /** NAS seen with conversations right now. */
  clients: number;
  /** Since start: conversations evicted to make room, and new ones refused for want of it. */
  evicted: number;
  refused: number;
}

interface Entry {
  readonly key: string;
  readonly conversation: Conversation;
  progress: Progress;
  readonly nas: NasUsage;
  readonly station: string | undefined;
}

/** One NAS's conversations: a count and its own recency lists, for its share. */
interface NasUsage {
  readonly key: string;
  count: number;
  readonly lists: Record<Progress, Map<string, Entry>>;
}

/** Insertion-ordered maps used as LRU lists: the first entry is the one idle longest. */
function newLists(): Record<Progress, Map<string, Entry>> {
  return { fresh: new Map(), progressing: new Map(), established: new Map() };
}

/**
 * Conversations by State, bounded in count, age and share.
 *
 * When room is short a newcomer may evict, oldest first, a conversation that has had no Response
 * yet, and only when there is none of those the progressing one idle longest; an established
 * conversation never gives way. Each NAS holds at most `clientShare` of the table: past it, the
 * NAS's newcomer can only take the place of that NAS's own conversations, so a flood through one
 * NAS leaves everyone else's room alone. Each decision looks at the head of a recency list, so
 * admission costs the same with one conversation or a million (busy entries are skipped, and at
 * most the requests in flight are busy).
 *
 * A new conversation from a Calling-Station-Id that already holds `stationConversations` on the
 * same NAS replaces that station's oldest, whatever its progress: the NAS says the station began
 * again, and a peer that restarts must not leave its old half-done TLS state pinned until the idle
 * timeout. The NAS (client entry and source address) is part of that key because a station's MAC
 * is whatever a NAS says it is: a spoofed MAC on another NAS must not end a victim's handshake.
 */
export class SessionTable {
  private readonly byState = new Map<string, Entry>();
  private readonly lists = newLists();
  private readonly byNas = new Map<string, NasUsage>();
  /** A station's conversations, oldest first (usually one: an array, not a Map, keeps it small). */
  private readonly byStation = new Map<string, Entry[]>();
  private readonly clientCap: number;
  private evictedCount = 0;
  private refusedCount = 0;

  constructor(private readonly limits: SessionTableLimits, private readonly onEvict: (c: Conversation, why: Removal) => void) {
    if (!(limits.clientShare > 0 && limits.clientShare <= 1)) throw new RangeError('clientShare must be in (0, 1]');
    if (!Number.isInteger(limits.stationConversations) || limits.stationConversations < 1) throw new RangeError('stationConversations must be a positive integer');
    if (limits.statePrefix !== undefined && !(Number.isInteger(limits.statePrefix) && limits.statePrefix >= 0 && limits.statePrefix <= 255)) throw new RangeError('statePrefix must be an octet');
    this.clientCap = Math.max(1, Math.floor(limits.maxSessions * limits.clientShare));
  }

  get size(): number {
    return this.byState.size;
  }

  /** Most conversations one NAS may hold. */
  get perClientLimit(): number {
    return this.clientCap;
  }

  get stats(): SessionTableStats {
    return {
      conversations: this.byState.size,
      fresh: this.lists.fresh.size,
      progressing: this.lists.progressing.size,
      established: this.lists.established.size,
      clients: this.byNas.size,
      evicted: this.evictedCount,
      refused: this.refusedCount,
    };
  }

  /** Admits a new conversation, making room by the rules above, or says why it cannot. */
  create(init: Omit<Conversation, 'id' | 'state' | 'createdAt' | 'lastSeen'>, now: number): Admission {
    const nasKey = nasKeyOf(init);
    const station = stationKeyOf(init);
    if (station !== undefined) {
      let held = this.byStation.get(station);
      while (held !== undefined && held.length >= this.limits.stationConversations) {
        this.remove(held[0]!, 'replaced by a new conversation from the same station');
        held = this.byStation.get(station);
      }
    }

    let evicted = 0;
    const usage = this.byNas.get(nasKey);
    if (usage && usage.count >= this.clientCap) {
      const victim = this.makeRoom(usage.lists, now);
      if (victim === undefined) return this.refuse(`this NAS holds its share of the session table (${this.clientCap} conversations), none of which may give way`);
      if (victim) evicted++;
    }
    if (this.byState.size >= this.limits.maxSessions) {
      const victim = this.makeRoom(this.lists, now);
      if (victim === undefined) return this.refuse(`session table full (${this.limits.maxSessions} conversations), none of which may give way`);
      if (victim) evicted++;
    }

    const prefixed = this.limits.statePrefix !== undefined;
    const state = randomOctets(prefixed ? 17 : 16);
    if (prefixed) state[0] = this.limits.statePrefix!;
    const key = state.toString('hex');
    const conversation = newConversation(init, key.slice(0, 12), state, now);
    // Looked up again: making room may have removed the NAS's last conversation, and its record.
    const nas = this.byNas.get(nasKey) ?? this.nasUsage(nasKey);
    const entry: Entry = { key, conversation, progress: 'fresh', nas, station };
    this.byState.set(key, entry);
    this.lists.fresh.set(key, entry);
    nas.lists.fresh.set(key, entry);
    nas.count++;
    if (station !== undefined) {
      const held = this.byStation.get(station);
      if (held) held.push(entry);
      else this.byStation.set(station, [entry]);
    }
    return { kind: 'admitted', conversation, evicted };
  }

  get(state: Uint8Array): Conversation | undefined {
    return this.byState.get(Buffer.from(state).toString('hex'))?.conversation;
  }

  progressOf(conversation: Conversation): Progress | undefined {
    return this.entryOf(conversation)?.progress;
  }

  /** A Response arrived for the conversation: it is active now, and no longer fresh. */
  touch(conversation: Conversation, now: number): void {
    conversation.lastSeen = now;
    const entry = this.entryOf(conversation);
    if (entry) this.place(entry, entry.progress === 'fresh' ? 'progressing' : entry.progress);
  }

  /** The conversation has proved itself (see `Progress`); from now on it never gives way. */
  establish(conversation: Conversation): void {
    const entry = this.entryOf(conversation);
    if (entry && entry.progress !== 'established') this.place(entry, 'established');
  }

  /** False when the conversation had already left the table. */
  end(conversation: Conversation, why: Removal): boolean {
    const entry = this.entryOf(conversation);
    if (!entry) return false;
    this.remove(entry, why);
    return true;
  }

  /** Drops conversations idle past the limit; returns how many went. */
  expire(now: number): number {
    let n = 0;
    // Each list is in order of last activity, so the walk stops at the first one still in time.
    for (const list of Object.values(this.lists)) {
      for (const entry of list.values()) {
        if (now - entry.conversation.lastSeen <= this.limits.idleTimeoutMs) break;
        if (entry.conversation.busy) continue;
        this.remove(entry, 'idle timeout');
        n++;
      }
    }
    return n;
  }

  clear(): void {
    for (const entry of [...this.byState.values()]) this.remove(entry, 'shutdown');
  }

  /**
   * Frees one place among `lists` (the whole table's or one NAS's): an idle-expired conversation if
   * the oldest of a list is one (false: nothing was evicted that was still alive), else the oldest
   * fresh, else the progressing one idle longest (true). undefined: nothing may give way.
   */
  private makeRoom(lists: Record<Progress, Map<string, Entry>>, now: number): boolean | undefined {
    for (const list of Object.values(lists)) {
      const oldest = firstIdle(list);
      if (oldest && now - oldest.conversation.lastSeen > this.limits.idleTimeoutMs) {
        this.remove(oldest, 'idle timeout');
        return false;
      }
    }
    const victim = firstIdle(lists.fresh) ?? firstIdle(lists.progressing);
    if (!victim) return undefined;
    this.remove(victim, victim.progress === 'fresh' ? 'evicted for a new conversation (no Response yet)' : 'evicted for a new conversation (idle longest)');
    this.evictedCount++;
    return true;
  }

  private refuse(reason: string): Admission {
    this.refusedCount++;
    return { kind: 'refused', reason };
  }

  private place(entry: Entry, progress: Progress): void {
    this.lists[entry.progress].delete(entry.key);
    entry.nas.lists[entry.progress].delete(entry.key);
    entry.progress = progress;
    // Re-inserting moves the entry to the young end of its list.
    this.lists[progress].set(entry.key, entry);
    entry.nas.lists[progress].set(entry.key, entry);
  }

  private nasUsage(key: string): NasUsage {
    const usage: NasUsage = { key, count: 0, lists: newLists() };
    this.byNas.set(key, usage);
    return usage;
  }

  private entryOf(conversation: Conversation): Entry | undefined {
    const entry = this.byState.get(Buffer.from(conversation.state).toString('hex'));
    return entry?.conversation === conversation ? entry : undefined;
  }

  private remove(entry: Entry, why: Removal): void {
    if (this.byState.get(entry.key) !== entry) return;
    this.byState.delete(entry.key);
    this.lists[entry.progress].delete(entry.key);
    const { nas } = entry;
    nas.lists[entry.progress].delete(entry.key);
    if (--nas.count === 0) this.byNas.delete(nas.key);
    if (entry.station !== undefined) {
      const held = this.byStation.get(entry.station);
      const at = held?.indexOf(entry) ?? -1;
      if (held && at >= 0) held.splice(at, 1);
      if (held?.length === 0) this.byStation.delete(entry.station);
    }
    this.onEvict(entry.conversation, why);
  }
}

/**
 * Field by field, not `{ ...init }`: on Node 20 a spread clone in hot code got a hidden class of
 * its own per conversation (≈ 1 KB each in a heap snapshot, a fifth of a flood conversation).
 */
function newConversation(init: Omit<Conversation, 'id' | 'state' | 'createdAt' | 'lastSeen'>, id: string, state: Uint8Array, now: number): Conversation {
  const c: Conversation = {
    id,
    state,
    createdAt: now,
    lastSeen: now,
    clientName: init.clientName,
    nas: init.nas,
    outstandingId: init.outstandingId,
    lastRequest: init.lastRequest,
    rounds: init.rounds,
    methodRounds: init.methodRounds,
    triedMethods: init.triedMethods,
    invalidPackets: init.invalidPackets,
    allowed: init.allowed,
    methodAnswered: init.methodAnswered,
    busy: init.busy,
    maxEapPacket: init.maxEapPacket,
  };
  if (init.callingStationId !== undefined) c.callingStationId = init.callingStationId;
  if (init.identity !== undefined) c.identity = init.identity;
  if (init.method !== undefined) c.method = init.method;
  if (init.session !== undefined) c.session = init.session;
  return c;
}

function firstIdle(list: Map<string, Entry>): Entry | undefined {
  for (const entry of list.values()) if (!entry.conversation.busy) return entry;
  return undefined;
}

// JSON keeps the keys unambiguous whatever the names contain.
function nasKeyOf(c: Pick<Conversation, 'clientName' | 'nas'>): string {
  return JSON.stringify([c.clientName, c.nas.clientAddress ?? '']);
}

function stationKeyOf(c: Pick<Conversation, 'clientName' | 'callingStationId' | 'nas'>): string | undefined {
  return stationKey(c.clientName, c.nas.clientAddress, c.callingStationId);
}

/**
 * What a station is, for the per-station conversation limit here and for the worker threads'
 * routing (src/server/workers/pool.ts), which must agree. The source address too: one client entry
 * may be a prefix covering many access points, and a sibling AP must not end a station's
 * conversation on another.
 */
export function stationKey(clientName: string, clientAddress: string | undefined, callingStationId: string | undefined): string | undefined {
  return callingStationId ? JSON.stringify([clientName, clientAddress ?? '', callingStationId]) : undefined;
}
