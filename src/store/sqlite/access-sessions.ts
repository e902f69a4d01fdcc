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
  accepted_at: string;
}

/** One small upsert per Access-Accept, written from the RADIUS reply path. */
export class SqliteAccessSessionStore implements AccessSessionStore {
  private readonly upsert;
  private readonly selectOne;
  private readonly del;

  constructor(db: SqliteDatabase) {
    this.upsert = db.prepare(
      `INSERT INTO access_sessions (identity, client_name, client_address, request_user_name, calling_station_id, nas_identifier, nas_ip_address, accepted_at)
       VALUES (@identity, @client_name, @client_address, @request_user_name, @calling_station_id, @nas_identifier, @nas_ip_address, @accepted_at)
       ON CONFLICT(identity) DO UPDATE SET client_name = excluded.client_name, client_address = excluded.client_address,
         request_user_name = excluded.request_user_name, calling_station_id = excluded.calling_station_id,
         nas_identifier = excluded.nas_identifier, nas_ip_address = excluded.nas_ip_address, accepted_at = excluded.accepted_at`,
    );
    this.selectOne = db.prepare('SELECT * FROM access_sessions WHERE identity = ?');
    this.del = db.prepare('DELETE FROM access_sessions WHERE identity = ?');
  }

  async record(s: AccessSession): Promise<void> {
    this.upsert.run({
      identity: s.identity,
      client_name: s.clientName,
      client_address: s.clientAddress,
      request_user_name: s.requestUserName ?? null,
      calling_station_id: s.callingStationId ?? null,
      nas_identifier: s.nasIdentifier ?? null,
      nas_ip_address: s.nasIpAddress ?? null,
      accepted_at: s.acceptedAt.toISOString(),
    });
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
      acceptedAt: new Date(r.accepted_at),
    };
  }

  async remove(identity: string): Promise<boolean> {
    return this.del.run(identity).changes > 0;
  }
}
