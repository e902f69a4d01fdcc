import { isVlanId, type UserPolicy, type UserPolicyStore } from '../user-policies.js';
import { FOREIGN_KEY_VIOLATION, sqlState, type PostgresDatabase } from './database.js';

interface Row {
  user_name: string;
  vlan: number | null;
  set_by: string;
  set_at: Date;
}

function toPolicy(r: Row): UserPolicy {
  return { userName: r.user_name, ...(r.vlan !== null ? { vlan: r.vlan } : {}), setBy: r.set_by, setAt: r.set_at };
}

export class PostgresUserPolicyStore implements UserPolicyStore {
  constructor(private readonly db: PostgresDatabase) {}

  async get(userName: string): Promise<UserPolicy | undefined> {
    if (userName.includes('\u0000')) return undefined;
    const { rows } = await this.db.query<Row>('SELECT user_name, vlan, set_by, set_at FROM user_policies WHERE user_name = $1', [userName]);
    return rows[0] ? toPolicy(rows[0]) : undefined;
  }

  async list(): Promise<UserPolicy[]> {
    const { rows } = await this.db.query<Row>('SELECT user_name, vlan, set_by, set_at FROM user_policies ORDER BY user_name COLLATE "C"');
    return rows.map(toPolicy);
  }

  async setVlan(userName: string, vlan: number | undefined, by: string, at: Date): Promise<boolean> {
    if (vlan !== undefined && !isVlanId(vlan)) throw new RangeError(`VLAN id ${vlan} outside 1..4094`);
    if (userName.includes('\u0000')) return false;
    try {
      // One statement: the user's existence and the write are one decision, whichever server removes the user meanwhile.
      const r = await this.db.query(
        `INSERT INTO user_policies (user_name, vlan, set_by, set_at) SELECT $1::text, $2::integer, $3::text, $4::timestamptz WHERE EXISTS (SELECT 1 FROM users WHERE name = $1)
         ON CONFLICT (user_name) DO UPDATE SET vlan = excluded.vlan, set_by = excluded.set_by, set_at = excluded.set_at`,
        [userName, vlan ?? null, by, at],
      );
      return (r.rowCount ?? 0) > 0;
    } catch (err) {
      if (sqlState(err) === FOREIGN_KEY_VIOLATION) return false;
      throw err;
    }
  }
}
