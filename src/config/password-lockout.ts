import { DEFAULT_PASSWORD_LOCKOUT, type LockoutRule, type PasswordLockoutPolicy } from '../eap-methods/password-lockout.js';
import type { ConfigReader } from './reader.js';

/**
 * `passwordLockout` in gangway.yaml: failure throttling for EAP-MSCHAPv2 and Basic-Password-Auth.
 *
 *   passwordLockout:
 *     account: { maxFailures: 10, windowSeconds: 600, lockoutSeconds: 600 }
 *     nas: { maxFailures: 100, windowSeconds: 60, lockoutSeconds: 60 }
 *     maxTracked: 10000
 */
export function parsePasswordLockout(r: ConfigReader): PasswordLockoutPolicy {
  const account = rule(r.section('account'), DEFAULT_PASSWORD_LOCKOUT.account);
  const nas = rule(r.section('nas'), DEFAULT_PASSWORD_LOCKOUT.nas);
  const maxTracked = r.integer('maxTracked', DEFAULT_PASSWORD_LOCKOUT.maxTracked, 100, 10_000_000);
  r.done();
  return { account, nas, maxTracked };
}

function rule(r: ConfigReader, defaults: LockoutRule): LockoutRule {
  const parsed = {
    maxFailures: r.integer('maxFailures', defaults.maxFailures, 1, 1_000_000),
    windowMs: r.integer('windowSeconds', defaults.windowMs / 1000, 1, 86_400) * 1000,
    lockoutMs: r.integer('lockoutSeconds', defaults.lockoutMs / 1000, 1, 86_400) * 1000,
  };
  r.done();
  return parsed;
}
