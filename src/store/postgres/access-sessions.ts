import type { AccessSession } from '../access-sessions.js';
import type { AccessSessionTable } from '../access-session-batch.js';
import { pgText, type PostgresDatabase, type SqlValue } from './database.js';

interface Row {
  identity: string;
  client_name: string;
  client_address: string;
  request_user_name: string | null;
  calling_station_id: string | null;
  nas_identifier: string | null;
  nas_ip_address: string | null;
  device_id: string | null;
  device_accepted_at: Date | null;
  accepted_at: Date;
}

/**
 * The access_sessions table on PostgreSQL, under the batched store of store/access-session-batch.ts
 * (which decides when a batch is written, one at a time: a locked table holds one connection).
 * A batch is one INSERT; whichever Accept came last names the session (a slower server's older one
 * does not replace it).
 */
export class PostgresAccessSessionTable implements AccessSessionTable {
  constructor(private readonly db: PostgresDatabase) {}

  async write(sessions: readonly AccessSession[]): Promise<void> {
    // Two identities the same after pgText would be one row twice in one INSERT, which PostgreSQL
    // refuses (ON CONFLICT cannot affect a row twice) for the whole batch, again at every retry.
    const rows = new Map<string, AccessSession>();
    for (const s of sessions) {
      const key = pgText(s.identity);
      const seen = rows.get(key);
      if (!seen || s.acceptedAt >= seen.acceptedAt) rows.set(key, s);
    }
    const params: SqlValue[] = [];
    const values = [...rows].map(([identity, s]) => {
      params.push(identity, s.clientName, s.clientAddress, pgText(s.requestUserName), pgText(s.callingStationId), pgText(s.nasIdentifier), s.nasIpAddress ?? null, pgText(s.deviceId), s.deviceId !== undefined ? s.acceptedAt : null, s.acceptedAt);
      const n = params.length;
      return `(${Array.from({ length: 10 }, (_, i) => `$${n - 9 + i}`).join(', ')})`;
    });
    await this.db.query(
      `INSERT INTO access_sessions (identity, client_name, client_address, request_user_name, calling_station_id, nas_identifier, nas_ip_address, device_id, device_accepted_at, accepted_at)
       VALUES ${values.join(', ')}
       ON CONFLICT (identity) DO UPDATE SET client_name = excluded.client_name, client_address = excluded.client_address,
         request_user_name = excluded.request_user_name, calling_station_id = excluded.calling_station_id,
         nas_identifier = excluded.nas_identifier, nas_ip_address = excluded.nas_ip_address, device_id = excluded.device_id, device_accepted_at = excluded.device_accepted_at, accepted_at = excluded.accepted_at
       WHERE excluded.accepted_at >= access_sessions.accepted_at`,
      params,
    );
  }

  async get(identity: string): Promise<AccessSession | undefined> {
    const { rows } = await this.db.query<Row>('SELECT * FROM access_sessions WHERE identity = $1', [pgText(identity)]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      identity: r.identity,
      clientName: r.client_name,
      clientAddress: r.client_address,
      ...(r.request_user_name !== null ? { requestUserName: r.request_user_name } : {}),
      ...(r.calling_station_id !== null ? { callingStationId: r.calling_station_id } : {}),
      ...(r.nas_identifier !== null ? { nasIdentifier: r.nas_identifier } : {}),
      ...(r.nas_ip_address !== null ? { nasIpAddress: r.nas_ip_address } : {}),
      ...(r.device_id !== null && r.device_accepted_at?.getTime() === r.accepted_at.getTime() ? { deviceId: r.device_id } : {}),
      acceptedAt: r.accepted_at,
    };
  }

  async acceptsOfDevice(deviceId: string): Promise<{ identity: string; acceptedAt: Date }[]> {
    const { rows } = await this.db.query<{ identity: string; accepted_at: Date }>('SELECT identity, accepted_at FROM access_sessions WHERE device_id = $1 AND device_accepted_at = accepted_at', [pgText(deviceId)]);
    return rows.map((r) => ({ identity: r.identity, acceptedAt: r.accepted_at }));
  }

  async remove(identity: string, acceptedAt?: Date): Promise<boolean> {
    const r = acceptedAt === undefined
      ? await this.db.query('DELETE FROM access_sessions WHERE identity = $1', [pgText(identity)])
      : await this.db.query('DELETE FROM access_sessions WHERE identity = $1 AND accepted_at = $2', [pgText(identity), acceptedAt]);
    return (r.rowCount ?? 0) > 0;
  }
}
