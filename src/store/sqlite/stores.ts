import type { Stores } from '../stores.js';
import { SqliteAccessSessionStore } from './access-sessions.js';
import { SqliteAccountingStore } from './accounting.js';
import { SqliteAuditStore } from './audit.js';
import { SqliteBrskiDeviceStore } from './brski-devices.js';
import { SqliteCrlBaselineStore } from './crl-baselines.js';
import { openSqlite, type SqliteDatabase } from './database.js';
import { SqliteIssuedCertificateStore } from './issued-certificates.js';
import { SqliteStoreLiveness } from './liveness.js';
import { SqliteNoobPeerStore } from './noob-peers.js';
import { SqlitePortalAccountStore, SqlitePortalSessionStore } from './portal.js';
import { SqliteUserPolicyStore } from './user-policies.js';
import { SqliteUserStore } from './users.js';

export interface SqliteStores extends Stores {
  readonly kind: 'sqlite';
  readonly db: SqliteDatabase;
}

/** The stores over an open database; `close` closes it. */
export function sqliteStores(db: SqliteDatabase, description = db.name): SqliteStores {
  const accessSessions = new SqliteAccessSessionStore(db);
  return {
    kind: 'sqlite',
    description,
    db,
    users: new SqliteUserStore(db),
    userPolicies: new SqliteUserPolicyStore(db),
    noobPeers: new SqliteNoobPeerStore(db),
    issuedCertificates: new SqliteIssuedCertificateStore(db),
    brskiDevices: new SqliteBrskiDeviceStore(db),
    portalAccounts: new SqlitePortalAccountStore(db),
    portalSessions: new SqlitePortalSessionStore(db),
    accessSessions,
    accounting: new SqliteAccountingStore(db),
    audit: new SqliteAuditStore(db),
    crlBaselines: new SqliteCrlBaselineStore(db),
    liveness: new SqliteStoreLiveness(db),
    async close() {
      // The accepted sessions still waiting for their batch go in before the database closes.
      try {
        accessSessions.close();
      } finally {
        db.close();
      }
    },
  };
}

/** Opens (creating and migrating) the database file at `path`. */
export function openSqliteStores(path: string): SqliteStores {
  return sqliteStores(openSqlite(path), path);
}
