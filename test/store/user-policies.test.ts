import { describeStores, type StoreUnderTest } from '../helpers/store-kinds.js';

describeStores('UserPolicyStore (migration 11)', (kind) => {
  const t0 = new Date('2026-12-05T10:00:00Z');
  const t1 = new Date('2026-12-05T11:00:00Z');
  let s: StoreUnderTest;
  beforeEach(async () => {
    s = await kind.open();
  });
  afterEach(() => s.close());

  test('a VLAN is set, changed and cleared for an existing user; unknown users and bad ids are refused', async () => {
    await s.stores.users.add({ name: 'alice' });
    const p = s.stores.userPolicies;
    expect(await p.get('alice')).toBeUndefined();
    expect(await p.setVlan('alice', 20, 'admin', t0)).toBe(true);
    expect(await p.get('alice')).toEqual({ userName: 'alice', vlan: 20, setBy: 'admin', setAt: t0 });
    expect(await p.setVlan('alice', 21, 'root', t1)).toBe(true);
    expect(await p.get('alice')).toEqual({ userName: 'alice', vlan: 21, setBy: 'root', setAt: t1 });
    expect(await p.setVlan('alice', undefined, 'admin', t1)).toBe(true);
    expect(await p.get('alice')).toEqual({ userName: 'alice', setBy: 'admin', setAt: t1 });
    expect(await p.setVlan('nobody', 20, 'admin', t0)).toBe(false);
    await expect(p.setVlan('alice', 0, 'admin', t0)).rejects.toThrow(/1\.\.4094/);
    await expect(p.setVlan('alice', 4095, 'admin', t0)).rejects.toThrow(/1\.\.4094/);
    // The column's own check, for writers that skip the store.
    expect(await s.violation('UPDATE user_policies SET vlan = 5000')).toBe('check');
    expect((await s.migrations()).find((m) => m.version === 11)?.name).toBe('user-policies');
  });

  test('removing the user removes their settings', async () => {
    await s.stores.users.add({ name: 'bob' });
    const p = s.stores.userPolicies;
    await p.setVlan('bob', 30, 'admin', t0);
    expect((await p.list()).map((x) => x.userName)).toEqual(['bob']);
    await s.stores.users.remove('bob');
    expect(await p.list()).toEqual([]);
  });
});
