import type { AccessSession } from '../access-sessions.js';
import type { AccessSessionTable } from '../access-session-batch.js';
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

/**
 * The access_sessions table on SQLite, under the batched store of store/access-session-batch.ts
 * (which decides when a batch is written). A batch is one transaction, in the caller's turn: under
 * another process's write lock it fails after the serving busy timeout (sqlite/database.ts).
 */
export class SqliteAccessSessionTable implements AccessSessionTable {
  private readonly selectOne;
  private readonly del;
  private readonly delAccepted;
  private readonly selectOfDevice;
  private readonly writeBatch;

  constructor(db: SqliteDatabase) {
    // A late batch (this server's or another's) never replaces a later Accept.
    const upsert = db.prepare(
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
    this.writeBatch = db.transaction((sessions: readonly AccessSession[]) => {
      for (const s of sessions) upsert.run(rowOf(s));
    });
  }

  async write(sessions: readonly AccessSession[]): Promise<void> {
    this.writeBatch(sessions);
  }

  async get(identity: string): Promise<AccessSession | undefined> {
    const r = this.selectOne.get(identity) as Row | undefined;
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

  async acceptsOfDevice(deviceId: string): Promise<{ identity: string; acceptedAt: Date }[]> {
    return (this.selectOfDevice.all(deviceId) as Pick<Row, 'identity' | 'accepted_at'>[]).map((r) => ({ identity: r.identity, acceptedAt: new Date(r.accepted_at) }));
  }

  async remove(identity: string, acceptedAt?: Date): Promise<boolean> {
    const r = acceptedAt === undefined ? this.del.run(identity) : this.delAccepted.run(identity, acceptedAt.toISOString());
    return r.changes > 0;
  }
}

function rowOf(s: AccessSession): Row {
  return {
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
  };
}
