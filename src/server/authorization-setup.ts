import type { AuthorizationPolicy } from '../policy/authorization-policy.js';
import { checkAuthorizationNames } from '../policy/config.js';
import type { NoobPeerStore } from '../store/noob-peers.js';
import type { SqliteDatabase } from '../store/sqlite/database.js';
import { SqliteIssuedCertificateStore } from '../store/sqlite/issued-certificates.js';
import { SqliteUserPolicyStore } from '../store/sqlite/user-policies.js';
import type { Log } from '../util/log.js';
import { Authorizer } from './authorizer.js';

/**
 * The server's Authorizer over its database. The policy's method and manufacturer names are
 * checked here, where the registered methods and the brski section are known.
 */
export function buildAuthorizer(
  policy: AuthorizationPolicy,
  db: SqliteDatabase,
  known: { methods: readonly string[]; manufacturers: readonly string[]; noobPeers?: NoobPeerStore },
  log: Log,
): Authorizer {
  checkAuthorizationNames(policy, known);
  return new Authorizer({
    policy,
    // LDevIDs of our registrar CA stay recognisable even if the brski section is later removed.
    issuedCertificates: new SqliteIssuedCertificateStore(db),
    ...(known.noobPeers ? { noobPeers: known.noobPeers } : {}),
    userPolicies: new SqliteUserPolicyStore(db),
    log: log.child({ module: 'authorization' }),
  });
}
