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
import { pgText, toNumber, type PostgresDatabase, type Queryable, type SqlValue } from './database.js';
import { decodeAssociation, decodeEphemeral, encodeAssociation, encodeEphemeral } from '../noob-peer-columns.js';

interface PeerRow {
  peer_id: string;
  state: number;
  version: number;
  created_at: Date;
  updated_at: Date;
  account: string | null;
  account_bound: boolean;
  peer_info: string | null;
  ephemeral: string | null;
  assoc_verp: number | null;
  assoc_cryptosuite: number | null;
  assoc_nai: string | null;
  assoc_kz: Buffer | null;
  assoc_server_info: string | null;
  last_authenticated_at: Date | null;
  registered_via: string | null;
  /** json_agg of the child rows, timestamps as ISO 8601 text. */
  oobs: { direction: number; noob: string; hoob: string; created_at: string; expires_at: string; account: string | null }[];
  consumed: { direction: number; hoob: string; account: string | null; consumed_at: string }[];
}


const PEER_COLUMNS =
  'peer_id, state, version, created_at, updated_at, account, account_bound, peer_info, ephemeral, assoc_verp, assoc_cryptosuite, assoc_nai, assoc_kz, assoc_server_info, last_authenticated_at, registered_via';

/**
 * A peer with its OOB messages and consumed OOB messages in one statement, so one snapshot: a
 * transition committed by another server between separate reads could otherwise pair a record
 * with another version's messages.
 */
const SELECT_PEERS = `
  SELECT ${PEER_COLUMNS.split(', ').map((c) => `p.${c}`).join(', ')},
    coalesce((SELECT json_agg(json_build_object('direction', m.direction, 'noob', m.noob, 'hoob', m.hoob, 'created_at', m.created_at, 'expires_at', m.expires_at, 'account', m.account) ORDER BY m.seq)
              FROM noob_oob_messages m WHERE m.peer_id = p.peer_id), '[]'::json) AS oobs,
    coalesce((SELECT json_agg(json_build_object('direction', c.direction, 'hoob', c.hoob, 'account', c.account, 'consumed_at', c.consumed_at) ORDER BY c.seq)
              FROM noob_consumed_oobs c WHERE c.peer_id = p.peer_id), '[]'::json) AS consumed
  FROM noob_peers p`;

/** isUnbound() in SQL: state 1, no account chosen, no OOB message issued or received. */
const UNBOUND = 'state = 1 AND NOT account_bound AND NOT EXISTS (SELECT 1 FROM noob_oob_messages m WHERE m.peer_id = noob_peers.peer_id)';

/**
 * PostgreSQL implementation of the NOOB peer store, for many servers on one database.
 *
 * A transition is one transaction whose first write is conditional on the version read by the
 * caller: `UPDATE … WHERE version = $expected` (or `INSERT … ON CONFLICT DO NOTHING` for a new
 * peer). Under READ COMMITTED a second server's concurrent transition waits for the first one's row
 * lock, then re-reads the row, finds another version and writes nothing: exactly one of them wins,
 * as with SQLite's IMMEDIATE transaction.
 */
export class PostgresNoobPeerStore implements NoobPeerStore {
  /** The last creation queued in this process; settles, never rejects. */
  private creations: Promise<void> = Promise.resolve();

  constructor(private readonly db: PostgresDatabase) {}

  async get(peerId: string): Promise<NoobPeerRecord | undefined> {
    const { rows } = await this.db.query<PeerRow>(`${SELECT_PEERS} WHERE p.peer_id = $1`, [pgText(peerId)]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async version(peerId: string): Promise<number | undefined> {
    const { rows } = await this.db.query<{ version: string | number }>('SELECT version FROM noob_peers WHERE peer_id = $1', [pgText(peerId)]);
    return rows[0] ? toNumber(rows[0].version) : undefined;
  }

  async transition(peerId: string, expectedVersion: number | null, next: NoobPeerWrite | null): Promise<boolean> {
    if (next !== null && next.peerId !== peerId) throw new Error('a transition cannot rename a peer');
    return this.db.transaction((tx) => writeTransition(tx, peerId, expectedVersion, next));
  }

  async createRegistration(next: NoobPeerWrite, limits: NoobRegistrationLimits): Promise<NoobRegistrationOutcome> {
    // One creation of this process at a time: each waiting for the lock would hold a connection of
    // the pool, and a burst of Initial Exchanges would leave none for anything else (measured: at
    // 50,000 registrations, 1,000 at once made other queries wait past the pool's 10 s timeout).
    const mine = this.creations.then(() => createWithinLimits(this.db, next, limits));
    this.creations = mine.then(
      () => undefined,
      () => undefined,
    );
    return mine;
  }

  async list(query: NoobPeerQuery): Promise<NoobPeerRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.states && query.states.length > 0) {
      where.push(`p.state IN (${query.states.map((s) => { params.push(s); return `$${params.length}`; }).join(', ')})`);
    }
    if (query.account === null) where.push('p.account IS NULL');
    else if (query.account !== undefined) {
      params.push(pgText(query.account));
      where.push(`p.account = $${params.length}`);
    }
    params.push(query.limit ?? 100);
    const sql = `${SELECT_PEERS} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY p.created_at DESC LIMIT $${params.length}`;
    return (await this.db.query<PeerRow>(sql, params)).rows.map(fromRow);
  }

  async countEphemeral(): Promise<number> {
    return countEphemeralOn(this.db);
  }

  async deleteExpiredEphemeral(createdBefore: Date, now: Date, limit = 1_000_000): Promise<number> {
    // holdsLiveIssuedOob() in SQL: an issued code still valid at `now` keeps its registration.
    const live = 'EXISTS (SELECT 1 FROM noob_oob_messages m WHERE m.peer_id = noob_peers.peer_id AND m.direction = 2 AND m.expires_at >= $3)';
    return deleteOldest(this.db, `state <= 2 AND NOT ${live}`, createdBefore, limit, [now]);
  }

  async countUnbound(registeredVia?: string): Promise<number> {
    return countUnboundOn(this.db, registeredVia);
  }

  async deleteUnboundBefore(before: Date, limit = 1_000_000): Promise<number> {
    return deleteOldest(this.db, UNBOUND, before, limit);
  }

  async remove(peerId: string): Promise<boolean> {
    return ((await this.db.query('DELETE FROM noob_peers WHERE peer_id = $1', [pgText(peerId)])).rowCount ?? 0) > 0;
  }
}

/** `createRegistration` itself, in its own transaction (a function: see `writeTransition`). */
async function createWithinLimits(db: PostgresDatabase, next: NoobPeerWrite, limits: NoobRegistrationLimits): Promise<NoobRegistrationOutcome> {
  return db.transaction(async (tx) => {
    // READ COMMITTED counts do not see a creation another server has not committed yet: without
    // taking turns, ten at once would each find room for one. The lock is held to the commit, so
    // the next creation's counts, read after it is granted, include this one.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gangway:noob-registration:${db.schema}`]);
    let refusal = tableQuotaRefusal(await countEphemeralOn(tx), limits);
    const via = next.registeredVia;
    if (!refusal && via !== undefined) refusal = nasQuotaRefusal(await countUnboundOn(tx, via), limits);
    if (refusal) return { created: false, refusal };
    return (await writeTransition(tx, next.peerId, null, next)) ? { created: true } : { created: false, exists: true };
  });
}

/** Records in states 1 and 2, on the pool or inside a transaction. */
async function countEphemeralOn(q: Queryable): Promise<number> {
  return toNumber((await q.query<{ n: string }>('SELECT count(*) AS n FROM noob_peers WHERE state <= 2')).rows[0]!.n);
}

/** Unbound registrations, all or those made through one NAS, on the pool or inside a transaction. */
async function countUnboundOn(q: Queryable, registeredVia?: string): Promise<number> {
  const { rows } = registeredVia === undefined
    ? await q.query<{ n: string }>(`SELECT count(*) AS n FROM noob_peers WHERE ${UNBOUND}`)
    : await q.query<{ n: string }>(`SELECT count(*) AS n FROM noob_peers WHERE registered_via = $1 AND ${UNBOUND}`, [pgText(registeredVia)]);
  return toNumber(rows[0]!.n);
}

/**
 * One transition inside the caller's transaction (see `transition`). (A function, not a method:
 * the metrics time a store's methods, and this is none of its operations.)
 */
async function writeTransition(tx: Queryable, peerId: string, expectedVersion: number | null, next: NoobPeerWrite | null): Promise<boolean> {
  const id = pgText(peerId);
  if (next === null) {
    if (expectedVersion === null) return (await tx.query('SELECT 1 FROM noob_peers WHERE peer_id = $1', [id])).rowCount === 0;
    return (await tx.query('DELETE FROM noob_peers WHERE peer_id = $1 AND version = $2', [id, expectedVersion])).rowCount === 1;
  }
  const row = toRow(next, (expectedVersion ?? 0) + 1);
  if (expectedVersion === null) {
    const inserted = await tx.query(
      `INSERT INTO noob_peers (${PEER_COLUMNS}) VALUES (${row.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT (peer_id) DO NOTHING`,
      row,
    );
    if (inserted.rowCount !== 1) return false;
  } else {
    const sets = PEER_COLUMNS.split(', ').slice(1).map((c, i) => `${c} = $${i + 2}`).join(', ');
    const updated = await tx.query(`UPDATE noob_peers SET ${sets} WHERE peer_id = $1 AND version = $${row.length + 1}`, [...row, expectedVersion]);
    if (updated.rowCount !== 1) return false;
    await tx.query('DELETE FROM noob_oob_messages WHERE peer_id = $1', [id]);
  }
  await insertOobs(tx, id, next.oobs);
  // Append-only: a Hoob already stored keeps its row (and its first account and time).
  for (const c of next.consumedOobs) {
    await tx.query(
      `INSERT INTO noob_consumed_oobs (peer_id, hoob, seq, direction, account, consumed_at)
       VALUES ($1, $2, (SELECT coalesce(max(seq), -1) + 1 FROM noob_consumed_oobs WHERE peer_id = $1), $3, $4, $5)
       ON CONFLICT (peer_id, hoob) DO NOTHING`,
      [id, c.hoob, c.direction, pgText(c.account), c.consumedAt],
    );
  }
  return true;
}

/**
 * Deletes the oldest peers meeting `condition` created before `before`, at most `limit`. A peer
 * another server is transitioning right now is skipped (SKIP LOCKED) rather than waited for: it is
 * in use, and the next round finds it if it is still old. (A function, not a method: the metrics
 * time a store's methods, and this is none of its operations.)
 */
async function deleteOldest(db: PostgresDatabase, condition: string, before: Date, limit: number, extra: readonly SqlValue[] = []): Promise<number> {
  const r = await db.query(
    `DELETE FROM noob_peers WHERE peer_id IN (
       SELECT peer_id FROM noob_peers WHERE ${condition} AND created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [before, limit, ...extra],
  );
  return r.rowCount ?? 0;
}

async function insertOobs(tx: Queryable, peerId: string, oobs: readonly NoobOobMessage[]): Promise<void> {
  if (oobs.length === 0) return;
  const params: SqlValue[] = [];
  const values = oobs.map((m, seq) => {
    params.push(peerId, seq, m.direction, m.noob, m.hoob, m.createdAt, m.expiresAt, pgText(m.account));
    const n = params.length;
    return `(${Array.from({ length: 8 }, (_, i) => `$${n - 7 + i}`).join(', ')})`;
  });
  await tx.query(`INSERT INTO noob_oob_messages (peer_id, seq, direction, noob, hoob, created_at, expires_at, account) VALUES ${values.join(', ')}`, params);
}

/** The record's columns in PEER_COLUMNS order. */
function toRow(r: NoobPeerWrite, version: number): SqlValue[] {
  const a = encodeAssociation(r.association);
  return [
    pgText(r.peerId),
    r.state,
    version,
    r.createdAt,
    r.updatedAt,
    pgText(r.account),
    r.accountBound,
    pgText(r.peerInfo),
    // JSON.stringify writes U+0000 as the escape \u0000, which text holds.
    encodeEphemeral(r.ephemeral),
    a.verp,
    a.cryptosuite,
    pgText(a.nai),
    a.kz,
    pgText(a.serverInfo),
    r.lastAuthenticatedAt ?? null,
    pgText(r.registeredVia),
  ];
}

function fromRow(row: PeerRow): NoobPeerRecord {
  const ephemeral = decodeEphemeral(row.ephemeral);
  const association = decodeAssociation(row);
  return {
    peerId: row.peer_id,
    state: row.state as NoobServerState,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.account !== null ? { account: row.account } : {}),
    accountBound: row.account_bound,
    ...(row.peer_info !== null ? { peerInfo: row.peer_info } : {}),
    ...(ephemeral ? { ephemeral } : {}),
    ...(association ? { association } : {}),
    oobs: row.oobs.map(
      (o): NoobOobMessage => ({
        direction: o.direction as 1 | 2,
        noob: o.noob,
        hoob: o.hoob,
        createdAt: new Date(o.created_at),
        expiresAt: new Date(o.expires_at),
        ...(o.account !== null ? { account: o.account } : {}),
      }),
    ),
    consumedOobs: row.consumed.map(
      (c): NoobConsumedOob => ({
        direction: c.direction as 1 | 2,
        hoob: c.hoob,
        ...(c.account !== null ? { account: c.account } : {}),
        consumedAt: new Date(c.consumed_at),
      }),
    ),
    ...(row.last_authenticated_at !== null ? { lastAuthenticatedAt: row.last_authenticated_at } : {}),
    ...(row.registered_via !== null ? { registeredVia: row.registered_via } : {}),
  };
}
