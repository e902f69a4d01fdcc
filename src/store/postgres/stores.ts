import type { Log } from '../../util/log.js';
import { BatchedAccessSessionStore } from '../access-session-batch.js';
import type { Stores } from '../stores.js';
import { describePostgres } from './describe.js';
import { PostgresAccessSessionTable } from './access-sessions.js';
import { PostgresAccountingStore } from './accounting.js';
import { PostgresAuditStore } from './audit.js';
import { PostgresBrskiDeviceStore } from './brski-devices.js';
import { PostgresCrlBaselineStore } from './crl-baselines.js';
import { PostgresDatabase, type PostgresOptions } from './database.js';
import { PostgresIssuedCertificateStore } from './issued-certificates.js';
import { PostgresStoreLiveness } from './liveness.js';
import { PostgresNoobPeerStore } from './noob-peers.js';
import { PostgresPortalAccountStore, PostgresPortalSessionStore } from './portal.js';
import { PostgresUserPolicyStore } from './user-policies.js';
import { PostgresUserStore } from './users.js';

export interface PostgresStores extends Stores {
  readonly kind: 'postgres';
  readonly db: PostgresDatabase;
  readonly accessSessions: BatchedAccessSessionStore;
}

/** Connects, brings the schema up to date (under the migration lock) and returns the stores on it. */
export async function openPostgresStores(options: PostgresOptions, log: Log): Promise<PostgresStores> {
  const db = await PostgresDatabase.open(options, log);
  const audit = new PostgresAuditStore(db, log.child({ module: 'audit' }));
  const accessSessions = new BatchedAccessSessionStore(new PostgresAccessSessionTable(db), log.child({ module: 'access-sessions' }));
  return {
    kind: 'postgres',
    description: describePostgres(options.url, options.schema),
    db,
    users: new PostgresUserStore(db),
    userPolicies: new PostgresUserPolicyStore(db),
    noobPeers: new PostgresNoobPeerStore(db),
    issuedCertificates: new PostgresIssuedCertificateStore(db),
    brskiDevices: new PostgresBrskiDeviceStore(db),
    portalAccounts: new PostgresPortalAccountStore(db),
    portalSessions: new PostgresPortalSessionStore(db),
    accessSessions,
    accounting: new PostgresAccountingStore(db),
    audit,
    crlBaselines: new PostgresCrlBaselineStore(db),
    liveness: new PostgresStoreLiveness(db),
    async close() {
      // Both queues get the same few seconds, side by side; a write still stuck then (a locked
      // table) holds the pool's end up to the statement timeout.
      await Promise.all([audit.close(), accessSessions.close()]);
      await db.close();
    },
  };
}
