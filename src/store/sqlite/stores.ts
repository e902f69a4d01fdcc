import { silentLog, type Log } from '../../util/log.js';
import { BatchedAccessSessionStore } from '../access-session-batch.js';
import type { Stores } from '../stores.js';
import { SqliteAccessSessionTable } from './access-sessions.js';
import { SqliteAccountingStore } from './accounting.js';
import { SqliteAuditStore } from './audit.js';
import { SqliteBrskiDeviceStore } from './brski-devices.js';
import { SqliteCrlBaselineStore } from './crl-baselines.js';
import { COMMAND_BUSY_TIMEOUT_MS, openSqlite, type SqliteDatabase } from './database.js';
import { SqliteIssuedCertificateStore } from './issued-certificates.js';
import { SqliteStoreLiveness } from './liveness.js';
import { SqliteNoobPeerStore } from './noob-peers.js';
import { SqlitePortalAccountStore, SqlitePortalSessionStore } from './portal.js';
import { SqliteUserPolicyStore } from './user-policies.js';
import { SqliteUserStore } from './users.js';

export interface SqliteStores extends Stores {
  readonly kind: 'sqlite';
  readonly db: SqliteDatabase;
  readonly accessSessions: BatchedAccessSessionStore;
}

/**
 * The stores over an open database; `close` closes it. `log` hears of the access-session batches
 * that cannot be written (a server's own log; silent for commands, which record none).
 */
export function sqliteStores(db: SqliteDatabase, description = db.name, log: Log = silentLog()): SqliteStores {
  const accessSessions = new BatchedAccessSessionStore(new SqliteAccessSessionTable(db), log);
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
        await accessSessions.close();
      } finally {
        db.close();
      }
    },
  };
}

/**
 * Opens (creating and migrating) the database file at `path`. A server passes its short busy
 * timeout (SERVING_BUSY_TIMEOUT_MS in database.ts); a command keeps the longer default.
 */
export function openSqliteStores(path: string, options: { busyTimeoutMs?: number; log?: Log } = {}): SqliteStores {
  return sqliteStores(openSqlite(path, undefined, options.busyTimeoutMs ?? COMMAND_BUSY_TIMEOUT_MS), path, options.log);
}
