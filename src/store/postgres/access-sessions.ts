import type { AccessSession, AccessSessionStore } from '../access-sessions.js';
import { pgText, type PostgresDatabase } from './database.js';

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

/** One upsert per Access-Accept; whichever Accept came last names the session (a slower server's older one does not replace it). */
export class PostgresAccessSessionStore implements AccessSessionStore {
  constructor(private readonly db: PostgresDatabase) {}

  async record(s: AccessSession): Promise<void> {
    await this.db.query(
      `INSERT INTO access_sessions (identity, client_name, client_address, request_user_name, calling_station_id, nas_identifier, nas_ip_address, device_id, device_accepted_at, accepted_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (identity) DO UPDATE SET client_name = excluded.client_name, client_address = excluded.client_address,
         request_user_name = excluded.request_user_name, calling_station_id = excluded.calling_station_id,
         nas_identifier = excluded.nas_identifier, nas_ip_address = excluded.nas_ip_address, device_id = excluded.device_id, device_accepted_at = excluded.device_accepted_at, accepted_at = excluded.accepted_at
       WHERE excluded.accepted_at >= access_sessions.accepted_at`,
      [pgText(s.identity), s.clientName, s.clientAddress, pgText(s.requestUserName), pgText(s.callingStationId), pgText(s.nasIdentifier), s.nasIpAddress ?? null, pgText(s.deviceId), s.deviceId !== undefined ? s.acceptedAt : null, s.acceptedAt],
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

  async identitiesOfDevice(deviceId: string): Promise<string[]> {
    const { rows } = await this.db.query<{ identity: string }>('SELECT identity FROM access_sessions WHERE device_id = $1 AND device_accepted_at = accepted_at', [pgText(deviceId)]);
    return rows.map((r) => r.identity);
  }

  async remove(identity: string, acceptedAt?: Date): Promise<boolean> {
    const r = acceptedAt === undefined
      ? await this.db.query('DELETE FROM access_sessions WHERE identity = $1', [pgText(identity)])
      : await this.db.query('DELETE FROM access_sessions WHERE identity = $1 AND accepted_at = $2', [pgText(identity), acceptedAt]);
    return (r.rowCount ?? 0) > 0;
  }
}
