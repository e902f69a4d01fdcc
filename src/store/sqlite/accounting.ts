import { inferredStart, type AccountingChange, type AccountingRecord, type AccountingSession, type AccountingStore } from '../accounting.js';
import { deleteInBatches } from '../retention.js';
import type { SqliteDatabase } from './database.js';

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
  started_at: string | null;
  updated_at: string;
  stopped_at: string | null;
  session_time: number | null;
  input_octets: number | null;
  output_octets: number | null;
  input_packets: number | null;
  output_packets: number | null;
  terminate_cause: number | null;
}

/**
 * One transaction per record, on the accounting reply path: the reply is sent only after the
 * record is on disk (RFC 2866 §2).
 */
export class SqliteAccountingStore implements AccountingStore {
  private readonly selectOne;
  private readonly insert;
  private readonly update;
  private readonly stopAll;
  private readonly selectByStatus;
  private readonly selectAll;
  private readonly purge;
  private readonly applyTx;

  constructor(db: SqliteDatabase) {
    this.selectOne = db.prepare('SELECT * FROM accounting_sessions WHERE client_name = ? AND nas = ? AND session_id = ?');
    this.insert = db.prepare(
      `INSERT INTO accounting_sessions (nas, session_id, client_name, status, user_name, calling_station_id, called_station_id, framed_ip_address,
         multi_session_id, started_at, updated_at, stopped_at, session_time, input_octets, output_octets, input_packets, output_packets, terminate_cause)
       VALUES (@nas, @session_id, @client_name, @status, @user_name, @calling_station_id, @called_station_id, @framed_ip_address,
         @multi_session_id, @started_at, @updated_at, @stopped_at, @session_time, @input_octets, @output_octets, @input_packets, @output_packets, @terminate_cause)`,
    );
    // A later record keeps what an earlier one said unless it says something new (COALESCE).
    this.update = db.prepare(
      `UPDATE accounting_sessions SET status = @status,
         user_name = COALESCE(@user_name, user_name), calling_station_id = COALESCE(@calling_station_id, calling_station_id),
         called_station_id = COALESCE(@called_station_id, called_station_id), framed_ip_address = COALESCE(@framed_ip_address, framed_ip_address),
         multi_session_id = COALESCE(@multi_session_id, multi_session_id), started_at = COALESCE(started_at, @started_at),
         updated_at = @updated_at, stopped_at = @stopped_at,
         session_time = COALESCE(@session_time, session_time), input_octets = COALESCE(@input_octets, input_octets),
         output_octets = COALESCE(@output_octets, output_octets), input_packets = COALESCE(@input_packets, input_packets),
         output_packets = COALESCE(@output_packets, output_packets), terminate_cause = COALESCE(@terminate_cause, terminate_cause)
       WHERE client_name = @client_name AND nas = @nas AND session_id = @session_id`,
    );
    this.stopAll = db.prepare("UPDATE accounting_sessions SET status = 'stopped', stopped_at = @at, updated_at = @at WHERE client_name = @client_name AND nas = @nas AND status = 'active'");
    this.selectByStatus = db.prepare('SELECT * FROM accounting_sessions WHERE status = ? ORDER BY updated_at DESC LIMIT ?');
    this.selectAll = db.prepare('SELECT * FROM accounting_sessions ORDER BY updated_at DESC LIMIT ?');
    this.purge = db.prepare('DELETE FROM accounting_sessions WHERE rowid IN (SELECT rowid FROM accounting_sessions WHERE updated_at < ? ORDER BY updated_at LIMIT ?)');
    this.applyTx = db.transaction((r: AccountingRecord): AccountingChange => this.applyNow(r));
  }

  async apply(record: AccountingRecord): Promise<AccountingChange> {
    // IMMEDIATE: the transaction reads before it writes, and in WAL mode SQLite fails a read
    // transaction's upgrade to a write at once (no busy wait) while another connection writes.
    return this.applyTx.immediate(record);
  }

  private applyNow(r: AccountingRecord): AccountingChange {
    const existing = this.selectOne.get(r.clientName, r.nas, r.sessionId) as Row | undefined;
    const at = r.at.toISOString();
    const status = r.event === 'stop' ? 'stopped' : 'active';
    const values = {
      nas: r.nas,
      session_id: r.sessionId,
      client_name: r.clientName,
      status,
      user_name: r.userName ?? null,
      calling_station_id: r.callingStationId ?? null,
      called_station_id: r.calledStationId ?? null,
      framed_ip_address: r.framedIpAddress ?? null,
      multi_session_id: r.multiSessionId ?? null,
      started_at: inferredStart(r)?.toISOString() ?? null,
      updated_at: at,
      stopped_at: r.event === 'stop' ? at : null,
      session_time: r.sessionTime ?? null,
      input_octets: r.inputOctets ?? null,
      output_octets: r.outputOctets ?? null,
      input_packets: r.inputPackets ?? null,
      output_packets: r.outputPackets ?? null,
      terminate_cause: r.terminateCause ?? null,
    };
    if (!existing) {
      this.insert.run(values);
      return r.event === 'stop' ? 'stopped' : 'started';
    }
    // A stopped session stays stopped: a Start or Interim-Update arriving after its Stop is late, and a
    // repeated Stop changes nothing. A repeated Start of an active session is a retransmission.
    if (existing.status === 'stopped' || r.event === 'start') return 'ignored';
    this.update.run(values);
    return r.event === 'stop' ? 'stopped' : 'updated';
  }

  async stopAllOf(clientName: string, nas: string, at: Date): Promise<number> {
    return this.stopAll.run({ client_name: clientName, nas, at: at.toISOString() }).changes;
  }

  async get(clientName: string, nas: string, sessionId: string): Promise<AccountingSession | undefined> {
    const row = this.selectOne.get(clientName, nas, sessionId) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  async list(opts: { status?: 'active' | 'stopped'; limit: number }): Promise<AccountingSession[]> {
    const rows = (opts.status ? this.selectByStatus.all(opts.status, opts.limit) : this.selectAll.all(opts.limit)) as Row[];
    return rows.map(fromRow);
  }

  purgeBefore(before: Date, signal?: AbortSignal): Promise<number> {
    const cutoff = before.toISOString();
    return deleteInBatches((limit) => this.purge.run(cutoff, limit).changes, signal);
  }
}

function fromRow(r: Row): AccountingSession {
  const opt = <K extends string, V>(key: K, v: V | null): { [P in K]?: V } => (v === null ? {} : ({ [key]: v } as { [P in K]?: V }));
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
    ...opt('startedAt', r.started_at === null ? null : new Date(r.started_at)),
    updatedAt: new Date(r.updated_at),
    ...opt('stoppedAt', r.stopped_at === null ? null : new Date(r.stopped_at)),
    ...opt('sessionTime', r.session_time),
    ...opt('inputOctets', r.input_octets),
    ...opt('outputOctets', r.output_octets),
    ...opt('inputPackets', r.input_packets),
    ...opt('outputPackets', r.output_packets),
    ...opt('terminateCause', r.terminate_cause),
  };
}
