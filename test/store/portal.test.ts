import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { SqlitePortalAccountStore, SqlitePortalSessionStore } from '../../src/store/sqlite/portal.js';
import { SqliteAccessSessionStore } from '../../src/store/sqlite/access-sessions.js';
import { SqliteUserStore } from '../../src/store/sqlite/users.js';

describe('SQLite portal accounts, sessions and access sessions', () => {
  let dir: string;
  let db: SqliteDatabase;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-portal-store-'));
    db = openSqlite(join(dir, 'g.db'));
    await new SqliteUserStore(db).add({ name: 'alice' });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a portal login needs an existing user and is separate from the network password column', async () => {
    const accounts = new SqlitePortalAccountStore(db);
    // better-sqlite3's error may come from another realm under jest: compare its code, not its class.
    const refused: unknown = await accounts.setPassword('nobody', 'scrypt$x').then(() => undefined, (e: unknown) => e);
    expect((refused as { code?: string } | undefined)?.code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
    await accounts.setPassword('alice', 'scrypt$portal', { admin: true });
    expect(await accounts.get('alice')).toMatchObject({ userName: 'alice', passwordHash: 'scrypt$portal', admin: true, failedLogins: 0 });
    expect((await new SqliteUserStore(db).get('alice'))!.passwordHash).toBeUndefined();
    // Re-setting the password keeps the admin flag unless told otherwise.
    await accounts.setPassword('alice', 'scrypt$new');
    expect((await accounts.get('alice'))!.admin).toBe(true);
  });

  it('counts failures and locks at the limit; success or a reset clears them', async () => {
    const accounts = new SqlitePortalAccountStore(db);
    await accounts.setPassword('alice', 'h');
    const now = new Date('2026-01-01T00:00:00Z');
    const policy = { maxFailures: 3, lockoutMs: 60_000 };
    expect(await accounts.recordFailure('alice', now, policy)).toEqual({ failedLogins: 1 });
    expect(await accounts.recordFailure('alice', now, policy)).toEqual({ failedLogins: 2 });
    expect(await accounts.recordFailure('alice', now, policy)).toEqual({ failedLogins: 3, lockedUntil: new Date(now.getTime() + 60_000) });
    expect((await accounts.get('alice'))!.lockedUntil).toEqual(new Date(now.getTime() + 60_000));
    expect(await accounts.recordFailure('nobody', now, policy)).toBeUndefined();
    await accounts.setPassword('alice', 'h2');
    expect(await accounts.get('alice')).toMatchObject({ failedLogins: 0 });
    expect((await accounts.get('alice'))!.lockedUntil).toBeUndefined();
  });

  it('sessions are found by token hash, expire, and end with their user', async () => {
    const sessions = new SqlitePortalSessionStore(db);
    const h = new Uint8Array(32).fill(7);
    const t0 = new Date('2026-01-01T00:00:00Z');
    await sessions.create(h, { userName: 'alice', csrf: 'c', createdAt: t0, expiresAt: new Date(t0.getTime() + 1000) });
    expect(await sessions.get(h)).toEqual({ userName: 'alice', csrf: 'c', createdAt: t0, expiresAt: new Date(t0.getTime() + 1000) });
    expect(await sessions.deleteExpired(t0)).toBe(0);
    expect(await sessions.deleteExpired(new Date(t0.getTime() + 1000))).toBe(1);
    await sessions.create(h, { userName: 'alice', csrf: 'c', createdAt: t0, expiresAt: new Date(t0.getTime() + 1000) });
    await new SqliteUserStore(db).remove('alice');
    expect(await sessions.get(h)).toBeUndefined();
  });

  it('access sessions keep the last accept per identity', () => {
    const s = new SqliteAccessSessionStore(db);
    s.record({ identity: 'P1', clientName: 'nas', clientAddress: '127.0.0.1', callingStationId: 'aa', acceptedAt: new Date(1000) });
    s.record({ identity: 'P1', clientName: 'nas2', clientAddress: '127.0.0.2', requestUserName: 'noob@x', acceptedAt: new Date(2000) });
    expect(s.get('P1')).toEqual({ identity: 'P1', clientName: 'nas2', clientAddress: '127.0.0.2', requestUserName: 'noob@x', acceptedAt: new Date(2000) });
    expect(s.remove('P1')).toBe(true);
    expect(s.get('P1')).toBeUndefined();
  });
});
