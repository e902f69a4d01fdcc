import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { migrations } from '../../src/store/sqlite/migrations/index.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { SqliteNoobPeerStore } from '../../src/store/sqlite/noob-peers.js';
import { isConsumed, MemoryNoobPeerStore, type NoobPeerStore, type NoobPeerWrite } from '../../src/store/noob-peers.js';
import { migrate } from '../../src/store/sqlite/database.js';
import Database from 'better-sqlite3';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1H = new Date(T0.getTime() + 3600_000);
const N = 'x3JlolaPciK4Wa6XlMJxtQ';

function ephemeralPeer(peerId: string, createdAt = T0): NoobPeerWrite {
  return {
    peerId,
    state: 1,
    createdAt,
    updatedAt: createdAt,
    peerInfo: '{"Make":"Acme"}',
    ephemeral: {
      transcript: { vers: '[1]', verp: '1', peerId: JSON.stringify(peerId), cryptosuites: '[1,2]', dirs: '3', serverInfo: '{}', cryptosuitep: '1', dirp: '1', nai: '"noob@x.org"', peerInfo: '{"Make":"Acme"}', pks: '{}', ns: '"a"', pkp: '{}', np: '"b"' },
      identity: '@noob.eap.arpa',
      newNai: 'noob@x.org',
      cryptosuite: 1,
      dirp: 1,
      z: new Uint8Array(32).fill(7),
      sleepTime: 60,
      waitingExchanges: 0,
      oobRejections: 0,
    },
    accountBound: false,
    oobs: [],
    consumedOobs: [],
  };
}

function registered(peerId: string): NoobPeerWrite {
  return {
    peerId,
    state: 4,
    createdAt: T0,
    updatedAt: T0,
    account: 'alice',
    association: { verp: 1, cryptosuite: 2, nai: 'noob@x.org', kz: new Uint8Array(32).fill(9), serverInfo: '{"ServerName":"x"}' },
    accountBound: true,
    oobs: [],
    consumedOobs: [],
    lastAuthenticatedAt: T0,
  };
}

/**
 * better-sqlite3's native part keeps the SqliteError class of the first jest module registry that
 * loaded it, so in later test files its errors fail jest's `instanceof Error`: compare messages.
 */
async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(String((err as { message?: unknown } | undefined)?.message)).toMatch(re);
}

let dir: string;
let db: SqliteDatabase;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'noob-store-'));
  db = openSqlite(join(dir, 'gangway.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['SQLite', () => new SqliteNoobPeerStore(db) as NoobPeerStore],
  ['memory', () => new MemoryNoobPeerStore() as NoobPeerStore],
])('%s store', (_name, make) => {
  it('round-trips every field, assigns versions and compares them', async () => {
    const store = make();
    const rec = ephemeralPeer('P1');
    rec.oobs = [{ direction: 1, noob: N, hoob: N, createdAt: T0, expiresAt: T1H, account: 'bob' }, { direction: 2, noob: N, hoob: N, createdAt: T0, expiresAt: T1H }];
    expect(await store.transition('P1', null, rec)).toBe(true);
    const got = await store.get('P1');
    expect(got).toEqual({ ...rec, version: 1 });
    expect(await store.transition('P1', null, rec)).toBe(false);
    expect(await store.transition('P1', 7, rec)).toBe(false);
    expect(await store.transition('P1', 1, registered('P1'))).toBe(true);
    expect(await store.get('P1')).toEqual({ ...registered('P1'), version: 2 });
    expect(await store.transition('P1', 2, null)).toBe(true);
    expect(await store.get('P1')).toBeUndefined();
    expect(await store.transition('P1', 2, null)).toBe(false);
  });

  it('reports the stored version, which every write changes', async () => {
    const store = make();
    expect(await store.version('V1')).toBeUndefined();
    await store.transition('V1', null, ephemeralPeer('V1'));
    expect(await store.version('V1')).toBe(1);
    await store.transition('V1', 1, registered('V1'));
    expect(await store.version('V1')).toBe(2);
    expect(await store.transition('V1', 1, registered('V1'))).toBe(false);
    expect(await store.version('V1')).toBe(2);
    await store.transition('V1', 2, null);
    expect(await store.version('V1')).toBeUndefined();
  });

  it('counts and purges unbound registrations (state 1, no account, no OOB message), per NAS or all, and keeps registeredVia', async () => {
    const store = make();
    const at = (peerId: string, via: string | undefined, ageMs: number, change: Partial<NoobPeerWrite> = {}): NoobPeerWrite => ({
      ...ephemeralPeer(peerId, new Date(T0.getTime() - ageMs)),
      ...(via !== undefined ? { registeredVia: via } : {}),
      ...change,
    });
    await store.transition('a-old', null, at('a-old', 'nas-a', 10_000));
    await store.transition('a-new', null, at('a-new', 'nas-a', 0));
    await store.transition('b', null, at('b', 'nas-b', 10_000));
    await store.transition('none', null, at('none', undefined, 10_000));
    // Not unbound: an account chosen, an OOB message issued, an OOB received (state 2), registered.
    await store.transition('bound', null, at('bound', 'nas-a', 10_000, { accountBound: true, account: 'alice' }));
    await store.transition('issued', null, at('issued', 'nas-a', 10_000, { oobs: [{ direction: 2, noob: N, hoob: N, createdAt: T0, expiresAt: T1H }] }));
    await store.transition('received', null, at('received', 'nas-a', 10_000, { state: 2 }));
    await store.transition('reg', null, { ...registered('reg'), registeredVia: 'nas-a' });
    expect((await store.get('a-old'))?.registeredVia).toBe('nas-a');
    expect((await store.get('none'))?.registeredVia).toBeUndefined();
    expect(await store.countUnbound('nas-a')).toBe(2);
    expect(await store.countUnbound('nas-b')).toBe(1);
    expect(await store.countUnbound()).toBe(4);
    expect(await store.deleteUnboundBefore(new Date(T0.getTime() - 5000))).toBe(3);
    expect((await store.list({ states: [1, 2, 3, 4], limit: 100 })).map((r) => r.peerId).sort()).toEqual(['a-new', 'bound', 'issued', 'received', 'reg']);
  });

  it('lists by state and account, counts and purges only ephemeral records', async () => {
    const store = make();
    await store.transition('old', null, ephemeralPeer('old', new Date(T0.getTime() - 10_000)));
    await store.transition('new', null, ephemeralPeer('new'));
    await store.transition('reg', null, registered('reg'));
    expect((await store.list({ states: [1] })).map((r) => r.peerId).sort()).toEqual(['new', 'old']);
    expect((await store.list({ account: 'alice' })).map((r) => r.peerId)).toEqual(['reg']);
    expect((await store.list({ account: null })).map((r) => r.peerId).sort()).toEqual(['new', 'old']);
    expect(await store.countEphemeral()).toBe(2);
    expect(await store.deleteExpiredEphemeral(new Date(T0.getTime() + 1), T0, 1)).toBe(1);
    expect(await store.get('old')).toBeUndefined();
    expect(await store.deleteExpiredEphemeral(new Date(T0.getTime() + 1e12), T0)).toBe(1);
    expect(await store.get('reg')).toBeDefined();
    expect(await store.remove('reg')).toBe(true);
    expect(await store.remove('reg')).toBe(false);
  });

  it('keeps an old unfinished registration while a code it issued is valid, by that code\'s stored expiry', async () => {
    const store = make();
    const old = new Date(T0.getTime() - 2 * 86400_000);
    const code = (direction: 1 | 2, expiresAt: Date) => ({ direction, noob: N, hoob: N, createdAt: old, expiresAt });
    await store.transition('issued', null, { ...ephemeralPeer('issued', old), oobs: [code(2, T1H)] });
    // A delivered code's expiry is the device's business: it keeps nothing.
    await store.transition('delivered', null, { ...ephemeralPeer('delivered', old), state: 2, oobs: [code(1, T1H)] });
    const cutoff = new Date(T0.getTime() - 86400_000);
    expect(await store.deleteExpiredEphemeral(cutoff, T0)).toBe(1);
    expect(await store.get('delivered')).toBeUndefined();
    // Valid up to and including its expiry.
    expect(await store.deleteExpiredEphemeral(cutoff, T1H)).toBe(0);
    expect(await store.deleteExpiredEphemeral(cutoff, new Date(T1H.getTime() + 1))).toBe(1);
    expect(await store.get('issued')).toBeUndefined();
  });

  it('consumed OOB messages are append-only: a transition adds, never forgets; they go only with the record', async () => {
    const store = make();
    const H1 = 'AAAAAAAAAAAAAAAAAAAAAA';
    const H2 = 'BBBBBBBBBBBBBBBBBBBBBB';
    const T1 = new Date(T0.getTime() + 1000);
    await store.transition('P', null, { ...ephemeralPeer('P'), account: 'alice', accountBound: true, consumedOobs: [{ direction: 1, hoob: H1, account: 'alice', consumedAt: T0 }] });
    // A write that omits the list (a bug, or a state machine that rebuilt the record) keeps it.
    expect(await store.transition('P', 1, { ...ephemeralPeer('P'), account: 'alice', accountBound: true, consumedOobs: [] })).toBe(true);
    expect(await store.get('P')).toMatchObject({ accountBound: true, consumedOobs: [{ direction: 1, hoob: H1, account: 'alice', consumedAt: T0 }] });
    // Re-adding a Hoob keeps the first entry; a new one is appended in order.
    await store.transition('P', 2, {
      ...ephemeralPeer('P'),
      accountBound: true,
      consumedOobs: [{ direction: 1, hoob: H1, account: 'mallory', consumedAt: T1 }, { direction: 2, hoob: H2, consumedAt: T1 }],
    });
    const got = (await store.get('P'))!;
    expect(got.consumedOobs).toEqual([{ direction: 1, hoob: H1, account: 'alice', consumedAt: T0 }, { direction: 2, hoob: H2, consumedAt: T1 }]);
    expect(isConsumed(got, H2)).toBe(true);
    expect(isConsumed(got, N)).toBe(false);
    await store.transition('P', 3, null);
    await store.transition('P', null, ephemeralPeer('P'));
    expect((await store.get('P'))!.consumedOobs).toEqual([]);
  });
});

describe('SQLite atomicity', () => {
  it('a failure in the middle of a transition leaves the old record, OOB messages included', async () => {
    const store = new SqliteNoobPeerStore(db);
    const rec = ephemeralPeer('P');
    rec.oobs = [{ direction: 2, noob: N, hoob: N, createdAt: T0, expiresAt: T1H, account: 'carol' }];
    await store.transition('P', null, rec);
    const before = await store.get('P');
    // The peer row update succeeds, the old OOB rows are deleted, then the second OOB insert
    // violates a CHECK: the whole transaction must roll back.
    const next: NoobPeerWrite = {
      ...rec,
      state: 2,
      account: 'mallory',
      oobs: [{ direction: 1, noob: N, hoob: N, createdAt: T0, expiresAt: T1H }, { direction: 7 as 1, noob: N, hoob: N, createdAt: T0, expiresAt: T1H }],
    };
    await rejectsWith(store.transition('P', 1, next), /CHECK/);
    expect(await store.get('P')).toEqual(before);
  });

  it('the schema refuses a half-written peer (ephemeral data without state 1–2, state 4 without Kz)', async () => {
    const store = new SqliteNoobPeerStore(db);
    const { association: _a, ...noAssoc } = registered('R');
    await rejectsWith(store.transition('R', null, noAssoc), /CHECK/);
    const { ephemeral: _e, ...noEph } = ephemeralPeer('E');
    await rejectsWith(store.transition('E', null, noEph), /CHECK/);
    await rejectsWith(store.transition('K', null, { ...registered('K'), association: { ...registered('K').association!, kz: new Uint8Array(16) } }), /CHECK/);
    expect(await store.list({})).toEqual([]);
  });

  it('a transition is visible to a second connection only as a whole (another process, e.g. the CLI)', async () => {
    const a = new SqliteNoobPeerStore(db);
    const db2 = openSqlite(join(dir, 'gangway.db'));
    try {
      const b = new SqliteNoobPeerStore(db2);
      await a.transition('P', null, ephemeralPeer('P'));
      const seen = await b.get('P');
      expect(seen?.version).toBe(1);
      // Both read version 1; only the first writer wins.
      expect(await b.transition('P', 1, { ...ephemeralPeer('P'), state: 2, oobs: [{ direction: 1, noob: N, hoob: N, createdAt: T0, expiresAt: T1H }] })).toBe(true);
      expect(await a.transition('P', 1, { ...ephemeralPeer('P'), account: 'late' })).toBe(false);
      expect(await a.get('P')).toMatchObject({ state: 2, version: 2, oobs: [{ direction: 1 }] });
    } finally {
      db2.close();
    }
  });

  it('survives closing and reopening the file', async () => {
    const path = join(dir, 'gangway.db');
    await new SqliteNoobPeerStore(db).transition('P', null, registered('P'));
    db.close();
    db = openSqlite(path);
    expect(await new SqliteNoobPeerStore(db).get('P')).toEqual({ ...registered('P'), version: 1 });
  });

  it('migration 4 carries existing registrations over: a pending delivery is consumed and bound, an account is bound', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.pragma('foreign_keys = ON');
    migrate(old, migrations.filter((m) => m.version <= 3));
    const eph = JSON.stringify({ ...ephemeralPeer('x').ephemeral, z: Buffer.alloc(32, 7).toString('base64') });
    const insert = old.prepare(
      `INSERT INTO noob_peers (peer_id, state, version, created_at, updated_at, account, ephemeral) VALUES (?, ?, 1, '${T0.toISOString()}', '${T0.toISOString()}', ?, ?)`,
    );
    insert.run('waiting', 1, null, eph);
    insert.run('delivered', 2, 'alice', eph);
    insert.run('rolledback', 1, 'alice', eph);
    old.prepare(`INSERT INTO noob_oob_messages (peer_id, seq, direction, noob, hoob, created_at, account) VALUES ('delivered', 0, 1, ?, ?, '${T0.toISOString()}', 'alice')`).run(N, 'HHHHHHHHHHHHHHHHHHHHHH');
    migrate(old, migrations);
    old.close();
    const upgraded = openSqlite(path);
    try {
      const store = new SqliteNoobPeerStore(upgraded);
      expect(await store.get('waiting')).toMatchObject({ accountBound: false, consumedOobs: [] });
      expect(await store.get('delivered')).toMatchObject({ accountBound: true, account: 'alice', consumedOobs: [{ direction: 1, hoob: 'HHHHHHHHHHHHHHHHHHHHHH', account: 'alice', consumedAt: T0 }] });
      expect(await store.get('rolledback')).toMatchObject({ accountBound: true, account: 'alice', consumedOobs: [] });
      expect(migrations.find((m) => m.version === 4)?.name).toBe('noob-consumed-oobs');
    } finally {
      upgraded.close();
    }
  });

  it('migration 12 gives stored OOB messages an expiry: issued codes no later than the upgrade, delivered ones issue + 3600 s', async () => {
    const path = join(dir, 'old-oobs.db');
    const old = new Database(path);
    old.pragma('foreign_keys = ON');
    migrate(old, migrations.filter((m) => m.version <= 11));
    const eph = JSON.stringify({ ...ephemeralPeer('x').ephemeral, z: Buffer.alloc(32, 7).toString('base64') });
    const now = Date.now();
    const recent = new Date(now - 10 * 60_000);
    const stale = new Date(now - 2 * 3600_000);
    const insertPeer = old.prepare(`INSERT INTO noob_peers (peer_id, state, version, created_at, updated_at, account, account_bound, ephemeral) VALUES (?, ?, 1, ?, ?, NULL, ?, ?)`);
    insertPeer.run('issued', 1, stale.toISOString(), stale.toISOString(), 0, eph);
    insertPeer.run('delivered', 2, recent.toISOString(), recent.toISOString(), 1, eph);
    const insertOob = old.prepare('INSERT INTO noob_oob_messages (peer_id, seq, direction, noob, hoob, created_at, account) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insertOob.run('issued', 0, 2, N, 'AAAAAAAAAAAAAAAAAAAAAA', stale.toISOString(), 'carol');
    insertOob.run('issued', 1, 2, N, 'BBBBBBBBBBBBBBBBBBBBBB', recent.toISOString(), null);
    insertOob.run('delivered', 0, 1, N, 'CCCCCCCCCCCCCCCCCCCCCC', recent.toISOString(), 'alice');
    migrate(old, migrations);
    const migratedBy = Date.now();
    old.close();
    const upgraded = openSqlite(path);
    try {
      const store = new SqliteNoobPeerStore(upgraded);
      const issued = (await store.get('issued'))!;
      // Expired long ago by the default: created + 3600 s.
      expect(issued.oobs[0]).toMatchObject({ direction: 2, account: 'carol', createdAt: stale, expiresAt: new Date(stale.getTime() + 3600_000) });
      // Its true noobTimeout is unknown: it is accepted no longer than the upgrade.
      const cut = issued.oobs[1]!.expiresAt.getTime();
      expect(cut).toBeGreaterThanOrEqual(now - 1000);
      expect(cut).toBeLessThanOrEqual(migratedBy);
      expect((await store.get('delivered'))!.oobs).toEqual([{ direction: 1, noob: N, hoob: 'CCCCCCCCCCCCCCCCCCCCCC', account: 'alice', createdAt: recent, expiresAt: new Date(recent.getTime() + 3600_000) }]);
      // The upgraded table takes new messages with their expiry, and refuses one that ends before it starts.
      const later = new Date(migratedBy + 600_000);
      expect(await store.transition('issued', 1, { ...ephemeralPeer('issued', stale), oobs: [...issued.oobs, { direction: 2, noob: N, hoob: 'DDDDDDDDDDDDDDDDDDDDDD', createdAt: new Date(migratedBy), expiresAt: later }] })).toBe(true);
      expect((await store.get('issued'))!.oobs.at(-1)?.expiresAt).toEqual(later);
      await rejectsWith(store.transition('issued', 2, { ...ephemeralPeer('issued', stale), oobs: [{ direction: 2, noob: N, hoob: N, createdAt: later, expiresAt: T0 }] }), /CHECK/);
      expect((upgraded.prepare("SELECT name FROM schema_migrations WHERE version = 12").get() as { name: string }).name).toBe('noob-oob-expiry');
    } finally {
      upgraded.close();
    }
  });

  it('migration 3 is registered after 1, in version order', () => {
    const versions = migrations.map((m) => m.version);
    expect(versions).toContain(3);
    expect([...versions].sort((x, y) => x - y)).toEqual(versions);
    expect((db.prepare('SELECT version FROM schema_migrations WHERE version = 3').get() as { version: number }).version).toBe(3);
  });
});
