import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteUserStore } from '../../src/store/sqlite/users.js';
import { describeStores, type StoreUnderTest } from '../helpers/store-kinds.js';
import { STAND_IN_PASSWORD_HASH, UserExistsError, hashPassword, verifyPassword, validateUserName } from '../../src/store/users.js';
import { ntPasswordHash } from '../../src/eap-methods/mschapv2/ms-chap-v2.js';
import { run as usersCli } from '../../src/cli/commands/users.js';
import { writeMinimalDataDir } from '../helpers/data-dir.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashing (scrypt)', () => {
  test('salted: the same password hashes differently and verifies', async () => {
    const a = await hashPassword('correct horse', FAST);
    const b = await hashPassword('correct horse', FAST);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsf', a)).toBe(false);
    expect(await verifyPassword(new Uint8Array(Buffer.from('correct horse')), b)).toBe(true);
  });
  test('default parameters are the documented ones', async () => {
    const hash = await hashPassword('x');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    // The stand-in row of a lookup that finds no account reads as much as a real one.
    expect(STAND_IN_PASSWORD_HASH).toHaveLength(hash.length);
  });
  test('malformed or absurd stored hashes verify as false instead of throwing', async () => {
    for (const bad of ['', 'md5$x', 'scrypt$3$8$1$AA==$AA==', 'scrypt$1073741824$8$1$AA==$AA==', 'scrypt$1024$8$1$AA==$']) {
      expect(await verifyPassword('x', bad)).toBe(false);
    }
  });
  test('user names', () => {
    expect(() => validateUserName('')).toThrow();
    expect(() => validateUserName('a\nb')).toThrow();
    expect(() => validateUserName('host/machine1.example.com')).not.toThrow();
  });
});

describeStores('UserStore (migration 2)', (kind) => {
  let s: StoreUnderTest;
  beforeEach(async () => {
    s = await kind.open();
  });
  afterEach(() => s.close());

  test('add, get, list, disable, remove', async () => {
    const store = s.stores.users;
    const nt = ntPasswordHash('password');
    const added = await store.add({ name: 'alice', ntHash: nt, passwordHash: await hashPassword('password', FAST) });
    expect(added).toMatchObject({ name: 'alice', enabled: true });
    await store.add({ name: 'bob', passwordHash: 'scrypt$1024$8$1$AA==$AA==' });
    await expect(store.add({ name: 'alice' })).rejects.toBeInstanceOf(UserExistsError);
    const alice = await store.get('alice');
    expect(Buffer.from(alice!.ntHash!).toString('hex')).toBe('8846f7eaee8fb117ad06bdd830b7586c');
    expect(alice).toEqual(added);
    expect((await store.list()).map((u) => u.name)).toEqual(['alice', 'bob']);
    expect((await store.get('bob'))!.ntHash).toBeUndefined();
    await store.add({ name: 'nt-only', ntHash: nt });
    expect(await store.get('nt-only')).not.toHaveProperty('passwordHash');
    expect(await store.remove('nt-only')).toBe(true);
    expect(await store.setEnabled('bob', false)).toBe(true);
    expect((await store.get('bob'))!.enabled).toBe(false);
    expect(await store.remove('bob')).toBe(true);
    expect(await store.remove('bob')).toBe(false);
    expect(await store.get('nobody')).toBeUndefined();
    expect(await store.get('')).toBeUndefined(); // the stand-in row of both stores has this name
    await expect(store.add({ name: 'x', ntHash: new Uint8Array(3) })).rejects.toThrow(/16 octets/);
    expect((await s.migrations()).find((m) => m.version === 2)?.name).toBe('users');
  });

  test('names sort by code point, whatever the database\'s collation', async () => {
    for (const name of ['b', 'B', 'a', 'Z', 'ä', '_x']) await s.stores.users.add({ name });
    expect((await s.stores.users.list()).map((u) => u.name)).toEqual(['B', 'Z', '_x', 'a', 'b', 'ä']);
  });

  test('a name the peer chose with U+0000 in it finds nobody and is not an error', async () => {
    await s.stores.users.add({ name: 'alice' });
    expect(await s.stores.users.get('alice\u0000')).toBeUndefined();
    expect(await s.stores.users.setEnabled('alice\u0000', false)).toBe(false);
    expect(await s.stores.users.remove('alice\u0000')).toBe(false);
  });
});

describe('gangway users CLI', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  const io = () => ({ stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), stdin: async () => 'from-stdin\nignored\n' });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-users-cli-'));
    writeMinimalDataDir(dir);
    out = [];
    err = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('add (password argument and stdin), list, remove', async () => {
    expect(await usersCli(['add', 'alice', '--data', dir, '--password', 'password'], io())).toBe(0);
    expect(await usersCli(['add', 'bob', '--data', dir, '--credentials', 'scrypt'], io())).toBe(0);
    expect(await usersCli(['add', 'alice', '--data', dir, '--password', 'x'], io())).toBe(1);
    expect(err.join('')).toMatch(/already exists/);
    out = [];
    expect(await usersCli(['list', '--data', dir, '--json'], io())).toBe(0);
    const rows = JSON.parse(out.join('')) as { name: string; credentials: string[] }[];
    expect(rows.map((r) => [r.name, r.credentials])).toEqual([['alice', ['nt', 'scrypt']], ['bob', ['scrypt']]]);
    const db = openSqlite(join(dir, 'gangway.db'));
    try {
      const bob = await new SqliteUserStore(db).get('bob');
      expect(await verifyPassword('from-stdin', bob!.passwordHash!)).toBe(true);
    } finally {
      db.close();
    }
    expect(await usersCli(['remove', 'bob', '--data', dir], io())).toBe(0);
    expect(await usersCli(['remove', 'bob', '--data', dir], io())).toBe(1);
  });

  test('usage errors', async () => {
    expect(await usersCli([], io())).toBe(2);
    expect(await usersCli(['add'], io())).toBe(2);
    expect(await usersCli(['add', 'x', '--data', dir, '--password', 'p', '--credentials', 'md5'], io())).toBe(2);
    expect(await usersCli(['frobnicate', 'x', '--data', dir], io())).toBe(2);
    expect(await usersCli(['list', '--bogus'], io())).toBe(2);
    expect(err.join('')).toContain('unknown option --bogus');
    expect(await usersCli(['list', 'extra', '--data', dir], io())).toBe(2);
  });

  test('a directory without gangway.yaml is refused and nothing is created there', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'gangway-users-empty-'));
    try {
      expect(await usersCli(['add', 'alice', '--data', empty, '--password', 'password'], io())).toBe(78);
      expect(await usersCli(['list', '--data', empty], io())).toBe(78);
      expect(err.join('')).toContain(`no Gangway data directory at ${empty}`);
      expect(err.join('')).toContain(`gangway init ${empty}`);
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
