import { isVlanId, type UserPolicy, type UserPolicyStore } from '../user-policies.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  user_name: string;
  vlan: number | null;
  set_by: string;
  set_at: string;
}

function toPolicy(r: Row): UserPolicy {
  return { userName: r.user_name, ...(r.vlan !== null ? { vlan: r.vlan } : {}), setBy: r.set_by, setAt: new Date(r.set_at) };
}

export class SqliteUserPolicyStore implements UserPolicyStore {
  private readonly selectOne;
  private readonly selectAll;
  private readonly userExists;
  private readonly upsertVlan;

  constructor(db: SqliteDatabase) {
    this.selectOne = db.prepare('SELECT user_name, vlan, set_by, set_at FROM user_policies WHERE user_name = ?');
    this.selectAll = db.prepare('SELECT user_name, vlan, set_by, set_at FROM user_policies ORDER BY user_name');
    this.userExists = db.prepare('SELECT 1 FROM users WHERE name = ?');
    this.upsertVlan = db.prepare(
      `INSERT INTO user_policies (user_name, vlan, set_by, set_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_name) DO UPDATE SET vlan = excluded.vlan, set_by = excluded.set_by, set_at = excluded.set_at`,
    );
  }

  async get(userName: string): Promise<UserPolicy | undefined> {
    const r = this.selectOne.get(userName) as Row | undefined;
    return r ? toPolicy(r) : undefined;
  }

  async list(): Promise<UserPolicy[]> {
    return (this.selectAll.all() as Row[]).map(toPolicy);
  }

  async setVlan(userName: string, vlan: number | undefined, by: string, at: Date): Promise<boolean> {
    if (vlan !== undefined && !isVlanId(vlan)) throw new RangeError(`VLAN id ${vlan} outside 1..4094`);
    if (this.userExists.get(userName) === undefined) return false;
    this.upsertVlan.run(userName, vlan ?? null, by, at.toISOString());
    return true;
  }
}
