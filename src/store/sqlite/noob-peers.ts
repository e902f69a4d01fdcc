import type {
  NoobConsumedOob,
  NoobOobMessage,
  NoobPeerQuery,
  NoobPeerRecord,
  NoobPeerStore,
  NoobPeerWrite,
  NoobRegistrationLimits,
  NoobRegistrationOutcome,
  NoobServerState,
} from '../noob-peers.js';
import { nasQuotaRefusal, tableQuotaRefusal } from '../noob-peers.js';
import type { SqliteDatabase } from './database.js';
import { decodeAssociation, decodeEphemeral, encodeAssociation, encodeEphemeral } from '../noob-peer-columns.js';

interface PeerRow {
  peer_id: string;
  state: number;
  version: number;
  created_at: string;
  updated_at: string;
  account: string | null;
  account_bound: number;
  peer_info: string | null;
  ephemeral: string | null;
  assoc_verp: number | null;
  assoc_cryptosuite: number | null;
  assoc_nai: string | null;
  assoc_kz: Buffer | null;
  assoc_server_info: string | null;
  last_authenticated_at: string | null;
  registered_via: string | null;
}

interface OobRow {
  peer_id: string;
  seq: number;
  direction: number;
  noob: string;
  hoob: string;
  created_at: string;
  expires_at: string;
  account: string | null;
}

interface ConsumedRow {
  hoob: string;
  direction: number;
  account: string | null;
  consumed_at: string;
}


/** Every column of noob_peers, in the order reads and inserts name them. */
const PEER_COLUMN_LIST = [
  'peer_id', 'state', 'version', 'created_at', 'updated_at', 'account', 'account_bound', 'peer_info', 'ephemeral', 'assoc_verp',
  'assoc_cryptosuite', 'assoc_nai', 'assoc_kz', 'assoc_server_info', 'last_authenticated_at', 'registered_via',
] as const;
const PEER_COLUMNS = PEER_COLUMN_LIST.join(', ');

/**
 * The columns the table's indexes cover (noob_peers_state_created, noob_peers_account and the
 * partial noob_peers_unbound, its WHERE clause included). A write that leaves them as they are (a
 * Reconnect, most steps) names only the others, so that SQLite rewrites the row's page and no
 * index page. An index added by a later migration must add its columns here.
 */
export const NOOB_PEER_INDEXED_COLUMNS = ['state', 'created_at', 'account', 'account_bound', 'registered_via'] as const;
type IndexedColumn = (typeof NOOB_PEER_INDEXED_COLUMNS)[number];

/** The columns every write sets: all but the key; the narrow write leaves the indexed ones out. */
const WRITTEN_COLUMNS = PEER_COLUMN_LIST.filter((c) => c !== 'peer_id');
export const NOOB_PEER_NARROW_WRITE_COLUMNS = WRITTEN_COLUMNS.filter((c) => !(NOOB_PEER_INDEXED_COLUMNS as readonly string[]).includes(c));
const setClause = (columns: readonly string[]): string => columns.map((c) => `${c} = @${c}`).join(', ');

/**
 * SQLite implementation of the NOOB peer store.
 *
 * better-sqlite3 is synchronous, so each method runs to completion before any other JavaScript
 * (another EAP conversation, the OOB endpoint) can touch the database from this process; the
 * async signatures exist for the PostgreSQL implementation. A transition is one IMMEDIATE
 * transaction: it takes the write lock before reading the version, so a second process (the CLI
 * delivering an OOB message) cannot slip a write between our compare and our write.
 */
export class SqliteNoobPeerStore implements NoobPeerStore {
  private readonly selectPeer;
  private readonly selectOobs;
  private readonly selectVersion;
  private readonly insertPeer;
  private readonly updatePeer;
  private readonly selectIndexed;
  private readonly updateUnindexed;
  private readonly deletePeer;
  private readonly deleteOobs;
  private readonly insertOob;
  private readonly selectConsumed;
  private readonly insertConsumed;
  private readonly countEphemeralStmt;
  private readonly selectExpiredEphemeral;
  private readonly countUnboundStmt;
  private readonly countUnboundViaStmt;
  private readonly selectUnboundBefore;
  private readonly transitionTx;
  private readonly createTx;
  private readonly readPeerTx;

  constructor(private readonly db: SqliteDatabase) {
    this.selectPeer = db.prepare(`SELECT ${PEER_COLUMNS} FROM noob_peers WHERE peer_id = ?`);
    this.selectOobs = db.prepare('SELECT * FROM noob_oob_messages WHERE peer_id = ? ORDER BY seq');
    this.selectVersion = db.prepare('SELECT version FROM noob_peers WHERE peer_id = ?');
    this.insertPeer = db.prepare(`INSERT INTO noob_peers (${PEER_COLUMNS}) VALUES (${PEER_COLUMN_LIST.map((c) => `@${c}`).join(', ')})`);
    this.updatePeer = db.prepare(`UPDATE noob_peers SET ${setClause(WRITTEN_COLUMNS)} WHERE peer_id = @peer_id`);
    this.selectIndexed = db.prepare(`SELECT version, ${NOOB_PEER_INDEXED_COLUMNS.join(', ')} FROM noob_peers WHERE peer_id = ?`);
    this.updateUnindexed = db.prepare(`UPDATE noob_peers SET ${setClause(NOOB_PEER_NARROW_WRITE_COLUMNS)} WHERE peer_id = @peer_id`);
    this.deletePeer = db.prepare('DELETE FROM noob_peers WHERE peer_id = ?');
    this.deleteOobs = db.prepare('DELETE FROM noob_oob_messages WHERE peer_id = ?');
    this.insertOob = db.prepare(
      'INSERT INTO noob_oob_messages (peer_id, seq, direction, noob, hoob, created_at, expires_at, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.selectConsumed = db.prepare('SELECT hoob, direction, account, consumed_at FROM noob_consumed_oobs WHERE peer_id = ? ORDER BY seq');
    // Append-only: a Hoob already stored keeps its row (and its first account and time).
    this.insertConsumed = db.prepare(
      `INSERT INTO noob_consumed_oobs (peer_id, hoob, seq, direction, account, consumed_at)
       VALUES (?, ?, (SELECT coalesce(max(seq), -1) + 1 FROM noob_consumed_oobs WHERE peer_id = ?), ?, ?, ?)
       ON CONFLICT (peer_id, hoob) DO NOTHING`,
    );
    this.countEphemeralStmt = db.prepare('SELECT count(*) AS n FROM noob_peers WHERE state <= 2');
    // holdsLiveIssuedOob() in SQL; ISO-8601 texts of one format compare as their instants do.
    this.selectExpiredEphemeral = db.prepare(
      `SELECT peer_id FROM noob_peers WHERE state <= 2 AND created_at < @before
         AND NOT EXISTS (SELECT 1 FROM noob_oob_messages m WHERE m.peer_id = noob_peers.peer_id AND m.direction = 2 AND m.expires_at >= @now)
       ORDER BY created_at LIMIT @limit`,
    );
    // isUnbound() in SQL: state 1, no account chosen, no OOB message issued or received.
    const unbound = `state = 1 AND account_bound = 0 AND NOT EXISTS (SELECT 1 FROM noob_oob_messages m WHERE m.peer_id = noob_peers.peer_id)`;
    this.countUnboundStmt = db.prepare(`SELECT count(*) AS n FROM noob_peers WHERE ${unbound}`);
    this.countUnboundViaStmt = db.prepare(`SELECT count(*) AS n FROM noob_peers WHERE registered_via = ? AND ${unbound}`);
    this.selectUnboundBefore = db.prepare(`SELECT peer_id FROM noob_peers WHERE ${unbound} AND created_at < ? ORDER BY created_at LIMIT ?`);

    const write = (peerId: string, expected: number | null, next: NoobPeerWrite | null): boolean => {
      const current = this.selectIndexed.get(peerId) as IndexedColumns | undefined;
      if ((current?.version ?? null) !== expected) return false;
      if (next === null) {
        if (current) this.deletePeer.run(peerId);
        return true;
      }
      if (next.peerId !== peerId) throw new Error('a transition cannot rename a peer');
      const row = toRow(next, (expected ?? 0) + 1);
      if (current) {
        if (sameIndexedColumns(current, row)) this.updateUnindexed.run(row);
        else this.updatePeer.run(row);
        this.deleteOobs.run(peerId);
      } else {
        this.insertPeer.run(row);
      }
      next.oobs.forEach((m, seq) => {
        this.insertOob.run(peerId, seq, m.direction, m.noob, m.hoob, m.createdAt.toISOString(), m.expiresAt.toISOString(), m.account ?? null);
      });
      for (const c of next.consumedOobs) {
        this.insertConsumed.run(peerId, c.hoob, peerId, c.direction, c.account ?? null, c.consumedAt.toISOString());
      }
      return true;
    };
    const tx = db.transaction(write);
    this.transitionTx = (peerId: string, expected: number | null, next: NoobPeerWrite | null) => tx.immediate(peerId, expected, next);
    // IMMEDIATE takes the write lock before counting: a creation on another connection (a worker
    // thread, another process) waits for this one to commit, and then counts it.
    const create = db.transaction((next: NoobPeerWrite, limits: NoobRegistrationLimits): NoobRegistrationOutcome => {
      const via = next.registeredVia;
      const refusal =
        tableQuotaRefusal((this.countEphemeralStmt.get() as { n: number }).n, limits) ??
        (via === undefined ? undefined : nasQuotaRefusal((this.countUnboundViaStmt.get(via) as { n: number }).n, limits));
      if (refusal) return { created: false, refusal };
      return write(next.peerId, null, next) ? { created: true } : { created: false, exists: true };
    });
    this.createTx = (next: NoobPeerWrite, limits: NoobRegistrationLimits) => create.immediate(next, limits);
    // The three reads of a record in one read transaction: one snapshot, and in WAL mode each
    // transaction takes and drops a read lock on the -shm file (two fcntl calls, about 7 us here),
    // which outside a transaction every statement would pay on its own.
    this.readPeerTx = db.transaction((peerId: string): NoobPeerRecord | undefined => {
      const row = this.selectPeer.get(peerId) as PeerRow | undefined;
      if (!row) return undefined;
      return fromRow(row, this.selectOobs.all(peerId) as OobRow[], this.selectConsumed.all(peerId) as ConsumedRow[]);
    });
  }

  async get(peerId: string): Promise<NoobPeerRecord | undefined> {
    return this.readPeerTx.deferred(peerId);
  }

  async version(peerId: string): Promise<number | undefined> {
    return (this.selectVersion.get(peerId) as { version: number } | undefined)?.version;
  }

  async transition(peerId: string, expectedVersion: number | null, next: NoobPeerWrite | null): Promise<boolean> {
    return this.transitionTx(peerId, expectedVersion, next);
  }

  async createRegistration(next: NoobPeerWrite, limits: NoobRegistrationLimits): Promise<NoobRegistrationOutcome> {
    return this.createTx(next, limits);
  }

  async list(query: NoobPeerQuery): Promise<NoobPeerRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.states && query.states.length > 0) {
      where.push(`state IN (${query.states.map(() => '?').join(',')})`);
      params.push(...query.states);
    }
    if (query.account === null) where.push('account IS NULL');
    else if (query.account !== undefined) {
      where.push('account = ?');
      params.push(query.account);
    }
    const sql = `SELECT ${PEER_COLUMNS} FROM noob_peers ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ?`;
    params.push(query.limit ?? 100);
    const rows = this.db.prepare(sql).all(...params) as PeerRow[];
    return rows.map((r) => fromRow(r, this.selectOobs.all(r.peer_id) as OobRow[], this.selectConsumed.all(r.peer_id) as ConsumedRow[]));
  }

  async countEphemeral(): Promise<number> {
    return (this.countEphemeralStmt.get() as { n: number }).n;
  }

  async deleteExpiredEphemeral(createdBefore: Date, now: Date, limit = 1_000_000): Promise<number> {
    return this.db.transaction(() => {
      const ids = this.selectExpiredEphemeral.all({ before: createdBefore.toISOString(), now: now.toISOString(), limit }) as { peer_id: string }[];
      for (const { peer_id } of ids) this.deletePeer.run(peer_id);
      return ids.length;
    }).immediate();
  }

  async countUnbound(registeredVia?: string): Promise<number> {
    const row = registeredVia === undefined ? this.countUnboundStmt.get() : this.countUnboundViaStmt.get(registeredVia);
    return (row as { n: number }).n;
  }

  async deleteUnboundBefore(before: Date, limit = 1_000_000): Promise<number> {
    return this.db.transaction(() => {
      const ids = this.selectUnboundBefore.all(before.toISOString(), limit) as { peer_id: string }[];
      for (const { peer_id } of ids) this.deletePeer.run(peer_id);
      return ids.length;
    }).immediate();
  }

  async remove(peerId: string): Promise<boolean> {
    return this.deletePeer.run(peerId).changes > 0;
  }
}

type IndexedColumns = { version: number } & Record<IndexedColumn, string | number | null>;

function sameIndexedColumns(stored: IndexedColumns, row: ReturnType<typeof toRow>): boolean {
  return NOOB_PEER_INDEXED_COLUMNS.every((c) => stored[c] === row[c]);
}

function toRow(r: NoobPeerWrite, version: number): Record<string, string | number | Buffer | null> {
  const a = encodeAssociation(r.association);
  return {
    peer_id: r.peerId,
    state: r.state,
    version,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
    account: r.account ?? null,
    account_bound: r.accountBound ? 1 : 0,
    peer_info: r.peerInfo ?? null,
    ephemeral: encodeEphemeral(r.ephemeral),
    assoc_verp: a.verp,
    assoc_cryptosuite: a.cryptosuite,
    assoc_nai: a.nai,
    assoc_kz: a.kz,
    assoc_server_info: a.serverInfo,
    last_authenticated_at: r.lastAuthenticatedAt?.toISOString() ?? null,
    registered_via: r.registeredVia ?? null,
  };
}

function fromRow(row: PeerRow, oobs: OobRow[], consumed: ConsumedRow[]): NoobPeerRecord {
  const ephemeral = decodeEphemeral(row.ephemeral);
  const association = decodeAssociation(row);
  return {
    peerId: row.peer_id,
    state: row.state as NoobServerState,
    version: row.version,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    ...(row.account !== null ? { account: row.account } : {}),
    accountBound: row.account_bound === 1,
    ...(row.peer_info !== null ? { peerInfo: row.peer_info } : {}),
    ...(ephemeral ? { ephemeral } : {}),
    ...(association ? { association } : {}),
    oobs: oobs.map(
      (o): NoobOobMessage => ({
        direction: o.direction as 1 | 2,
        noob: o.noob,
        hoob: o.hoob,
        createdAt: new Date(o.created_at),
        expiresAt: new Date(o.expires_at),
        ...(o.account !== null ? { account: o.account } : {}),
      }),
    ),
    consumedOobs: consumed.map(
      (c): NoobConsumedOob => ({
        direction: c.direction as 1 | 2,
        hoob: c.hoob,
        ...(c.account !== null ? { account: c.account } : {}),
        consumedAt: new Date(c.consumed_at),
      }),
    ),
    ...(row.last_authenticated_at !== null ? { lastAuthenticatedAt: new Date(row.last_authenticated_at) } : {}),
    ...(row.registered_via !== null ? { registeredVia: row.registered_via } : {}),
  };
}
