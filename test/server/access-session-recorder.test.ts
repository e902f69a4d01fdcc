/**
 * The Access-Accept path (src/server.ts: recordAcceptedSession after the EAP side's reply) never
 * waits for the access-session record: with the table locked by another client, 150 Accepts are
 * recorded at once; on PostgreSQL the stuck writes hold one pool connection, not the pool; the
 * records arrive once the lock is released. The same on SQLite, whose lock is another connection's
 * BEGIN EXCLUSIVE.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { recordAcceptedSession } from '../../src/server/access-session-recorder.js';
import type { AccessReply } from '../../src/radius/access-reply.js';
import { stringAttribute } from '../../src/radius/attributes.js';
import { AttributeType } from '../../src/radius/dictionary.js';
import { RadiusCode } from '../../src/radius/packet.js';
import type { AccessRequestContext } from '../../src/radius/server.js';
import { openStores } from '../../src/store/open-stores.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import type { PostgresStores } from '../../src/store/postgres/stores.js';
import type { Stores } from '../../src/store/stores.js';
import { dropSchema, freshName, requirePostgres, type TestPostgres } from '../helpers/postgres.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { openTestPostgresStores } from '../helpers/store-kinds.js';

const ACCEPTS = 150;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const request = (i: number): AccessRequestContext => ({
  packet: {
    code: RadiusCode.AccessRequest,
    identifier: i & 0xff,
    authenticator: new Uint8Array(16),
    attributes: [stringAttribute(AttributeType.UserName, `anonymous-${i}`), stringAttribute(AttributeType.CallingStationId, `02-00-5e-00-${i}`)],
  },
  bytes: new Uint8Array(0),
  client: { name: 'ap', address: '127.0.0.1', port: 1812 },
  messageAuthenticator: true,
  userPassword: () => undefined,
});
const acceptOf = (i: number): AccessReply => ({ code: RadiusCode.AccessAccept, attributes: [stringAttribute(AttributeType.UserName, `device-${String(i).padStart(3, '0')}`)] });

/**
 * Records ACCEPTS Accepts as the RADIUS handler does; whether they all returned within 5 s (the
 * table stays locked longer than that) and how long they took.
 */
async function acceptAll(stores: Stores, log: MemoryLog): Promise<{ returned: boolean; ms: number }> {
  const started = performance.now();
  let returned = false;
  const all = Promise.all(Array.from({ length: ACCEPTS }, (_, i) => recordAcceptedSession(stores.accessSessions, request(i), acceptOf(i), log))).then(() => {
    returned = true;
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => { timer = setTimeout(r, 5000); })]);
  clearTimeout(timer);
  return { returned, ms: performance.now() - started };
}

const server = requirePostgres();

(server ? describe : describe.skip)('the Access-Accept path and a locked access_sessions table (PostgreSQL)', () => {
  let schema: string;
  let stores: PostgresStores;
  let locker: pg.Client;
  const log = new MemoryLog();

  const client = (s: TestPostgres): pg.Client => new pg.Client({ connectionString: s.url, ...(s.password !== undefined ? { password: s.password } : {}) });
  const stored = async (): Promise<number> => Number((await stores.db.query<{ n: string }>('SELECT count(*) AS n FROM access_sessions')).rows[0]!.n);

  beforeEach(async () => {
    schema = freshName();
    stores = await openTestPostgresStores(server!, schema, log, 4);
    locker = client(server!);
    await locker.connect();
  });
  afterEach(async () => {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
    await stores.close();
    await dropSchema(server!, schema);
  });

  // FAILS before the fix: each Accept awaited its own INSERT, which waited for the lock up to the
  // 15 s statement timeout, and the waiting INSERTs held every connection of the pool.
  test('Accepts return while the record\'s write waits for the lock; the waiting writes hold one pool connection; the records arrive once the lock goes', async () => {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${pg.escapeIdentifier(schema)}.access_sessions IN ACCESS EXCLUSIVE MODE`);

    const { returned } = await acceptAll(stores, log);
    expect(returned).toBe(true);

    // Over a second and a half: one statement of ours waits for the lock, on one connection.
    let mostInUse = 0;
    let mostWaiting = 0;
    let mostQueued = 0;
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      const pool = stores.db.pool;
      mostInUse = Math.max(mostInUse, pool.totalCount - pool.idleCount);
      mostQueued = Math.max(mostQueued, pool.waitingCount);
      const { rows } = await locker.query<{ n: string }>('SELECT count(*) AS n FROM pg_locks WHERE relation = $1::regclass AND NOT granted', [`${schema}.access_sessions`]);
      mostWaiting = Math.max(mostWaiting, Number(rows[0]!.n));
    }
    expect(mostWaiting).toBe(1);
    expect(mostInUse).toBe(1);
    expect(mostQueued).toBe(0);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);

    await locker.query('COMMIT');
    for (let i = 0; i < 100 && (await stored()) < ACCEPTS; i++) await sleep(50);
    expect(await stored()).toBe(ACCEPTS);
    expect(await stores.accessSessions.get('device-149')).toMatchObject({ clientName: 'ap', callingStationId: '02-00-5e-00-149' });
  });

  test('closing the stores writes the records still waiting', async () => {
    await acceptAll(stores, log);
    await stores.close();
    stores = await openTestPostgresStores(server!, schema, log, 4);
    expect(await stored()).toBe(ACCEPTS);
  });
});

describe('the Access-Accept path and a locked database (SQLite)', () => {
  let dir: string;
  let stores: Stores;
  let other: SqliteDatabase;
  const log = new MemoryLog();
  const stored = (): number => (other.prepare('SELECT count(*) AS n FROM access_sessions').get() as { n: number }).n;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-recorder-'));
    const path = join(dir, 'gangway.db');
    stores = await openStores({ kind: 'sqlite', path }, log);
    other = openSqlite(path);
  });
  afterEach(async () => {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // FAILS before the fix: a full batch was written inside record(), waiting 5 s for the lock each time.
  test('Accepts return at once while another connection holds the write lock, read here meanwhile; the records arrive once it goes', async () => {
    other.exec('BEGIN EXCLUSIVE');
    const { returned, ms } = await acceptAll(stores, log);
    expect(returned).toBe(true);
    expect(ms).toBeLessThan(3000);
    expect(await stores.accessSessions.get('device-000')).toMatchObject({ clientName: 'ap' });
    await sleep(500);
    expect(stored()).toBe(0);
    other.exec('ROLLBACK');
    for (let i = 0; i < 200 && stored() < ACCEPTS; i++) await sleep(50);
    expect(stored()).toBe(ACCEPTS);
  });
});
