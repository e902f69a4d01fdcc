/**
 * Starts the portal on its own listener, over the server's stores. The composition root
 * (src/server.ts) calls this with the same NOOB peer store the EAP-NOOB method uses and a session
 * terminator that knows the NASes.
 */
import type { FastifyInstance } from 'fastify';
import type { OobDeps } from '../noob/oob.js';
import type { NoobPeerStore } from '../store/noob-peers.js';
import type { Stores } from '../store/stores.js';
import type { ConnectionCaps, ConnectionLimit } from '../util/connection-cap.js';
import type { Log } from '../util/log.js';
import { buildPortalApp } from './app.js';
import { PortalAuth, type AuthPolicy } from './auth.js';
import { DeviceService, type TerminateSession } from './devices.js';
import type { AuthorizationView } from './authorization-view.js';
import { BrskiAdmin } from './brski-admin.js';

export interface PortalOptions {
  listen: { host: string; port: number };
  https: boolean;
  tls?: { cert: Buffer; key: Buffer };
  sessionMinutes: number;
  maxFailedLogins: number;
  lockoutMinutes: number;
  /** Connections open at once, in all and per source address. */
  connections: ConnectionCaps;
}

export interface PortalStartDeps {
  stores: Stores;
  noob?: { store: NoobPeerStore; config?: OobDeps['config'] };
  terminate?: TerminateSession;
  log: Log;
  /** The server's credential policy, for the VLANs the pages show. */
  authorization?: AuthorizationView;
  /** The TEAP-BRSKI registrar is configured, with these manufacturers: the admin pages for it. */
  brski?: { manufacturers: readonly string[] };
  /** Told of each connection the caps refused (a metric). */
  onConnectionRefused?: (limit: ConnectionLimit) => void;
}

export interface RunningPortal {
  readonly address: { host: string; port: number };
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export async function startPortal(opts: PortalOptions, deps: PortalStartDeps): Promise<RunningPortal> {
  const log = deps.log.child({ module: 'portal' });
  const { users, portalAccounts: accounts, portalSessions: sessions, audit } = deps.stores;
  const policy: AuthPolicy = { maxFailedLogins: opts.maxFailedLogins, lockoutMs: opts.lockoutMinutes * 60_000, sessionMs: opts.sessionMinutes * 60_000 };
  const auth = new PortalAuth({ users, accounts, sessions, audit, policy });
  const devices = new DeviceService({ ...(deps.noob ? { noob: deps.noob } : {}), audit, log, ...(deps.terminate ? { terminate: deps.terminate } : {}) });
  const brski = deps.brski
    ? new BrskiAdmin({
        devices: deps.stores.brskiDevices,
        certificates: deps.stores.issuedCertificates,
        manufacturers: deps.brski.manufacturers,
        audit,
        log,
        ...(deps.terminate ? { terminate: deps.terminate, sessions: deps.stores.accessSessions } : {}),
      })
    : undefined;
  const app = buildPortalApp({
    users, accounts, auth, devices, audit, log, policy, https: opts.https,
    userPolicies: deps.stores.userPolicies,
    connections: opts.connections,
    ...(deps.onConnectionRefused ? { onConnectionRefused: deps.onConnectionRefused } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
    ...(deps.authorization ? { authorization: deps.authorization } : {}),
    ...(brski ? { brski } : {}),
  });
  await app.listen({ host: opts.listen.host, port: opts.listen.port });
  const bound = app.server.address();
  const address = bound !== null && typeof bound === 'object' ? { host: bound.address, port: bound.port } : opts.listen;
  const housekeeping = setInterval(() => {
    auth.purgeExpired().catch((err: unknown) => log.error({ err: (err as Error).message }, 'portal: session housekeeping failed'));
  }, 3_600_000);
  housekeeping.unref();
  log.info({ address, https: opts.https }, 'portal listening');
  return {
    address,
    app,
    async close() {
      clearInterval(housekeeping);
      await app.close();
    },
  };
}
