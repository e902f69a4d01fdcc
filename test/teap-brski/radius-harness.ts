import { join } from 'node:path';
import { startTestGangway } from '../helpers/gangway.js';
import type { MemoryLog } from '../helpers/silent-log.js';
import { userWithPassword } from './helpers.js';
import { TEST_RADIUS_SECRET, ALICE_PASSWORD, MACHINE_PASSWORD } from '../helpers/test-secrets.js';

/**
 * A complete Gangway server (gangway init data directory, gangway.yaml, SQLite users, RADIUS
 * front end) offering TEAP, on a loopback port, for external peers. `dir` holds ca.pem,
 * client.pem and client.key of the server's demo PKI.
 */
export const SECRET = TEST_RADIUS_SECRET;

export interface TeapRadius {
  port: number;
  log: MemoryLog;
  dir: string;
  close(): Promise<void>;
}

/** `teap` is the `methods.teap` section of gangway.yaml (policy, compat, ...). */
export async function startTeapRadius(teap: Record<string, unknown> = {}, tlsMax: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.2', packetSize = 1400): Promise<TeapRadius> {
  const g = await startTestGangway({
    configure: (doc) => {
      doc.eap = { defaultMethods: ['teap'], packetSize };
      doc.tls = { ...(doc.tls as object), maxVersion: tlsMax };
      doc.methods = { teap };
    },
  });
  const users = g.running.stores.users;
  await userWithPassword(users, 'alice', ALICE_PASSWORD);
  await userWithPassword(users, 'host/machine1', MACHINE_PASSWORD);
  if (g.secret !== SECRET) throw new Error('test gangway secret changed');
  return { port: g.port, log: g.log, dir: join(g.init.dataDir, 'pki'), close: () => g.close() };
}
