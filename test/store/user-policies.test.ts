import { openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteUserPolicyStore } from '../../src/store/sqlite/user-policies.js';
import { SqliteUserStore } from '../../src/store/sqlite/users.js';

describe('UserPolicyStore (SQLite, migration 11)', () => {
  const t0 = new Date('2026-12-05T10:00:00Z');
  const t1 = new Date('2026-12-05T11:00:00Z');

  test('a VLAN is set, changed and cleared for an existing user; unknown users and bad ids are refused', async () => {
    const db = openSqlite(':memory:');
    try {
      await new SqliteUserStore(db).add({ name: 'alice' });
      const s = new SqliteUserPolicyStore(db);
      expect(await s.get('alice')).toBeUndefined();
      expect(await s.setVlan('alice', 20, 'admin', t0)).toBe(true);
      expect(await s.get('alice')).toEqual({ userName: 'alice', vlan: 20, setBy: 'admin', setAt: t0 });
      expect(await s.setVlan('alice', 21, 'root', t1)).toBe(true);
      expect(await s.get('alice')).toEqual({ userName: 'alice', vlan: 21, setBy: 'root', setAt: t1 });
      expect(await s.setVlan('alice', undefined, 'admin', t1)).toBe(true);
      expect(await s.get('alice')).toEqual({ userName: 'alice', setBy: 'admin', setAt: t1 });
      expect(await s.setVlan('nobody', 20, 'admin', t0)).toBe(false);
      await expect(s.setVlan('alice', 0, 'admin', t0)).rejects.toThrow(/1\.\.4094/);
      await expect(s.setVlan('alice', 4095, 'admin', t0)).rejects.toThrow(/1\.\.4094/);
      // The column's own check, for writers that skip the store.
      expect(() => db.prepare('UPDATE user_policies SET vlan = 5000').run()).toThrow(/CHECK/);
      const version = db.prepare('SELECT name FROM schema_migrations WHERE version = 11').get() as { name: string };
      expect(version.name).toBe('user-policies');
    } finally {
      db.close();
    }
  });

  test('removing the user removes their settings', async () => {
    const db = openSqlite(':memory:');
    try {
      const users = new SqliteUserStore(db);
      await users.add({ name: 'bob' });
      const s = new SqliteUserPolicyStore(db);
      await s.setVlan('bob', 30, 'admin', t0);
      expect((await s.list()).map((p) => p.userName)).toEqual(['bob']);
      await users.remove('bob');
      expect(await s.list()).toEqual([]);
    } finally {
      db.close();
    }
  });
});
