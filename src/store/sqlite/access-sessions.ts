import type { AccessSession, AccessSessionStore } from '../access-sessions.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  identity: string;
  client_name: string;
  client_address: string;
  request_user_name: string | null;
  calling_station_id: string | null;
  nas_identifier: string | null;
  nas_ip_address: string | null;
  device_id: string | null;
  /** The Accept the device came with: an earlier version's upsert leaves both behind, and this tells. */
  device_accepted_at: string | null;
  accepted_at: string;
}

/** Records waiting for the next batch are written at most this long after the first of them. */
export const ACCESS_SESSION_FLUSH_MS = 50;
/** A batch this large is written at once. */
export const ACCESS_SESSION_BATCH = 64;
/** While writes fail, at most this many records wait (the oldest go first). */
export const ACCESS_SESSION_MAX_PENDING = 4096;

/**
 * One small upsert per Access-Accept, written from the RADIUS reply path. They are written in
 * batches, one transaction per ACCESS_SESSION_FLUSH_MS or ACCESS_SESSION_BATCH records: a commit of
 * its own cost each Accept about 22 µs of CPU, a batched upsert about 7 (2026-12-06, this VM).
 * Reads and deletes in this process see the waiting records; another process (the CLI, a second
 * server) sees a record at most ACCESS_SESSION_FLUSH_MS late, and a crash loses at most that much:
 * a lost record only means a later removal cannot send a Disconnect-Request. A batch that cannot be
 * written (the database locked by another process past the busy timeout, a full disk) stays
 * waiting for the next one, and the next record() reports the failure, which the reply path logs.
 */
export class SqliteAccessSessionStore implements AccessSessionStore {
  private readonly upsert;
  private readonly selectOne;
  private readonly del;
  private readonly delAccepted;
  private readonly selectOfDevice;
  private readonly writeBatch;
  /** Latest record per identity, not yet written, oldest Accept first. */
  private pending = new Map<string, Row>();
  private timer: NodeJS.Timeout | undefined;
  /** Why the last batch failed, until a record() reports it. */
  private failure: Error | undefined;
  private closed = false;

  constructor(db: SqliteDatabase) {
    // A late batch (this server's or another's) never replaces a later Accept.
    this.upsert = db.prepare(
      `INSERT INTO access_sessions (identity, client_name, client_address, request_user_name, calling_station_id, nas_identifier, nas_ip_address, device_id, device_accepted_at, accepted_at)
       VALUES (@identity, @client_name, @client_address, @request_user_name, @calling_station_id, @nas_identifier, @nas_ip_address, @device_id, @device_accepted_at, @accepted_at)
       ON CONFLICT(identity) DO UPDATE SET client_name = excluded.client_name, client_address = excluded.client_address,
         request_user_name = excluded.request_user_name, calling_station_id = excluded.calling_station_id,
         nas_identifier = excluded.nas_identifier, nas_ip_address = excluded.nas_ip_address, device_id = excluded.device_id, device_accepted_at = excluded.device_accepted_at, accepted_at = excluded.accepted_at
       WHERE excluded.accepted_at >= access_sessions.accepted_at`,
    );
    this.selectOne = db.prepare('SELECT * FROM access_sessions WHERE identity = ?');
    this.del = db.prepare('DELETE FROM access_sessions WHERE identity = ?');
    this.delAccepted = db.prepare('DELETE FROM access_sessions WHERE identity = ? AND accepted_at = ?');
    this.selectOfDevice = db.prepare('SELECT identity, accepted_at FROM access_sessions WHERE device_id = ? AND device_accepted_at = accepted_at');
    this.writeBatch = db.transaction((rows: Iterable<Row>) => {
      for (const row of rows) this.upsert.run(row);
    });
  }

  async record(s: AccessSession): Promise<void> {
    if (this.closed) throw new Error('the access-session store is closed');
    // Re-inserted so that the map stays in the order of the latest Accepts.
    this.pending.delete(s.identity);
    this.pending.set(s.identity, {
      identity: s.identity,
      client_name: s.clientName,
      client_address: s.clientAddress,
      request_user_name: s.requestUserName ?? null,
      calling_station_id: s.callingStationId ?? null,
      nas_identifier: s.nasIdentifier ?? null,
      nas_ip_address: s.nasIpAddress ?? null,
      device_id: s.deviceId ?? null,
      device_accepted_at: s.deviceId !== undefined ? s.acceptedAt.toISOString() : null,
      accepted_at: s.acceptedAt.toISOString(),
    });
    if (this.pending.size >= ACCESS_SESSION_BATCH) this.flushNoting();
    else this.timer ??= setTimeout(() => this.flushNoting(), ACCESS_SESSION_FLUSH_MS).unref();
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  /**
   * Writes the waiting records in one transaction. When that fails they wait for the next batch
   * (at most ACCESS_SESSION_MAX_PENDING, the oldest dropped first) and it throws.
   */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.writeBatch(batch.values());
    } catch (err) {
      // better-sqlite3 is synchronous: nothing was recorded meanwhile, the batch is all that waits.
      let dropped = 0;
      for (const identity of batch.keys()) {
        if (batch.size <= ACCESS_SESSION_MAX_PENDING) break;
        batch.delete(identity);
        dropped++;
      }
      this.pending = batch;
      if (!this.closed) this.timer = setTimeout(() => this.flushNoting(), ACCESS_SESSION_FLUSH_MS).unref();
      const lost = dropped > 0 ? `; ${dropped} oldest dropped` : '';
      throw new Error(`cannot write ${batch.size} accepted sessions (they wait for the next batch${lost}): ${(err as Error).message}`);
    }
  }

  /** The last write, then no more: a record() after this throws. */
  close(): void {
    this.closed = true;
    this.flush();
  }

  private flushNoting(): void {
    try {
      this.flush();
    } catch (err) {
      this.failure = err as Error;
    }
  }

  async get(identity: string): Promise<AccessSession | undefined> {
    const waiting = this.pending.get(identity);
    const stored = this.selectOne.get(identity) as Row | undefined;
    // Another server may have written a later Accept than the one waiting here.
    const r = waiting && (!stored || waiting.accepted_at >= stored.accepted_at) ? waiting : stored;
    if (!r) return undefined;
    return {
      identity: r.identity,
      clientName: r.client_name,
      clientAddress: r.client_address,
      ...(r.request_user_name !== null ? { requestUserName: r.request_user_name } : {}),
      ...(r.calling_station_id !== null ? { callingStationId: r.calling_station_id } : {}),
      ...(r.nas_identifier !== null ? { nasIdentifier: r.nas_identifier } : {}),
      ...(r.nas_ip_address !== null ? { nasIpAddress: r.nas_ip_address } : {}),
      ...(r.device_id !== null && r.device_accepted_at === r.accepted_at ? { deviceId: r.device_id } : {}),
      acceptedAt: new Date(r.accepted_at),
    };
  }

  async identitiesOfDevice(deviceId: string): Promise<string[]> {
    const found = new Set<string>();
    // A stored row whose identity has a later Accept waiting here is that Accept's, device or not.
    for (const r of this.selectOfDevice.all(deviceId) as Pick<Row, 'identity' | 'accepted_at'>[]) {
      const waiting = this.pending.get(r.identity);
      if (!waiting || waiting.accepted_at < r.accepted_at) found.add(r.identity);
    }
    // A waiting row counts unless another server has written a later Accept of the identity.
    for (const w of this.pending.values()) {
      if (w.device_id !== deviceId) continue;
      const stored = this.selectOne.get(w.identity) as Row | undefined;
      if (!stored || w.accepted_at >= stored.accepted_at) found.add(w.identity);
    }
    return [...found];
  }

  async remove(identity: string, acceptedAt?: Date): Promise<boolean> {
    if (acceptedAt === undefined) {
      const waiting = this.pending.delete(identity);
      return this.del.run(identity).changes > 0 || waiting;
    }
    const at = acceptedAt.toISOString();
    const waiting = this.pending.get(identity)?.accepted_at === at && this.pending.delete(identity);
    return this.delAccepted.run(identity, at).changes > 0 || waiting;
  }
}
