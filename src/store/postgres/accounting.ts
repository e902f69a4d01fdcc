import { inferredStart, type AccountingChange, type AccountingRecord, type AccountingSession, type AccountingStore } from '../accounting.js';
import { deleteInBatches } from '../retention.js';
import { pgText, toNumber, type PostgresDatabase, type SqlValue } from './database.js';

interface Row {
  nas: string;
  session_id: string;
  client_name: string;
  status: 'active' | 'stopped';
  user_name: string | null;
  calling_station_id: string | null;
  called_station_id: string | null;
  framed_ip_address: string | null;
  multi_session_id: string | null;
  started_at: Date | null;
  updated_at: Date;
  stopped_at: Date | null;
  session_time: string | null;
  input_octets: string | null;
  output_octets: string | null;
  input_packets: string | null;
  output_packets: string | null;
  terminate_cause: number | null;
}

const COLUMNS = [
  'nas', 'session_id', 'client_name', 'status', 'user_name', 'calling_station_id', 'called_station_id', 'framed_ip_address',
  'multi_session_id', 'started_at', 'updated_at', 'stopped_at', 'session_time', 'input_octets', 'output_octets', 'input_packets',
  'output_packets', 'terminate_cause',
] as const;

/** Columns a later record fills in only when it says something new (COALESCE), as in the SQLite store. */
const KEPT_UNLESS_NEW = ['user_name', 'calling_station_id', 'called_station_id', 'framed_ip_address', 'multi_session_id',
  'session_time', 'input_octets', 'output_octets', 'input_packets', 'output_packets', 'terminate_cause'] as const;

/**
 * Each record is at most two statements, each atomic on its own, so two servers receiving the
 * same session's records (a NAS failing over between them) keep the SQLite store's rules:
 *  - `INSERT … ON CONFLICT DO NOTHING` creates the session when it is new (Start, or the first
 *    Interim/Stop of a session whose Start was lost);
 *  - otherwise a Start is a retransmission, and an Interim or Stop updates the session only
 *    `WHERE status = 'active'`: after a Stop, whichever server it reached, the session stays stopped.
 */
export class PostgresAccountingStore implements AccountingStore {
  private readonly insertSql: string;
  private readonly updateSql: string;

  constructor(private readonly db: PostgresDatabase) {
    this.insertSql = `INSERT INTO accounting_sessions (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
      ON CONFLICT (client_name, nas, session_id) DO NOTHING`;
    const p = (c: (typeof COLUMNS)[number]): string => `$${COLUMNS.indexOf(c) + 1}`;
    this.updateSql = `UPDATE accounting_sessions SET status = ${p('status')},
      ${KEPT_UNLESS_NEW.map((c) => `${c} = COALESCE(${p(c)}, ${c})`).join(', ')},
      started_at = COALESCE(started_at, ${p('started_at')}), updated_at = ${p('updated_at')}, stopped_at = ${p('stopped_at')}
      WHERE client_name = ${p('client_name')} AND nas = ${p('nas')} AND session_id = ${p('session_id')} AND status = 'active'`;
  }

  async apply(r: AccountingRecord): Promise<AccountingChange> {
    const values: SqlValue[] = [
      pgText(r.nas),
      pgText(r.sessionId),
      r.clientName,
      r.event === 'stop' ? 'stopped' : 'active',
      pgText(r.userName),
      pgText(r.callingStationId),
      pgText(r.calledStationId),
      r.framedIpAddress ?? null,
      pgText(r.multiSessionId),
      inferredStart(r),
      r.at,
      r.event === 'stop' ? r.at : null,
      r.sessionTime ?? null,
      r.inputOctets ?? null,
      r.outputOctets ?? null,
      r.inputPackets ?? null,
      r.outputPackets ?? null,
      r.terminateCause ?? null,
    ];
    // Twice at most: a row the INSERT found may be gone by the UPDATE (a retention purge took a session
    // not heard of for long), and then the record starts it anew.
    for (let attempt = 0; attempt < 2; attempt++) {
      if ((await this.db.query(this.insertSql, values)).rowCount === 1) return r.event === 'stop' ? 'stopped' : 'started';
      // A repeated Start of an active session is a retransmission; a Start after the Stop is late.
      if (r.event === 'start') return 'ignored';
      if ((await this.db.query(this.updateSql, values)).rowCount === 1) return r.event === 'stop' ? 'stopped' : 'updated';
    }
    return 'ignored';
  }

  async stopAllOf(clientName: string, nas: string, at: Date): Promise<number> {
    const r = await this.db.query("UPDATE accounting_sessions SET status = 'stopped', stopped_at = $1, updated_at = $1 WHERE client_name = $2 AND nas = $3 AND status = 'active'", [at, clientName, pgText(nas)]);
    return r.rowCount ?? 0;
  }

  async get(clientName: string, nas: string, sessionId: string): Promise<AccountingSession | undefined> {
    const { rows } = await this.db.query<Row>('SELECT * FROM accounting_sessions WHERE client_name = $1 AND nas = $2 AND session_id = $3', [clientName, pgText(nas), pgText(sessionId)]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async list(opts: { status?: 'active' | 'stopped'; limit: number }): Promise<AccountingSession[]> {
    const { rows } = opts.status
      ? await this.db.query<Row>('SELECT * FROM accounting_sessions WHERE status = $1 ORDER BY updated_at DESC LIMIT $2', [opts.status, opts.limit])
      : await this.db.query<Row>('SELECT * FROM accounting_sessions ORDER BY updated_at DESC LIMIT $1', [opts.limit]);
    return rows.map(fromRow);
  }

  purgeBefore(before: Date, signal?: AbortSignal): Promise<number> {
    return deleteInBatches(
      async (limit) => (await this.db.query(
        // The cutoff again outside: a row updated while the DELETE waited for its lock is re-checked
        // against the outer condition only, and a session just heard of must stay.
        'DELETE FROM accounting_sessions WHERE updated_at < $1 AND (client_name, nas, session_id) IN (SELECT client_name, nas, session_id FROM accounting_sessions WHERE updated_at < $1 ORDER BY updated_at LIMIT $2)',
        [before, limit],
      )).rowCount ?? 0,
      signal,
    );
  }
}

function fromRow(r: Row): AccountingSession {
  const opt = <K extends string, V>(key: K, v: V | null): { [P in K]?: V } => (v === null ? {} : ({ [key]: v } as { [P in K]?: V }));
  const num = (v: string | null): number | null => (v === null ? null : toNumber(v));
  return {
    nas: r.nas,
    sessionId: r.session_id,
    clientName: r.client_name,
    status: r.status,
    ...opt('userName', r.user_name),
    ...opt('callingStationId', r.calling_station_id),
    ...opt('calledStationId', r.called_station_id),
    ...opt('framedIpAddress', r.framed_ip_address),
    ...opt('multiSessionId', r.multi_session_id),
    ...opt('startedAt', r.started_at),
    updatedAt: r.updated_at,
    ...opt('stoppedAt', r.stopped_at),
    ...opt('sessionTime', num(r.session_time)),
    ...opt('inputOctets', num(r.input_octets)),
    ...opt('outputOctets', num(r.output_octets)),
    ...opt('inputPackets', num(r.input_packets)),
    ...opt('outputPackets', num(r.output_packets)),
    ...opt('terminateCause', r.terminate_cause),
  };
}
