/**
 * The portal's connection caps (src/util/connection-cap.ts) over HTTPS on loopback: idle
 * connections from one address cannot take the listener's descriptors from everyone else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildPortalApp } from '../../src/portal/app.js';
import { PortalAuth } from '../../src/portal/auth.js';
import { DeviceService } from '../../src/portal/devices.js';
import { openSqliteStores, type SqliteStores } from '../../src/store/sqlite/stores.js';
import type { ConnectionCaps, ConnectionLimit } from '../../src/util/connection-cap.js';
import { showPerAddressCap, showTotalCap, type CapTarget } from '../helpers/connection-caps.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { testPki } from '../helpers/pki.js';

interface Portal {
  target: CapTarget;
  log: MemoryLog;
  refused: ConnectionLimit[];
  close(): Promise<void>;
}

async function startPortal(connections: ConnectionCaps): Promise<Portal> {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-portal-caps-'));
  const stores: SqliteStores = openSqliteStores(join(dir, 'gangway.db'));
  const log = new MemoryLog();
  const refused: ConnectionLimit[] = [];
  const policy = { maxFailedLogins: 3, lockoutMs: 60_000, sessionMs: 3_600_000 };
  const pki = await testPki();
  const app: FastifyInstance = buildPortalApp({
    users: stores.users,
    accounts: stores.portalAccounts,
    auth: new PortalAuth({ users: stores.users, accounts: stores.portalAccounts, sessions: stores.portalSessions, audit: stores.audit, policy }),
    devices: new DeviceService({ audit: stores.audit, log }),
    audit: stores.audit,
    log,
    policy,
    https: true,
    tls: { cert: Buffer.from(pki.server.certPem), key: Buffer.from(pki.server.keyPem) },
    userPolicies: stores.userPolicies,
    connections,
    onConnectionRefused: (limit) => refused.push(limit),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    target: { url: `https://127.0.0.1:${port}`, path: '/login', status: 200 },
    log,
    refused,
    async close() {
      await app.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('portal: connection caps', () => {
  test('per address: 127.0.0.1 holding its 4, its next connection is closed before the TLS handshake; 127.0.0.2 gets the login page; one closed frees a place', async () => {
    const p = await startPortal({ total: 100, perAddress: 4 });
    try {
      await showPerAddressCap(p.target, 4);
      expect(p.refused.slice(0, 2)).toEqual(['address', 'address']);
      const warned = p.log.lines.filter((l) => l.level === 'warn');
      expect(warned).toEqual([{ level: 'warn', obj: { listener: 'portal', remote: '127.0.0.1', limit: 4 }, msg: 'portal: connection refused: too many open from one address' }]);
    } finally {
      await p.close();
    }
  });

  test('in total: 6 open from two addresses, a third address is refused, and served once one closes', async () => {
    const p = await startPortal({ total: 6, perAddress: 4 });
    try {
      await showTotalCap(p.target, { total: 6, perAddress: 4 });
      expect(p.refused.slice(0, 2)).toEqual(['total', 'total']);
      expect(p.log.lines.filter((l) => l.level === 'warn').map((l) => l.obj)).toEqual([{ listener: 'portal', remote: '127.0.0.3', limit: 6 }]);
    } finally {
      await p.close();
    }
  });
});
