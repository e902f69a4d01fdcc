import type { AccessSessionStore } from './access-sessions.js';
import type { AccountingStore } from './accounting.js';
import type { AuditStore } from './audit.js';
import type { Retention } from './retention.js';
import type { CrlBaselineStore } from './crl-baselines.js';
import type { BrskiDeviceStore } from './brski-devices.js';
import type { IssuedCertificateStore } from './issued-certificates.js';
import type { StoreLiveness } from './liveness.js';
import type { NoobPeerStore } from './noob-peers.js';
import type { PortalAccountStore, PortalSessionStore } from './portal.js';
import type { UserPolicyStore } from './user-policies.js';
import type { UserStore } from './users.js';

/** Where the secret a store connects with comes from: never gangway.yaml itself. */
export type StoreSecret = { env: string } | { file: string };

/** Lowercase letters, digits and `_`, starting with a letter or `_`: a schema name that needs no quoting. */
export const POSTGRES_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** gangway.yaml's `store` section, parsed (src/config/config.ts). */
export type StoreConfig =
  | { kind: 'sqlite'; path: string }
  | {
      kind: 'postgres';
      /** postgres://user@host:port/database[?sslmode=…], without a password. */
      url: string;
      password?: StoreSecret;
      schema: string;
      poolSize: number;
    };

/**
 * Every aggregate of one database, opened together: what the server, the portal and the CLI
 * commands are given instead of a database handle, so none of them knows which database it is.
 */
export interface Stores {
  readonly kind: StoreConfig['kind'];
  /** For log lines and messages: the file, or host, database and schema (never a password). */
  readonly description: string;
  readonly users: UserStore;
  readonly userPolicies: UserPolicyStore;
  readonly noobPeers: NoobPeerStore;
  readonly issuedCertificates: IssuedCertificateStore;
  readonly brskiDevices: BrskiDeviceStore;
  readonly portalAccounts: PortalAccountStore;
  readonly portalSessions: PortalSessionStore;
  readonly accessSessions: AccessSessionStore;
  readonly accounting: AccountingStore;
  readonly audit: AuditStore & Retention;
  /** The newest CRL held from each CA key: rollback protection that outlives a restart. */
  readonly crlBaselines: CrlBaselineStore;
  /** Whether the database answers (GET /healthz, /metrics). */
  readonly liveness: StoreLiveness;
  /** Writes what is queued (the PostgreSQL audit trail) and closes the database. */
  close(): Promise<void>;
}
