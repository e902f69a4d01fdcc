import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { migrations } from '../../src/store/sqlite/migrations/index.js';
import { migrations as postgresMigrations } from '../../src/store/postgres/migrations/index.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { PostgresNoobPeerStore } from '../../src/store/postgres/noob-peers.js';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { NOOB_PEER_INDEXED_COLUMNS, NOOB_PEER_NARROW_WRITE_COLUMNS, SqliteNoobPeerStore } from '../../src/store/sqlite/noob-peers.js';
import { isConsumed, MemoryNoobPeerStore, type NoobPeerStore, type NoobPeerWrite } from '../../src/store/noob-peers.js';
import { migrate } from '../../src/store/sqlite/database.js';
import Database from 'better-sqlite3';
import { describeStores, openTestPostgresStores, type StoreUnderTest } from '../helpers/store-kinds.js';
import { dropSchema, freshName, requirePostgres } from '../helpers/postgres.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { ephemeralRegistration } from '../helpers/noob-records.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1H = new Date(T0.getTime() + 3600_000);
const N = 'x3JlolaPciK4Wa6XlMJxtQ';

const ephemeralPeer = (peerId: string, createdAt = T0): NoobPeerWrite => ephemeralRegistration(peerId, createdAt);

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
 * loaded it, so in later test files its errors fail jest's `instanceof Error`: compare messages
 * (SQLite says "CHECK constraint failed", PostgreSQL "violates check constraint").
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
const CHECK = /CHECK constraint|violates check constraint/i;

/** The common contract, as a function of a store factory: run on memory, SQLite and PostgreSQL. */
function contract(make: () => NoobPeerStore): void {
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

  it('a write that keeps every indexed column stores all the rest; one that changes any of them is found by it', async () => {
    const store = make();
    const reg = registered('R1');
    await store.transition('R1', null, reg);
    // A Reconnect: new Kz, times, peer info; state, creation time, account and registration origin kept.
    // Every column but the indexed ones changes (KeyingMode 3 changes the cryptosuite too).
    const reconnect: NoobPeerWrite = {
      ...reg,
      updatedAt: T1H,
      lastAuthenticatedAt: T1H,
      peerInfo: '{"Make":"Acme","Firmware":"2"}',
      association: { verp: 2, cryptosuite: 1, kz: new Uint8Array(32).fill(3), nai: 'noob@y.org', serverInfo: '{"ServerName":"y"}' },
    };
    expect(await store.transition('R1', 1, reconnect)).toBe(true);
    expect(await store.get('R1')).toEqual({ ...reconnect, version: 2 });
    // An unfinished registration's step: its ephemeral data changes, its state does not.
    const waiting = ephemeralPeer('E1');
    await store.transition('E1', null, waiting);
    const { peerInfo: _dropped, ...withoutPeerInfo } = waiting;
    const stepped: NoobPeerWrite = { ...withoutPeerInfo, updatedAt: T1H, ephemeral: { ...waiting.ephemeral!, z: new Uint8Array(32).fill(8), sleepTime: 120, waitingExchanges: 3, oobRejections: 1, newNai: 'noob@z.org' } };
    expect(await store.transition('E1', 1, stepped)).toBe(true);
    expect(await store.get('E1')).toEqual({ ...stepped, version: 2 });
    expect(await store.transition('E1', 2, null)).toBe(true);
    // Each column an index covers, changed alone, reaches what is looked up through it.
    expect(await store.transition('R1', 2, { ...reconnect, account: 'carol' })).toBe(true);
    expect((await store.list({ account: 'carol' })).map((r) => r.peerId)).toEqual(['R1']);
    expect(await store.list({ account: 'alice' })).toEqual([]);
    const later = new Date(T0.getTime() + 5000);
    expect(await store.transition('R1', 3, { ...reconnect, account: 'carol', createdAt: later })).toBe(true);
    expect((await store.get('R1'))?.createdAt).toEqual(later);
    expect(await store.transition('R1', 4, { ...reconnect, account: 'carol', createdAt: later, registeredVia: 'nas-z' })).toBe(true);
    expect((await store.get('R1'))?.registeredVia).toBe('nas-z');
    const unbound = { ...ephemeralPeer('U1'), registeredVia: 'nas-z' };
    await store.transition('U1', null, { ...unbound, accountBound: true });
    expect(await store.countUnbound('nas-z')).toBe(0);
    expect(await store.transition('U1', 1, unbound)).toBe(true);
    expect(await store.countUnbound('nas-z')).toBe(1);
    expect(await store.countEphemeral()).toBe(1);
    expect(await store.transition('U1', 2, { ...unbound, state: 2 })).toBe(true);
    expect(await store.countUnbound('nas-z')).toBe(0);
    expect((await store.list({ states: [2] })).map((r) => r.peerId)).toEqual(['U1']);
    expect(await store.list({ states: [1] })).toEqual([]);
  });

  it('creates a registration only while both quotas have room, counting unbound ones of its own NAS', async () => {
    const store = make();
    const limits = { maxEphemeral: 4, maxUnboundVia: 2 };
    const via = (peerId: string, nas: string): NoobPeerWrite => ({ ...ephemeralPeer(peerId), registeredVia: nas });
    expect(await store.createRegistration(via('a1', 'A'), limits)).toEqual({ created: true });
    expect(await store.createRegistration(via('a2', 'A'), limits)).toEqual({ created: true });
    expect(await store.createRegistration(via('a3', 'A'), limits)).toEqual({ created: false, refusal: { quota: 'nas', count: 2, limit: 2 } });
    // A delivered code binds a1: it no longer counts against A's share, but still fills the table.
    await store.transition('a1', 1, { ...via('a1', 'A'), state: 2, oobs: [{ direction: 1, noob: N, hoob: N, createdAt: T0, expiresAt: T1H }] });
    expect(await store.createRegistration(via('a3', 'A'), limits)).toEqual({ created: true });
    expect(await store.createRegistration(via('b1', 'B'), limits)).toEqual({ created: true });
    expect(await store.createRegistration(via('b2', 'B'), limits)).toEqual({ created: false, refusal: { quota: 'table', count: 4, limit: 4 } });
    // Registered associations are not ephemeral; an existing peer is not created again.
    await store.transition('b1', 1, registered('b1'));
    expect(await store.createRegistration(via('a2', 'B'), limits)).toEqual({ created: false, exists: true });
    expect((await store.get('a2'))?.registeredVia).toBe('A');
    expect(await store.createRegistration(via('b2', 'B'), limits)).toEqual({ created: true });
    expect(await store.countEphemeral()).toBe(4);
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
}

describe('memory store', () => contract(() => new MemoryNoobPeerStore()));

describeStores('NoobPeerStore', (kind) => {
  let s: StoreUnderTest;
  beforeEach(async () => {
    s = await kind.open();
  });
  afterEach(() => s.close());

  describe('contract', () => contract(() => s.stores.noobPeers));

  it('a failure in the middle of a transition leaves the old record, OOB messages included', async () => {
    const store = s.stores.noobPeers;
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
    await rejectsWith(store.transition('P', 1, next), CHECK);
    expect(await store.get('P')).toEqual(before);
  });

  it('the schema refuses a half-written peer (ephemeral data without state 1–2, state 4 without Kz)', async () => {
    const store = s.stores.noobPeers;
    const { association: _a, ...noAssoc } = registered('R');
    await rejectsWith(store.transition('R', null, noAssoc), CHECK);
    const { ephemeral: _e, ...noEph } = ephemeralPeer('E');
    await rejectsWith(store.transition('E', null, noEph), CHECK);
    await rejectsWith(store.transition('K', null, { ...registered('K'), association: { ...registered('K').association!, kz: new Uint8Array(16) } }), CHECK);
    expect(await store.list({})).toEqual([]);
  });

  it('a transition is visible to a second connection only as a whole (another process: the CLI, another server)', async () => {
    const a = s.stores.noobPeers;
    const b = (await s.another()).noobPeers;
    await a.transition('P', null, ephemeralPeer('P'));
    const seen = await b.get('P');
    expect(seen?.version).toBe(1);
    // Both read version 1; only the first writer wins.
    expect(await b.transition('P', 1, { ...ephemeralPeer('P'), state: 2, oobs: [{ direction: 1, noob: N, hoob: N, createdAt: T0, expiresAt: T1H }] })).toBe(true);
    expect(await a.transition('P', 1, { ...ephemeralPeer('P'), account: 'late' })).toBe(false);
    expect(await a.get('P')).toMatchObject({ state: 2, version: 2, oobs: [{ direction: 1 }] });
  });

  it('transitions racing from two connections on one version: exactly one wins, every time, and the winner is stored whole', async () => {
    const a = s.stores.noobPeers;
    const b = (await s.another()).noobPeers;
    for (let round = 0; round < 20; round++) {
      const id = `race-${round}`;
      await a.transition(id, null, ephemeralPeer(id));
      const fromA: NoobPeerWrite = { ...ephemeralPeer(id), account: 'alice', accountBound: true, oobs: [{ direction: 2, noob: N, hoob: N, createdAt: T0, expiresAt: T1H, account: 'alice' }] };
      const fromB: NoobPeerWrite = { ...ephemeralPeer(id), state: 2, account: 'bob', accountBound: true, oobs: [{ direction: 1, noob: N, hoob: N, createdAt: T0, expiresAt: T1H, account: 'bob' }] };
      const [wonA, wonB] = await Promise.all([a.transition(id, 1, fromA), b.transition(id, 1, fromB)]);
      expect([wonA, wonB].filter(Boolean)).toHaveLength(1);
      expect(await a.get(id)).toEqual({ ...(wonA ? fromA : fromB), version: 2 });
    }
    // Creating the same new peer from both: one insert wins, the other is told the record changed.
    const created = await Promise.all([a.transition('new', null, ephemeralPeer('new')), b.transition('new', null, { ...ephemeralPeer('new'), account: 'x' })]);
    expect(created.filter(Boolean)).toHaveLength(1);
  });

  it('registrations racing from several connections never pass a quota together (servers on one database)', async () => {
    const connections = [s.stores.noobPeers, (await s.another()).noobPeers, (await s.another()).noobPeers];
    const limits = { maxEphemeral: 25, maxUnboundVia: 12 };
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        connections[i % 3]!.createRegistration({ ...ephemeralPeer(`r${i}`), registeredVia: i % 2 === 0 ? 'A' : 'B' }, limits),
      ),
    );
    const created = outcomes.filter((o) => o.created).length;
    expect(created).toBe(24);
    expect(await s.stores.noobPeers.countUnbound('A')).toBe(12);
    expect(await s.stores.noobPeers.countUnbound('B')).toBe(12);
    // One more fits the table, from a third NAS.
    expect(await connections[1]!.createRegistration({ ...ephemeralPeer('c'), registeredVia: 'C' }, limits)).toEqual({ created: true });
    expect(await s.stores.noobPeers.countEphemeral()).toBe(25);
  });

  it('purging from one connection while another transitions: nothing half-deleted, a registered peer never purged', async () => {
    const a = s.stores.noobPeers;
    const b = (await s.another()).noobPeers;
    const old = new Date(T0.getTime() - 60_000);
    for (let i = 0; i < 30; i++) await a.transition(`p${i}`, null, ephemeralPeer(`p${i}`, old));
    // Half of them complete registration on "the other server" while the purge runs.
    const [purged, ...won] = await Promise.all([
      a.deleteExpiredEphemeral(T0, T0),
      ...Array.from({ length: 15 }, (_, i) => b.transition(`p${i}`, 1, { ...registered(`p${i}`), createdAt: old })),
    ]);
    const survivors = await a.list({ limit: 100 });
    expect(survivors.every((r) => r.state === 4)).toBe(true);
    expect(survivors.length).toBe((won as boolean[]).filter(Boolean).length);
    expect(purged + survivors.length).toBe(30);
  });

  it('survives closing and reopening', async () => {
    await s.stores.noobPeers.transition('P', null, registered('P'));
    const again = await s.another();
    expect(await again.noobPeers.get('P')).toEqual({ ...registered('P'), version: 1 });
  });

  it('migration 3 is recorded, in version order', async () => {
    const recorded = await s.migrations();
    expect(recorded.map((m) => m.version)).toEqual([...recorded.map((m) => m.version)].sort((x, y) => x - y));
    expect(recorded.find((m) => m.version === 3)?.name).toBe('noob');
  });
});

describe('EAP-NOOB registration quotas across threads on one SQLite file (server.workers)', () => {
  it('three threads registering at once never pass a quota together', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-noob-threads-'));
    const path = join(dir, 'gangway.db');
    const setup = openSqlite(path);
    migrate(setup, migrations);
    setup.close();
    const storesUrl = pathToFileURL(join(__dirname, '../../dist/store/sqlite/stores.js')).href;
    // Each thread opens its own connection, as a worker does, and registers as fast as it can once told to.
    const script = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.storesUrl).then((m) => {
        const stores = m.openSqliteStores(workerData.path);
        parentPort.once('message', async () => {
          let created = 0;
          for (const r of workerData.records) if ((await stores.noobPeers.createRegistration(r, workerData.limits)).created) created++;
          stores.close();
          parentPort.postMessage(created);
        });
        parentPort.postMessage('ready');
      });`;
    const limits = { maxEphemeral: 50, maxUnboundVia: 20 };
    const workers = [0, 1, 2].map((w) => {
      const records = Array.from({ length: 40 }, (_, i): NoobPeerWrite => ({ ...ephemeralPeer(`t${w}-${i}`), registeredVia: i % 2 === 0 ? 'A' : 'B' }));
      return new Worker(script, { eval: true, workerData: { storesUrl, path, records, limits } });
    });
    // A thread that fails (an import, the database) fails the test at once.
    const failed = new Promise<never>((_, reject) => workers.forEach((w) => w.once('error', reject)));
    try {
      await Promise.race([failed, Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))))]);
      const done = Promise.race([failed, Promise.all(workers.map((w) => new Promise<number>((resolve) => w.once('message', resolve))))]);
      for (const w of workers) w.postMessage('go');
      const created = (await done).reduce((a, b) => a + b, 0);
      const check = new SqliteNoobPeerStore(openSqlite(path));
      expect(created).toBe(40);
      expect(await check.countUnbound('A')).toBe(20);
      expect(await check.countUnbound('B')).toBe(20);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('EAP-NOOB registration creations on PostgreSQL', () => {
  const server = requirePostgres();
  const open = (schema: string, poolSize: number) =>
    PostgresDatabase.open({ url: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}), schema, poolSize }, new MemoryLog());

  (server ? it : it.skip)('hold the quotas on connections whose default isolation is REPEATABLE READ (a role or database set so)', async () => {
    const schema = freshName();
    const dbs: PostgresDatabase[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        // One connection each, so that the session setting below is the one every transaction starts from.
        const db = await open(schema, 1);
        dbs.push(db);
        await db.query('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      }
      const stores = dbs.map((db) => new PostgresNoobPeerStore(db));
      const limits = { maxEphemeral: 25, maxUnboundVia: 12 };
      const outcomes = await Promise.all(
        Array.from({ length: 60 }, (_, i) => stores[i % 3]!.createRegistration({ ...ephemeralPeer(`rr${i}`), registeredVia: i % 2 === 0 ? 'A' : 'B' }, limits)),
      );
      expect(outcomes.filter((o) => o.created)).toHaveLength(24);
      expect(await stores[0]!.countUnbound('A')).toBe(12);
      expect(await dbs[0]!.transaction(async (tx) => (await tx.query<{ transaction_isolation: string }>('SHOW transaction_isolation')).rows[0]!.transaction_isolation)).toBe('read committed');
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await dropSchema(server!, schema);
    }
  });

  (server ? it : it.skip)('a burst of creations holds one connection of the pool: other queries do not wait behind it', async () => {
    const schema = freshName();
    const db = await open(schema, 2);
    try {
      const store = new PostgresNoobPeerStore(db);
      await store.transition('known', null, registered('known'));
      // Both connections open and idle, so that the read below does not wait for a connect.
      await Promise.all([db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)')]);
      const limits = { maxEphemeral: 1000, maxUnboundVia: 1000 };
      let finished = 0;
      const burst = Array.from({ length: 30 }, (_, i) => store.createRegistration({ ...ephemeralPeer(`b${i}`), registeredVia: 'A' }, limits).then((o) => (finished++, o)));
      // Queued behind 30 creations in the pool's own queue, this read would wait for most of them.
      expect((await store.get('known'))?.state).toBe(4);
      // Without the queue, 29 of the 30 had finished by then.
      expect(finished).toBeLessThanOrEqual(10);
      expect((await Promise.all(burst)).every((o) => o.created)).toBe(true);
    } finally {
      await db.close();
      await dropSchema(server!, schema);
    }
  });
});

/** Rows as a Gangway of schema version 3 left them, then the upgrade: each database its own SQL, one expectation. */
describe('migration 4 carries existing registrations over: a pending delivery is consumed and bound, an account is bound', () => {
  const expectUpgraded = async (store: NoobPeerStore): Promise<void> => {
    expect(await store.get('waiting')).toMatchObject({ accountBound: false, consumedOobs: [] });
    expect(await store.get('delivered')).toMatchObject({ accountBound: true, account: 'alice', consumedOobs: [{ direction: 1, hoob: 'HHHHHHHHHHHHHHHHHHHHHH', account: 'alice', consumedAt: T0 }] });
    expect(await store.get('rolledback')).toMatchObject({ accountBound: true, account: 'alice', consumedOobs: [] });
  };
  const eph = JSON.stringify({ ...ephemeralPeer('x').ephemeral, z: Buffer.alloc(32, 7).toString('base64') });

  it('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'noob-store-'));
    try {
      const path = join(dir, 'old.db');
      const old = new Database(path);
      old.pragma('foreign_keys = ON');
      migrate(old, migrations.filter((m) => m.version <= 3));
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
        await expectUpgraded(new SqliteNoobPeerStore(upgraded));
      } finally {
        upgraded.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const server = requirePostgres();
  (server ? it : it.skip)('PostgreSQL', async () => {
    const schema = freshName();
    const log = new MemoryLog();
    try {
      const old = await PostgresDatabase.open({ url: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}), schema, poolSize: 1 }, log, postgresMigrations.filter((m) => m.version <= 3));
      try {
        const insert = `INSERT INTO noob_peers (peer_id, state, version, created_at, updated_at, account, ephemeral) VALUES ($1, $2, 1, $3, $3, $4, $5)`;
        await old.query(insert, ['waiting', 1, T0, null, eph]);
        await old.query(insert, ['delivered', 2, T0, 'alice', eph]);
        await old.query(insert, ['rolledback', 1, T0, 'alice', eph]);
        await old.query(`INSERT INTO noob_oob_messages (peer_id, seq, direction, noob, hoob, created_at, account) VALUES ('delivered', 0, 1, $1, $2, $3, 'alice')`, [N, 'HHHHHHHHHHHHHHHHHHHHHH', T0]);
      } finally {
        await old.close();
      }
      const upgraded = await openTestPostgresStores(server!, schema, log);
      try {
        await expectUpgraded(upgraded.noobPeers);
      } finally {
        await upgraded.close();
      }
    } finally {
      await dropSchema(server!, schema);
    }
  });
});

/** Rows of schema version 11 (OOB messages without expiry), then the upgrade; each database its own SQL, one expectation. */
describe('migration 12 gives stored OOB messages an expiry: issued codes no later than the upgrade, delivered ones issue + 3600 s', () => {
  const eph = JSON.stringify({ ...ephemeralPeer('x').ephemeral, z: Buffer.alloc(32, 7).toString('base64') });
  let now: number;
  let recent: Date;
  let stale: Date;
  beforeEach(() => {
    now = Date.now();
    recent = new Date(now - 10 * 60_000);
    stale = new Date(now - 2 * 3600_000);
  });

  const expectUpgraded = async (store: NoobPeerStore, migratedBy: number): Promise<void> => {
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
    await rejectsWith(store.transition('issued', 2, { ...ephemeralPeer('issued', stale), oobs: [{ direction: 2, noob: N, hoob: N, createdAt: later, expiresAt: T0 }] }), CHECK);
  };

  it('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'noob-store-'));
    try {
      const path = join(dir, 'old-oobs.db');
      const old = new Database(path);
      old.pragma('foreign_keys = ON');
      migrate(old, migrations.filter((m) => m.version <= 11));
      const insertPeer = old.prepare(`INSERT INTO noob_peers (peer_id, state, version, created_at, updated_at, account, account_bound, ephemeral) VALUES (?, ?, 1, ?, ?, NULL, ?, ?)`);
      insertPeer.run('issued', 1, stale.toISOString(), stale.toISOString(), 0, eph);
      insertPeer.run('delivered', 2, recent.toISOString(), recent.toISOString(), 1, eph);
      const insertOob = old.prepare('INSERT INTO noob_oob_messages (peer_id, seq, direction, noob, hoob, created_at, account) VALUES (?, ?, ?, ?, ?, ?, ?)');
      insertOob.run('issued', 0, 2, N, 'AAAAAAAAAAAAAAAAAAAAAA', stale.toISOString(), 'carol');
      insertOob.run('issued', 1, 2, N, 'BBBBBBBBBBBBBBBBBBBBBB', recent.toISOString(), null);
      insertOob.run('delivered', 0, 1, N, 'CCCCCCCCCCCCCCCCCCCCCC', recent.toISOString(), 'alice');
      migrate(old, migrations);
      const migratedBy = Date.now();
      expect((old.prepare('SELECT name FROM schema_migrations WHERE version = 12').get() as { name: string }).name).toBe('noob-oob-expiry');
      old.close();
      const upgraded = openSqlite(path);
      try {
        await expectUpgraded(new SqliteNoobPeerStore(upgraded), migratedBy);
      } finally {
        upgraded.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const server = requirePostgres();
  (server ? it : it.skip)('PostgreSQL', async () => {
    const schema = freshName();
    const log = new MemoryLog();
    const options = { url: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}), schema, poolSize: 1 };
    try {
      const old = await PostgresDatabase.open(options, log, postgresMigrations.filter((m) => m.version <= 11));
      try {
        const insertPeer = 'INSERT INTO noob_peers (peer_id, state, version, created_at, updated_at, account, account_bound, ephemeral) VALUES ($1, $2, 1, $3, $3, NULL, $4, $5)';
        await old.query(insertPeer, ['issued', 1, stale, false, eph]);
        await old.query(insertPeer, ['delivered', 2, recent, true, eph]);
        const insertOob = 'INSERT INTO noob_oob_messages (peer_id, seq, direction, noob, hoob, created_at, account) VALUES ($1, $2, $3, $4, $5, $6, $7)';
        await old.query(insertOob, ['issued', 0, 2, N, 'AAAAAAAAAAAAAAAAAAAAAA', stale, 'carol']);
        await old.query(insertOob, ['issued', 1, 2, N, 'BBBBBBBBBBBBBBBBBBBBBB', recent, null]);
        await old.query(insertOob, ['delivered', 0, 1, N, 'CCCCCCCCCCCCCCCCCCCCCC', recent, 'alice']);
      } finally {
        await old.close();
      }
      const upgraded = await openTestPostgresStores(server!, schema, log);
      const migratedBy = Date.now();
      try {
        expect((await upgraded.db.query<{ name: string }>('SELECT name FROM schema_migrations WHERE version = 12')).rows[0]?.name).toBe('noob-oob-expiry');
        await expectUpgraded(upgraded.noobPeers, migratedBy);
      } finally {
        await upgraded.close();
      }
    } finally {
      await dropSchema(server!, schema);
    }
  });
});

describe('the SQLite NOOB write that leaves the indexed columns out', () => {
  it('leaves out exactly the columns some index of noob_peers covers, its partial WHERE included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-noob-index-'));
    const db = openSqlite(join(dir, 'g.db'));
    try {
      const columns = (db.prepare('SELECT name FROM pragma_table_info(\'noob_peers\')').all() as { name: string }[]).map((r) => r.name);
      const covered = new Set<string>();
      const indexes = db.prepare('SELECT name, sql FROM sqlite_master WHERE type = \'index\' AND tbl_name = \'noob_peers\'').all() as { name: string; sql: string | null }[];
      for (const index of indexes) {
        for (const r of db.prepare('SELECT name FROM pragma_index_info(?)').all(index.name) as { name: string | null }[]) if (r.name) covered.add(r.name);
        const where = index.sql?.split(/\bWHERE\b/i)[1];
        if (where) for (const c of columns) if (new RegExp(`\\b${c}\\b`).test(where)) covered.add(c);
      }
      covered.delete('peer_id');
      expect([...covered].sort()).toEqual([...NOOB_PEER_INDEXED_COLUMNS].sort());
      expect([...NOOB_PEER_NARROW_WRITE_COLUMNS, ...NOOB_PEER_INDEXED_COLUMNS, 'peer_id'].sort()).toEqual([...columns].sort());
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
