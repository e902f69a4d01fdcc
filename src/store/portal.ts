/**
 * The portal's accounts and sessions. A portal login belongs to a user of the users aggregate but
 * is a separate secret from that user's network credentials (NT hash, Basic-Password hash): a
 * person who leaks one does not hand over the other.
 *
 * Asynchronous like the other aggregates, so that a PostgreSQL implementation can follow.
 */

export interface PortalAccount {
  userName: string;
  /** scrypt string of store/users.ts hashPassword. */
  passwordHash: string;
  admin: boolean;
  /** Consecutive failed logins since the last success or password reset. */
  failedLogins: number;
  lockedUntil?: Date;
  lastLoginAt?: Date;
  passwordChangedAt: Date;
}

export interface LockoutPolicy {
  /** Consecutive failures that lock the account. */
  maxFailures: number;
  lockoutMs: number;
}

export interface PortalAccountStore {
  get(userName: string): Promise<PortalAccount | undefined>;
  list(): Promise<PortalAccount[]>;
  /**
   * Creates or replaces the portal login of an existing user; clears failures and any lockout.
   * `admin` undefined keeps the current flag (false for a new login).
   */
  setPassword(userName: string, passwordHash: string, opts?: { admin?: boolean; now?: Date }): Promise<void>;
  setAdmin(userName: string, admin: boolean): Promise<boolean>;
  /** Counts one failure atomically; locks the account when the count reaches the policy's limit. */
  recordFailure(userName: string, now: Date, policy: LockoutPolicy): Promise<{ failedLogins: number; lockedUntil?: Date } | undefined>;
  recordSuccess(userName: string, now: Date): Promise<void>;
}

export interface PortalSession {
  userName: string;
  /** Token every state-changing form must echo (synchronizer-token CSRF defence). */
  csrf: string;
  createdAt: Date;
  expiresAt: Date;
}

/** Sessions are looked up by the SHA-256 of their cookie value: the table alone opens no session. */
export interface PortalSessionStore {
  create(tokenHash: Uint8Array, session: PortalSession): Promise<void>;
  get(tokenHash: Uint8Array): Promise<PortalSession | undefined>;
  delete(tokenHash: Uint8Array): Promise<void>;
  /** Ends every session of a user (disabled account, password reset). */
  deleteForUser(userName: string): Promise<number>;
  deleteExpired(now: Date): Promise<number>;
}
