/**
 * The busy timeouts of src/store/sqlite/database.ts: a server's connection gives up on another
 * connection's write lock within SERVING_BUSY_TIMEOUT_MS, so its event loop is not held for
 * seconds (the write fails and its caller's documented fallback applies); a command's connection
 * waits the lock out, so `gangway users add` and the rest still work beside a running server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStores } from '../../../src/store/open-stores.js';
import { COMMAND_BUSY_TIMEOUT_MS, openSqlite, SERVING_BUSY_TIMEOUT_MS, type SqliteDatabase } from '../../../src/store/sqlite/database.js';
import type { Stores } from '../../../src/store/stores.js';
import { MemoryLog } from '../../helpers/silent-log.js';

/** Another process holding `BEGIN EXCLUSIVE` on `path` for `ms`; resolves once it holds it. */
async function holdLockElsewhere(path: string, ms: number): Promise<ChildProcess> {
  const script = `
    const Database = require(process.argv[1]);
    const db = new Database(process.argv[2]);
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, Number(process.argv[3]));`;
  const child = spawn(process.execPath, ['-e', script, require.resolve('better-sqlite3'), path, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(); });
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return child;
}

describe('SQLite busy timeouts: a server fails fast on another connection\'s lock, a command waits', () => {
  let dir: string;
  let path: string;
  let stores: Stores | undefined;
  let other: SqliteDatabase | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-busy-'));
    path = join(dir, 'gangway.db');
  });
  afterEach(async () => {
    if (other?.inTransaction) other.exec('ROLLBACK');
    other?.close();
    other = undefined;
    await stores?.close();
    stores = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  test('the numbers: a server waits a fraction of a second, a command seconds', () => {
    expect(SERVING_BUSY_TIMEOUT_MS).toBeLessThanOrEqual(500);
    expect(COMMAND_BUSY_TIMEOUT_MS).toBeGreaterThanOrEqual(5000);
  });

  // FAILS before the fix: the server's connection waited 5 s for the lock, its event loop with it.
  test('a server\'s audit and accounting writes fail within the serving busy timeout under BEGIN EXCLUSIVE, then succeed once it is released', async () => {
    stores = await openStores({ kind: 'sqlite', path }, new MemoryLog());
    other = openSqlite(path);
    expect((stores as { db?: SqliteDatabase }).db?.pragma('busy_timeout', { simple: true })).toBe(SERVING_BUSY_TIMEOUT_MS);
    other.exec('BEGIN EXCLUSIVE');

    let started = performance.now();
    expect(() => stores!.audit.append({ at: new Date(), event: 'test.locked' })).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    expect(performance.now() - started).toBeLessThan(2000);

    // The accounting recorder rejects, the Accounting-Request goes unanswered, the NAS sends it again.
    started = performance.now();
    const start = { event: 'start' as const, at: new Date(), nas: 'ap-1', sessionId: 'S1', clientName: 'ap' };
    await expect(stores.accounting.apply(start)).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(performance.now() - started).toBeLessThan(2000);

    other.exec('ROLLBACK');
    stores.audit.append({ at: new Date(), event: 'test.unlocked' });
    expect(await stores.accounting.apply(start)).toBe('started');
    expect((await stores.audit.recent(10)).map((e) => e.event)).toEqual(['test.unlocked']);
  });

  test('a write shorter than the serving busy timeout by another process is waited for, not failed at once (found in review: accounting read, then wrote, in a deferred transaction, which SQLite never lets wait)', async () => {
    stores = await openStores({ kind: 'sqlite', path }, new MemoryLog());
    const start = { event: 'start' as const, at: new Date(), nas: 'ap-1', sessionId: 'S2', clientName: 'ap' };
    for (let i = 0; i < 3; i++) {
      const holder = await holdLockElsewhere(path, 60);
      const exited = new Promise((r) => holder.once('exit', r));
      expect(await stores.accounting.apply({ ...start, sessionId: `S2-${i}` })).toBe('started');
      await exited;
    }
  });

  test('a command\'s store waits out another process\'s lock of a second, as `gangway users add` beside a server must', async () => {
    stores = await openStores({ kind: 'sqlite', path }, new MemoryLog(), 'command');
    const holder = await holdLockElsewhere(path, 1000);
    const exited = new Promise((r) => holder.once('exit', r));
    const started = performance.now();
    await stores.users.add({ name: 'alice' });
    expect(performance.now() - started).toBeGreaterThan(500);
    expect(await stores.users.get('alice')).toMatchObject({ name: 'alice' });
    await exited;
  });
});
