import type { LockoutPolicy, PortalAccount, PortalAccountStore, PortalSession, PortalSessionStore } from '../portal.js';
import type { PostgresDatabase } from './database.js';

interface AccountRow {
  user_name: string;
  password_hash: string;
  admin: boolean;
  failed_logins: number;
  locked_until: Date | null;
  last_login_at: Date | null;
  password_changed_at: Date;
}

const ACCOUNT_COLUMNS = 'user_name, password_hash, admin, failed_logins, locked_until, last_login_at, password_changed_at';

function toAccount(r: AccountRow): PortalAccount {
  return {
    userName: r.user_name,
    passwordHash: r.password_hash,
    admin: r.admin,
    failedLogins: r.failed_logins,
    ...(r.locked_until !== null ? { lockedUntil: r.locked_until } : {}),
    ...(r.last_login_at !== null ? { lastLoginAt: r.last_login_at } : {}),
    passwordChangedAt: r.password_changed_at,
  };
}

/**
 * Portal logins. User names reach these queries from a login form; they are compared with stored
 * names, which never contain U+0000 (validateUserName), so a form value holding one is passed on
 * only to match nothing.
 */
export class PostgresPortalAccountStore implements PortalAccountStore {
  constructor(private readonly db: PostgresDatabase) {}

  async get(userName: string): Promise<PortalAccount | undefined> {
    if (userName.includes('\u0000')) return undefined;
    const { rows } = await this.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM portal_accounts WHERE user_name = $1`, [userName]);
    return rows[0] ? toAccount(rows[0]) : undefined;
  }

  async list(): Promise<PortalAccount[]> {
    const { rows } = await this.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM portal_accounts ORDER BY user_name COLLATE "C"`);
    return rows.map(toAccount);
  }

  async setPassword(userName: string, passwordHash: string, opts: { admin?: boolean; now?: Date } = {}): Promise<void> {
    await this.db.query(
      `INSERT INTO portal_accounts (user_name, password_hash, admin, failed_logins, locked_until, password_changed_at)
       VALUES ($1, $2, coalesce($3, FALSE), 0, NULL, $4)
       ON CONFLICT (user_name) DO UPDATE SET password_hash = excluded.password_hash, admin = coalesce($3, portal_accounts.admin),
         failed_logins = 0, locked_until = NULL, password_changed_at = excluded.password_changed_at`,
      [userName, passwordHash, opts.admin ?? null, opts.now ?? new Date()],
    );
  }

  async setAdmin(userName: string, admin: boolean): Promise<boolean> {
    return ((await this.db.query('UPDATE portal_accounts SET admin = $1 WHERE user_name = $2', [admin, userName])).rowCount ?? 0) > 0;
  }

  async recordFailure(userName: string, now: Date, policy: LockoutPolicy): Promise<{ failedLogins: number; lockedUntil?: Date } | undefined> {
    if (userName.includes('\u0000')) return undefined;
    // The increment takes the row lock until commit: failures counted on two servers at once both count.
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ failed_logins: number }>('UPDATE portal_accounts SET failed_logins = failed_logins + 1 WHERE user_name = $1 RETURNING failed_logins', [userName]);
      const row = rows[0];
      if (!row) return undefined;
      if (row.failed_logins >= policy.maxFailures) {
        const until = new Date(now.getTime() + policy.lockoutMs);
        await tx.query('UPDATE portal_accounts SET locked_until = $1, failed_logins = 0 WHERE user_name = $2', [until, userName]);
        return { failedLogins: row.failed_logins, lockedUntil: until };
      }
      return { failedLogins: row.failed_logins };
    });
  }

  async recordSuccess(userName: string, now: Date): Promise<void> {
    await this.db.query('UPDATE portal_accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE user_name = $2', [now, userName]);
  }
}

interface SessionRow {
  user_name: string;
  csrf: string;
  created_at: Date;
  expires_at: Date;
}

export class PostgresPortalSessionStore implements PortalSessionStore {
  constructor(private readonly db: PostgresDatabase) {}

  async create(tokenHash: Uint8Array, s: PortalSession): Promise<void> {
    await this.db.query('INSERT INTO portal_sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
      Buffer.from(tokenHash),
      s.userName,
      s.csrf,
      s.createdAt,
      s.expiresAt,
    ]);
  }

  async get(tokenHash: Uint8Array): Promise<PortalSession | undefined> {
    const { rows } = await this.db.query<SessionRow>('SELECT user_name, csrf, created_at, expires_at FROM portal_sessions WHERE token_hash = $1', [Buffer.from(tokenHash)]);
    const r = rows[0];
    return r ? { userName: r.user_name, csrf: r.csrf, createdAt: r.created_at, expiresAt: r.expires_at } : undefined;
  }

  async delete(tokenHash: Uint8Array): Promise<void> {
    await this.db.query('DELETE FROM portal_sessions WHERE token_hash = $1', [Buffer.from(tokenHash)]);
  }

  async deleteForUser(userName: string): Promise<number> {
    return (await this.db.query('DELETE FROM portal_sessions WHERE user_name = $1', [userName])).rowCount ?? 0;
  }

  async deleteExpired(now: Date): Promise<number> {
    return (await this.db.query('DELETE FROM portal_sessions WHERE expires_at <= $1', [now])).rowCount ?? 0;
  }
}
