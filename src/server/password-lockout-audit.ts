import { PasswordLockout, type LockoutScope, type PasswordLockoutPolicy } from '../eap-methods/password-lockout.js';
import type { AuditStore } from '../store/audit.js';
import type { Log } from '../util/log.js';
import { clipForLog } from '../util/log-fields.js';

/**
 * The server's password lockout: each lockout that begins is an audit entry (`password.lockout`)
 * and a warning, naming the account or NAS, how many failures, and until when; `counted` hears
 * only its scope (metrics).
 */
export function createAuditedLockout(policy: PasswordLockoutPolicy, audit: AuditStore, log: Log, counted: (scope: LockoutScope) => void = () => {}): PasswordLockout {
  return new PasswordLockout(policy, (event) => {
    counted(event.scope);
    const subject = clipForLog(event.subject);
    const detail = { scope: event.scope, nas: event.nas, failures: event.failures, until: event.until.toISOString() };
    log.warn({ ...detail, subject }, `password lockout: ${event.scope === 'nas' ? 'NAS' : 'account'} locked`);
    try {
      audit.append({ at: new Date(), event: 'password.lockout', subject: event.subject.slice(0, 253), detail });
    } catch (err) {
      log.error({ err }, 'password lockout could not be audited');
    }
  });
}
