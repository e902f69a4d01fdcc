import type { LockoutPolicy, PortalAccount, PortalAccountStore, PortalSession, PortalSessionStore } from '../portal.js';
import type { SqliteDatabase } from './database.js';

interface AccountRow {
  user_name: string;
  password_hash: string;
  admin: number;
  failed_logins: number;
  locked_until: string | null;
  last_login_at: string | null;
  password_changed_at: string;
}

const ACCOUNT_COLUMNS = 'user_name, password_hash, admin, failed_logins, locked_until, last_login_at, password_changed_at';

function toAccount(r: AccountRow): PortalAccount {
  return {
    userName: r.user_name,
    passwordHash: r.password_hash,
    admin: r.admin === 1,
    failedLogins: r.failed_logins,
    ...(r.locked_until !== null ? { lockedUntil: new Date(r.locked_until) } : {}),
    ...(r.last_login_at !== null ? { lastLoginAt: new Date(r.last_login_at) } : {}),
    passwordChangedAt: new Date(r.password_changed_at),
  };
}

export class SqlitePortalAccountStore implements PortalAccountStore {
  private readonly selectOne;
  private readonly selectAll;
  private readonly upsert;
  private readonly updAdmin;
  private readonly failTx;
  private readonly success;

  constructor(db: SqliteDatabase) {
    this.selectOne = db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM portal_accounts WHERE user_name = ?`);
    this.selectAll = db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM portal_accounts ORDER BY user_name`);
    this.upsert = db.prepare(
      `INSERT INTO portal_accounts (user_name, password_hash, admin, failed_logins, locked_until, password_changed_at)
       VALUES (@user, @hash, coalesce(@admin, 0), 0, NULL, @now)
       ON CONFLICT(user_name) DO UPDATE SET password_hash = @hash, admin = coalesce(@admin, admin),
         failed_logins = 0, locked_until = NULL, password_changed_at = @now`,
    );
    this.updAdmin = db.prepare('UPDATE portal_accounts SET admin = ? WHERE user_name = ?');
    const bump = db.prepare('UPDATE portal_accounts SET failed_logins = failed_logins + 1 WHERE user_name = ?');
    const lock = db.prepare('UPDATE portal_accounts SET locked_until = ?, failed_logins = 0 WHERE user_name = ?');
    // Read-modify-write in one IMMEDIATE transaction: two processes (or two requests) counting
    // failures at once must not lose one.
    const tx = db.transaction((user: string, now: Date, policy: LockoutPolicy) => {
      if (bump.run(user).changes === 0) return undefined;
      const row = this.selectOne.get(user) as AccountRow;
      if (row.failed_logins >= policy.maxFailures) {
        const until = new Date(now.getTime() + policy.lockoutMs);
        lock.run(until.toISOString(), user);
        return { failedLogins: row.failed_logins, lockedUntil: until };
      }
      return { failedLogins: row.failed_logins };
    });
    this.failTx = (user: string, now: Date, policy: LockoutPolicy) => tx.immediate(user, now, policy);
    this.success = db.prepare('UPDATE portal_accounts SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE user_name = ?');
  }

  async get(userName: string): Promise<PortalAccount | undefined> {
    const r = this.selectOne.get(userName) as AccountRow | undefined;
    return r ? toAccount(r) : undefined;
  }

  async list(): Promise<PortalAccount[]> {
    return (this.selectAll.all() as AccountRow[]).map(toAccount);
  }

  async setPassword(userName: string, passwordHash: string, opts: { admin?: boolean; now?: Date } = {}): Promise<void> {
    this.upsert.run({ user: userName, hash: passwordHash, admin: opts.admin === undefined ? null : opts.admin ? 1 : 0, now: (opts.now ?? new Date()).toISOString() });
  }

  async setAdmin(userName: string, admin: boolean): Promise<boolean> {
    return this.updAdmin.run(admin ? 1 : 0, userName).changes > 0;
  }

  async recordFailure(userName: string, now: Date, policy: LockoutPolicy): Promise<{ failedLogins: number; lockedUntil?: Date } | undefined> {
    return this.failTx(userName, now, policy);
  }

  async recordSuccess(userName: string, now: Date): Promise<void> {
    this.success.run(now.toISOString(), userName);
  }
}

interface SessionRow {
  user_name: string;
  csrf: string;
  created_at: string;
  expires_at: string;
}

export class SqlitePortalSessionStore implements PortalSessionStore {
  private readonly insert;
  private readonly selectOne;
  private readonly del;
  private readonly delUser;
  private readonly delExpired;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare('INSERT INTO portal_sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)');
    this.selectOne = db.prepare('SELECT user_name, csrf, created_at, expires_at FROM portal_sessions WHERE token_hash = ?');
    this.del = db.prepare('DELETE FROM portal_sessions WHERE token_hash = ?');
    this.delUser = db.prepare('DELETE FROM portal_sessions WHERE user_name = ?');
    this.delExpired = db.prepare('DELETE FROM portal_sessions WHERE expires_at <= ?');
  }

  async create(tokenHash: Uint8Array, s: PortalSession): Promise<void> {
    this.insert.run(Buffer.from(tokenHash), s.userName, s.csrf, s.createdAt.toISOString(), s.expiresAt.toISOString());
  }

  async get(tokenHash: Uint8Array): Promise<PortalSession | undefined> {
    const r = this.selectOne.get(Buffer.from(tokenHash)) as SessionRow | undefined;
    return r ? { userName: r.user_name, csrf: r.csrf, createdAt: new Date(r.created_at), expiresAt: new Date(r.expires_at) } : undefined;
  }

  async delete(tokenHash: Uint8Array): Promise<void> {
    this.del.run(Buffer.from(tokenHash));
  }

  async deleteForUser(userName: string): Promise<number> {
    return this.delUser.run(userName).changes;
  }

  async deleteExpired(now: Date): Promise<number> {
    return this.delExpired.run(now.toISOString()).changes;
  }
}
