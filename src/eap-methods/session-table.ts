import { randomBytes } from 'node:crypto';
import type { Conversation } from './conversation.js';

export interface SessionTableLimits {
  /** Conversations held at once; beyond it new ones are refused (existing ones keep going). */
  maxSessions: number;
  /** A conversation with no Response for this long is dropped (FreeRADIUS and hostapd use 60 s). */
  idleTimeoutMs: number;
}

/**
 * Conversations by State, bounded in count and age. A new conversation from a Calling-Station-Id
 * replaces an unfinished older one from the same station on the same RADIUS client: a peer that
 * restarts must not leave its old half-done TLS state pinned until the idle timeout. The client is
 * part of the key because a station's MAC is whatever a NAS says it is: a spoofed MAC on another
 * NAS must not end a victim's handshake in progress.
 */
export class SessionTable {
  private readonly byState = new Map<string, Conversation>();
  private readonly byStation = new Map<string, string>();

  constructor(private readonly limits: SessionTableLimits, private readonly onEvict: (c: Conversation, why: string) => void) {}

  get size(): number {
    return this.byState.size;
  }

  /** Creates a conversation, or returns undefined when the table is full. */
  create(init: Omit<Conversation, 'id' | 'state' | 'createdAt' | 'lastSeen'>, now: number): Conversation | undefined {
    const station = stationKey(init);
    if (station !== undefined) {
      const older = this.byStation.get(station);
      if (older) this.remove(older, 'replaced by a new conversation from the same station');
    }
    if (this.byState.size >= this.limits.maxSessions) {
      this.expire(now);
      if (this.byState.size >= this.limits.maxSessions) return undefined;
    }
    const state = randomBytes(16);
    const key = state.toString('hex');
    const conversation: Conversation = { ...init, id: key.slice(0, 12), state, createdAt: now, lastSeen: now };
    this.byState.set(key, conversation);
    if (station !== undefined) this.byStation.set(station, key);
    return conversation;
  }

  get(state: Uint8Array): Conversation | undefined {
    return this.byState.get(Buffer.from(state).toString('hex'));
  }

  end(conversation: Conversation, why: string): void {
    this.remove(Buffer.from(conversation.state).toString('hex'), why);
  }

  /** Drops conversations idle past the limit; returns how many went. */
  expire(now: number): number {
    let n = 0;
    // Map iteration order is insertion order, but lastSeen moves, so every entry is checked.
    for (const [key, c] of this.byState) {
      if (now - c.lastSeen > this.limits.idleTimeoutMs && !c.busy) {
        this.remove(key, 'idle timeout');
        n++;
      }
    }
    return n;
  }

  clear(): void {
    for (const key of [...this.byState.keys()]) this.remove(key, 'shutdown');
  }

  private remove(key: string, why: string): void {
    const c = this.byState.get(key);
    if (!c) return;
    this.byState.delete(key);
    const station = stationKey(c);
    if (station !== undefined && this.byStation.get(station) === key) this.byStation.delete(station);
    this.onEvict(c, why);
  }
}

function stationKey(c: Pick<Conversation, 'clientName' | 'callingStationId' | 'nas'>): string | undefined {
  // The source address too: one client entry may be a prefix covering many access points, and a
  // sibling AP must not end a station's conversation on another. JSON keeps the key unambiguous.
  return c.callingStationId ? JSON.stringify([c.clientName, c.nas.clientAddress ?? '', c.callingStationId]) : undefined;
}
