/**
 * Portal logins: password check against the portal's own hash, lockout after consecutive
 * failures, sessions stored by the hash of their cookie, and an audit entry for every outcome.
 */
import { createHash } from 'node:crypto';
import { hashPassword, verifyPassword, type UserStore } from '../store/users.js';
import type { AuditStore } from '../store/audit.js';
import type { PortalAccount, PortalAccountStore, PortalSession, PortalSessionStore } from '../store/portal.js';
import { newToken, tokenHash } from './security.js';

export interface AuthPolicy {
  /** Consecutive wrong passwords that lock an account. */
  maxFailedLogins: number;
  lockoutMs: number;
  sessionMs: number;
}

export interface AuthDeps {
  users: UserStore;
  accounts: PortalAccountStore;
  sessions: PortalSessionStore;
  audit: AuditStore;
  policy: AuthPolicy;
  clock?: () => Date;
  /** Unknown names whose failures are counted (see UnknownNameLockouts); 10,000 by default. */
  maxUnknownNames?: number;
}

export type LoginResult =
  | { ok: true; token: string; session: PortalSession }
  | { ok: false; reason: 'bad-credentials' | 'locked' | 'disabled'; lockedUntil?: Date };

export interface SignedIn {
  userName: string;
  admin: boolean;
  csrf: string;
  tokenHash: Uint8Array;
}

/**
 * Failures counted for names that have no portal account, as the store counts them for accounts
 * (migration 6): the lockout must not tell which names exist. Only in memory, bounded: past
 * `maxNames` the name heard of least recently is forgotten, and starts again from no failures.
 */
class UnknownNameLockouts {
  private readonly names = new Map<string, { failedLogins: number; lockedUntil?: Date }>();

  constructor(private readonly maxNames: number) {}

  lockedUntil(name: string, now: Date): Date | undefined {
    const until = this.names.get(name)?.lockedUntil;
    return until && until > now ? until : undefined;
  }

  recordFailure(name: string, now: Date, policy: AuthPolicy): { failedLogins: number; lockedUntil?: Date } {
    let n = this.names.get(name);
    if (!n && this.names.size >= this.maxNames) this.names.delete(this.names.keys().next().value!);
    n ??= { failedLogins: 0 };
    this.names.delete(name);
    this.names.set(name, n);
    n.failedLogins++;
    const failedLogins = n.failedLogins;
    if (failedLogins >= policy.maxFailedLogins) {
      n.failedLogins = 0;
      n.lockedUntil = new Date(now.getTime() + policy.lockoutMs);
      return { failedLogins, lockedUntil: n.lockedUntil };
    }
    return { failedLogins };
  }
}

export class PortalAuth {
  private dummyHash: Promise<string> | undefined;
  private readonly unknownNames: UnknownNameLockouts;

  constructor(private readonly deps: AuthDeps) {
    this.unknownNames = new UnknownNameLockouts(deps.maxUnknownNames ?? 10_000);
  }

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  /** An unknown name costs the same scrypt work as a known one, so timing does not tell them apart. */
  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(newToken());
    return this.dummyHash;
  }

  async login(userName: string, password: string, client: string): Promise<LoginResult> {
    const { accounts, audit, policy } = this.deps;
    const now = this.now();
    const account: PortalAccount | undefined = userName.length > 0 && userName.length <= 253 ? await accounts.get(userName) : undefined;
    const fail = (reason: string, detail: Record<string, unknown> = {}) =>
      audit.append({ at: now, event: 'portal.login.failed', subject: userName.slice(0, 253), detail: { client, reason, ...detail } });
    if (!account) {
      // Answered as for an account: locked after as many failures, after the same scrypt work.
      await verifyPassword(password, await this.dummy());
      // A name of any length must not become a key of that length, nor share one with another name.
      const name = userName.length <= 253 ? userName : `sha256:${createHash('sha256').update(userName).digest('hex')}`;
      const locked = this.unknownNames.lockedUntil(name, now);
      if (locked) {
        fail('unknown-user', { lockedUntil: locked.toISOString() });
        return { ok: false, reason: 'locked', lockedUntil: locked };
      }
      const r = this.unknownNames.recordFailure(name, now, policy);
      fail('unknown-user', { failedLogins: r.failedLogins });
      return r.lockedUntil ? { ok: false, reason: 'locked', lockedUntil: r.lockedUntil } : { ok: false, reason: 'bad-credentials' };
    }
    if (account.lockedUntil && account.lockedUntil > now) {
      // The scrypt work a refused password costs, so that timing does not tell a locked account.
      await verifyPassword(password, await this.dummy());
      fail('locked', { lockedUntil: account.lockedUntil.toISOString() });
      return { ok: false, reason: 'locked', lockedUntil: account.lockedUntil };
    }
    if (!(await verifyPassword(password, account.passwordHash))) {
      const r = await accounts.recordFailure(userName, now, { maxFailures: policy.maxFailedLogins, lockoutMs: policy.lockoutMs });
      fail('wrong-password', { failedLogins: r?.failedLogins ?? null });
      if (r?.lockedUntil) {
        audit.append({ at: now, event: 'portal.login.lockout', subject: userName, detail: { client, lockedUntil: r.lockedUntil.toISOString() } });
        return { ok: false, reason: 'locked', lockedUntil: r.lockedUntil };
      }
      return { ok: false, reason: 'bad-credentials' };
    }
    // Checked after the password, so that only the account's owner learns it is disabled.
    const user = await this.deps.users.get(userName);
    if (!user?.enabled) {
      fail('disabled');
      return { ok: false, reason: 'disabled' };
    }
    await accounts.recordSuccess(userName, now);
    const token = newToken();
    const session: PortalSession = { userName, csrf: newToken(), createdAt: now, expiresAt: new Date(now.getTime() + policy.sessionMs) };
    await this.deps.sessions.create(tokenHash(token), session);
    audit.append({ at: now, event: 'portal.login', subject: userName, detail: { client } });
    return { ok: true, token, session };
  }

  /** The signed-in person behind a session cookie, or undefined (expired, disabled, login removed). */
  async resolve(token: string | undefined): Promise<SignedIn | undefined> {
    if (!token) return undefined;
    const hash = tokenHash(token);
    const session = await this.deps.sessions.get(hash);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      await this.deps.sessions.delete(hash);
      return undefined;
    }
    const [user, account] = await Promise.all([this.deps.users.get(session.userName), this.deps.accounts.get(session.userName)]);
    if (!user?.enabled || !account) return undefined;
    return { userName: session.userName, admin: account.admin, csrf: session.csrf, tokenHash: hash };
  }

  async logout(who: SignedIn): Promise<void> {
    await this.deps.sessions.delete(who.tokenHash);
    this.deps.audit.append({ at: this.now(), event: 'portal.logout', subject: who.userName });
  }

  /** A disabled account or a reset password: every open session of that person ends. */
  async endSessionsOf(userName: string): Promise<number> {
    return this.deps.sessions.deleteForUser(userName);
  }

  async purgeExpired(): Promise<number> {
    return this.deps.sessions.deleteExpired(this.now());
  }
}
