import type { AuthorizationPolicy } from '../policy/authorization-policy.js';
import { checkAuthorizationNames } from '../policy/config.js';
import type { NoobPeerStore } from '../store/noob-peers.js';
import type { Stores } from '../store/stores.js';
import type { Log } from '../util/log.js';
import { Authorizer } from './authorizer.js';

/**
 * The server's Authorizer over its database. The policy's method and manufacturer names are
 * checked here, where the registered methods and the brski section are known.
 */
export function buildAuthorizer(
  policy: AuthorizationPolicy,
  stores: Pick<Stores, 'issuedCertificates' | 'userPolicies'>,
  known: { methods: readonly string[]; manufacturers: readonly string[]; noobPeers?: NoobPeerStore },
  log: Log,
): Authorizer {
  checkAuthorizationNames(policy, known);
  return new Authorizer({
    policy,
    // LDevIDs of our registrar CA stay recognisable even if the brski section is later removed.
    issuedCertificates: stores.issuedCertificates,
    ...(known.noobPeers ? { noobPeers: known.noobPeers } : {}),
    userPolicies: stores.userPolicies,
    log: log.child({ module: 'authorization' }),
  });
}
