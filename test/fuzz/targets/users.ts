import { PasswordLockout } from '../../../src/eap-methods/password-lockout.js';
import { ntPasswordHash } from '../../../src/eap-methods/mschapv2/ms-chap-v2.js';
import { hashPassword, type UserRecord, type UserStore } from '../../../src/store/users.js';

/** Accounts for the targets that run password methods: NT hash and a cheap scrypt hash each. */
export class FuzzUsers implements Pick<UserStore, 'get'> {
  private readonly users = new Map<string, UserRecord>();

  static async with(accounts: Record<string, string>): Promise<FuzzUsers> {
    const store = new FuzzUsers();
    for (const [name, password] of Object.entries(accounts)) {
      // Cheap scrypt parameters: each Basic-Password check costs one scrypt, on every fuzzed input.
      store.users.set(name, { name, enabled: true, created: new Date(0), ntHash: ntPasswordHash(password), passwordHash: await hashPassword(password, { N: 1024, r: 8, p: 1 }) });
    }
    return store;
  }

  async get(name: string): Promise<UserRecord | undefined> {
    return this.users.get(name);
  }
}

/**
 * A lockout that never locks: lockouts are state across inputs, and an input must behave the same
 * whatever ran before it (lockout itself is tested in test/eap-methods/password-lockout.test.ts).
 */
export function neverLocks(): PasswordLockout {
  const rule = { maxFailures: Number.MAX_SAFE_INTEGER, windowMs: 1, lockoutMs: 1 };
  return new PasswordLockout({ account: rule, nas: rule, maxTracked: 16 });
}
