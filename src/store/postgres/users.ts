import { STAND_IN_PASSWORD_HASH, UserExistsError, standInColumn, validateUserName, type NewUser, type UserRecord, type UserStore } from '../users.js';
import { UNIQUE_VIOLATION, sqlState, type PostgresDatabase } from './database.js';

interface UserRow {
  name: string;
  nt_hash: Buffer | null;
  password_hash: string | null;
  enabled: boolean;
  created_at: Date;
}

const COLUMNS = 'name, nt_hash, password_hash, enabled, created_at';

/**
 * Always one row, of the same shape, as in the SQLite store (src/store/sqlite/users.ts): a name
 * that has no account costs the parsing of a row too. Measured there, not here, where the round
 * trip to the server dwarfs it.
 */
const SELECT_ONE = `SELECT ${standInColumn('name', "''")}, ${standInColumn('nt_hash', "'\\x00000000000000000000000000000000'::bytea")},
    ${standInColumn('password_hash', '$2::text')}, ${standInColumn('enabled', 'false')}, ${standInColumn('created_at', "'epoch'::timestamptz")},
    u.name IS NOT NULL AS found
  FROM (SELECT 1) AS one LEFT JOIN users u ON u.name = $1`;

function toRecord(r: UserRow): UserRecord {
  return {
    name: r.name,
    ...(r.nt_hash !== null ? { ntHash: new Uint8Array(r.nt_hash) } : {}),
    ...(r.password_hash !== null ? { passwordHash: r.password_hash } : {}),
    enabled: r.enabled,
    created: r.created_at,
  };
}

export class PostgresUserStore implements UserStore {
  constructor(private readonly db: PostgresDatabase) {}

  async get(name: string): Promise<UserRecord | undefined> {
    // An inner method's user name is the peer's choice; no stored name holds U+0000, which PostgreSQL text refuses.
    if (name.includes('\u0000')) return undefined;
    const { rows } = await this.db.query<UserRow & { found: boolean }>(SELECT_ONE, [name, STAND_IN_PASSWORD_HASH]);
    const row = rows[0]!;
    const record = toRecord(row);
    return row.found ? record : undefined;
  }

  async add(user: NewUser): Promise<UserRecord> {
    // validateUserName refuses control characters, U+0000 among them: names need no pgText.
    validateUserName(user.name);
    if (user.ntHash !== undefined && user.ntHash.length !== 16) throw new Error('NT hash must be 16 octets');
    try {
      const { rows } = await this.db.query<UserRow>(
        `INSERT INTO users (name, nt_hash, password_hash, enabled, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [user.name, user.ntHash ? Buffer.from(user.ntHash) : null, user.passwordHash ?? null, user.enabled !== false, new Date()],
      );
      return toRecord(rows[0]!);
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) throw new UserExistsError(user.name);
      throw err;
    }
  }

  async remove(name: string): Promise<boolean> {
    if (name.includes('\u0000')) return false;
    return ((await this.db.query('DELETE FROM users WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  async list(): Promise<UserRecord[]> {
    const { rows } = await this.db.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY name COLLATE "C"`);
    return rows.map(toRecord);
  }

  async setEnabled(name: string, enabled: boolean): Promise<boolean> {
    if (name.includes('\u0000')) return false;
    return ((await this.db.query('UPDATE users SET enabled = $1 WHERE name = $2', [enabled, name])).rowCount ?? 0) > 0;
  }
}
