import { digest } from '../util/digest.js';

/*
 * RFC 5080 §2.2.2 duplicate detection. Key: (receiving socket, source address, source port,
 * Identifier). A hit with the same Request Authenticator is a retransmission; it gets the cached
 * reply bytes verbatim (re-encoding would draw new MPPE salts) or, while the original is still
 * being processed, nothing. Unlike FreeRADIUS we also require identical request bytes.
 */

export type CacheLookup =
  | { kind: 'new' }
  | { kind: 'in-flight' }
  | { kind: 'replay'; reply: Uint8Array }
  /** Same key and authenticator but different octets: not a retransmission, not a new request. */
  | { kind: 'mismatch' };

export interface ReplyCacheOptions {
  /** How long a reply stays replayable after it was produced (RFC 5080: 5-30 s). */
  ttlMs: number;
  /** Hard cap on entries; the oldest go first. Bounds memory at roughly cap * 4 KiB. */
  maxEntries: number;
  now?: () => number;
}

/** Handle returned by begin(); completing a ticket that was replaced or evicted is a no-op. */
export interface CacheTicket {
  readonly key: string;
}

interface Entry extends CacheTicket {
  authenticator: string;
  fingerprint: string;
  reply: Uint8Array | undefined;
  expiresAt: number;
}

export function replyCacheKey(socket: number, address: string, port: number, identifier: number): string {
  return `${socket}|${address}|${port}|${identifier}`;
}

/** Digest of the request octets; cheaper to keep than the request itself. */
export function requestFingerprint(request: Uint8Array): string {
  return digest('sha256', [request]).toString('base64');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export class ReplyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ReplyCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = Math.max(1, options.maxEntries);
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(key: string, authenticator: Uint8Array, fingerprint: string): CacheLookup {
    const entry = this.entries.get(key);
    if (!entry) return { kind: 'new' };
    if (entry.reply !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return { kind: 'new' };
    }
    if (entry.authenticator !== hex(authenticator)) return { kind: 'new' };
    if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
    return entry.reply === undefined ? { kind: 'in-flight' } : { kind: 'replay', reply: entry.reply };
  }

  /**
   * Marks a request as being processed, replacing whatever the key held: the client reused the
   * Identifier, so it gave up on the old request (RFC 5080 §2.2.2). Call only after the new
   * packet's Message-Authenticator verified, so forged packets cannot purge entries.
   */
  begin(key: string, authenticator: Uint8Array, fingerprint: string): CacheTicket {
    this.entries.delete(key);
    const entry: Entry = { key, authenticator: hex(authenticator), fingerprint, reply: undefined, expiresAt: Infinity };
    this.entries.set(key, entry);
    this.sweep();
    return entry;
  }

  /** Stores the reply for replay. Returns false when the ticket is no longer current. */
  complete(ticket: CacheTicket, reply: Uint8Array): boolean {
    const entry = this.entries.get(ticket.key);
    if (entry !== ticket) return false;
    entry.reply = reply;
    entry.expiresAt = this.now() + this.ttlMs;
    // Re-insert so that Map order approximates expiry order and sweep() can stop early.
    this.entries.delete(ticket.key);
    this.entries.set(ticket.key, entry);
    return true;
  }

  /** Forgets a request that produced no reply, so a retransmission is processed afresh. */
  abandon(ticket: CacheTicket): void {
    if (this.entries.get(ticket.key) === ticket) this.entries.delete(ticket.key);
  }

  /** Drops expired entries from the oldest end and enforces the size cap. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      const expired = entry.reply !== undefined && entry.expiresAt <= now;
      if (!expired && this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
