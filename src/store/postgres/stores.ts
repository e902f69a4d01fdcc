import type { Log } from '../../util/log.js';
import type { Stores } from '../stores.js';
import { describePostgres } from './describe.js';
import { PostgresAccessSessionStore } from './access-sessions.js';
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
}

/** Connects, brings the schema up to date (under the migration lock) and returns the stores on it. */
export async function openPostgresStores(options: PostgresOptions, log: Log): Promise<PostgresStores> {
  const db = await PostgresDatabase.open(options, log);
  const audit = new PostgresAuditStore(db, log.child({ module: 'audit' }));
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
    accessSessions: new PostgresAccessSessionStore(db),
    accounting: new PostgresAccountingStore(db),
    audit,
    crlBaselines: new PostgresCrlBaselineStore(db),
    liveness: new PostgresStoreLiveness(db),
    async close() {
      await audit.close();
      await db.close();
    },
  };
}
