/**
 * The SQLite access-session store writes Accepts in batches (src/store/sqlite/access-sessions.ts):
 * another connection sees a record once its batch is written, reads and deletes in this process
 * see the waiting ones, a late batch never replaces a later Accept, closing writes what waits,
 * and a failed batch waits for the next one and is reported by the next record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { ACCESS_SESSION_BATCH, ACCESS_SESSION_FLUSH_MS, SqliteAccessSessionStore } from '../../src/store/sqlite/access-sessions.js';
import { sqliteStores } from '../../src/store/sqlite/stores.js';

const accept = (identity: string, at = 1000) => ({ identity, clientName: 'nas', clientAddress: '127.0.0.1', callingStationId: 'aa', acceptedAt: new Date(at) });

describe('SQLite access sessions in batches', () => {
  let dir: string;
  let path: string;
  let db: SqliteDatabase;
  let other: SqliteDatabase;
  const storedBy = (conn: SqliteDatabase): string[] =>
    (conn.prepare('SELECT identity FROM access_sessions ORDER BY identity').all() as { identity: string }[]).map((r) => r.identity);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-access-batch-'));
    path = join(dir, 'g.db');
    db = openSqlite(path);
    other = openSqlite(path);
  });
  afterEach(() => {
    if (db.open) db.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a record reaches the file within the flush interval, and this process reads and removes it at once', async () => {
    const store = new SqliteAccessSessionStore(db);
    await store.record(accept('P1', 1000));
    await store.record(accept('P1', 2000));
    expect(storedBy(other)).toEqual([]);
    await new Promise((r) => setTimeout(r, ACCESS_SESSION_FLUSH_MS + 50));
    expect(storedBy(other)).toEqual(['P1']);
    await store.record(accept('P2'));
    // Read and removed while still waiting for its batch.
    expect(await store.get('P2')).toMatchObject({ identity: 'P2' });
    expect(await store.get('P1')).toMatchObject({ acceptedAt: new Date(2000) });
    expect(await store.remove('P2')).toBe(true);
    expect(await store.get('P2')).toBeUndefined();
    store.flush();
    expect(storedBy(other)).toEqual(['P1']);
  });

  test('a late batch never replaces a later Accept, and a read answers the later of the two', async () => {
    const store = new SqliteAccessSessionStore(db);
    const second = new SqliteAccessSessionStore(other);
    await store.record(accept('P1', 1000));
    await second.record(accept('P1', 5000));
    second.flush();
    expect(await store.get('P1')).toMatchObject({ acceptedAt: new Date(5000) });
    store.flush();
    expect(await second.get('P1')).toMatchObject({ acceptedAt: new Date(5000) });
  });

  test('a full batch is written at once', async () => {
    const store = new SqliteAccessSessionStore(db);
    for (let i = 0; i < ACCESS_SESSION_BATCH - 1; i++) await store.record(accept(`D${String(i).padStart(3, '0')}`));
    expect(storedBy(other)).toHaveLength(0);
    await store.record(accept('D999'));
    expect(storedBy(other)).toHaveLength(ACCESS_SESSION_BATCH);
  });

  test('closing the stores writes what waits; a record after that is refused', async () => {
    const stores = sqliteStores(db);
    await stores.accessSessions.record(accept('P1'));
    await stores.close();
    expect(storedBy(other)).toEqual(['P1']);
    await expect(stores.accessSessions.record(accept('P2'))).rejects.toThrow(/closed/);
  });

  test('a batch that cannot be written waits for the next one, and the next record reports the failure', async () => {
    const store = new SqliteAccessSessionStore(db);
    await store.record(accept('P1'));
    // Another connection holds the write lock past the busy timeout.
    db.pragma('busy_timeout = 0');
    other.prepare('BEGIN IMMEDIATE').run();
    await new Promise((r) => setTimeout(r, ACCESS_SESSION_FLUSH_MS + 50));
    await expect(store.record(accept('P2'))).rejects.toThrow(/cannot write 1 accepted sessions \(they wait for the next batch\): database is locked/);
    // Still readable here while it waits; told once.
    expect(await store.get('P1')).toMatchObject({ identity: 'P1' });
    other.prepare('COMMIT').run();
    await store.record(accept('P3'));
    store.flush();
    expect(storedBy(other)).toEqual(['P1', 'P2', 'P3']);
  });
});
