import type { AuthorizationPolicy } from '../policy/authorization-policy.js';
import { checkAuthorizationNames } from '../policy/config.js';
import type { Stores } from '../store/stores.js';
import type { Log } from '../util/log.js';
import { UNTIMED, type StoreWrapper } from './store-timing.js';
import { Authorizer } from './authorizer.js';

/**
 * The server's Authorizer over its database. The policy's method and manufacturer names are
 * checked here, where the registered methods and the brski section are known. `wrap` times its
 * stores (server/store-timing.ts).
 */
export function buildAuthorizer(
  policy: AuthorizationPolicy,
  stores: Pick<Stores, 'issuedCertificates' | 'userPolicies' | 'brskiDevices'>,
  known: { methods: readonly string[]; manufacturers: readonly string[] },
  log: Log,
  wrap: StoreWrapper = UNTIMED,
): Authorizer {
  checkAuthorizationNames(policy, known);
  return new Authorizer({
    policy,
    // LDevIDs of our registrar CA stay recognisable even if the brski section is later removed.
    issuedCertificates: wrap('issued-certificates', stores.issuedCertificates),
    userPolicies: wrap('user-policies', stores.userPolicies),
    brskiDevices: wrap('brski-devices', stores.brskiDevices),
    log: log.child({ module: 'authorization' }),
  });
}
