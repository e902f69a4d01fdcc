import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { generateDemoPki } from '../pki/demo-pki.js';
import { openSqlite } from '../store/sqlite/database.js';
import { CONFIG_FILE } from '../config/config.js';

export interface InitOptions {
  radiusHost?: string;
  radiusPort?: number;
  secret?: string;
  serverName?: string;
}

/** What `gangway init --json` prints: everything a script needs to talk to the new server. */
export interface InitResult {
  dataDir: string;
  config: string;
  radius: { host: string; port: number; secret: string };
  files: { caCert: string; caKey: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string; database: string };
}

/**
 * Creates a data directory: demo PKI, configuration and database. Refuses to touch a directory
 * that already has a configuration, so an operator's keys are never overwritten.
 */
export async function initDataDir(dir: string, opts: InitOptions = {}): Promise<InitResult> {
  const dataDir = resolve(dir);
  const configPath = join(dataDir, CONFIG_FILE);
  if (existsSync(configPath)) throw new Error(`${configPath} already exists; refusing to overwrite it`);
  const host = opts.radiusHost ?? '127.0.0.1';
  const port = opts.radiusPort ?? 1812;
  const secret = opts.secret ?? randomBytes(12).toString('base64url');
  const serverName = opts.serverName ?? 'gangway.local';

  mkdirSync(join(dataDir, 'pki'), { recursive: true, mode: 0o700 });
  const pki = await generateDemoPki(serverName);
  const files = {
    caCert: join(dataDir, 'pki', 'ca.pem'),
    caKey: join(dataDir, 'pki', 'ca.key'),
    serverCert: join(dataDir, 'pki', 'server.pem'),
    serverKey: join(dataDir, 'pki', 'server.key'),
    clientCert: join(dataDir, 'pki', 'client.pem'),
    clientKey: join(dataDir, 'pki', 'client.key'),
    database: join(dataDir, 'gangway.db'),
  };
  writePrivate(files.caKey, pki.ca.keyPem);
  writeFileSync(files.caCert, pki.ca.certPem);
  writePrivate(files.serverKey, pki.server.keyPem);
  writeFileSync(files.serverCert, pki.server.certPem);
  writePrivate(files.clientKey, pki.client.keyPem);
  writeFileSync(files.clientCert, pki.client.certPem);

  const listenHost = host.includes(':') ? `[${host}]` : host;
  const config = {
    server: { name: serverName, listen: [`${listenHost}:${port}`] },
    radius: {
      clients: [
        { name: 'localhost', address: '127.0.0.0/8', secret },
        { name: 'localhost6', address: '::1', secret },
      ],
    },
    eap: {
      defaultMethods: ['eap-tls'],
      rules: [] as unknown[],
    },
    tls: { cert: 'pki/server.pem', key: 'pki/server.key', ca: ['pki/ca.pem'] },
    methods: {
      // EAP-NOOB: devices' QR codes point at oobUrl (the portal, once it exists); registered
      // devices reconnect as newNai.
      'eap-noob': { oobUrl: `https://${serverName}/noob`, newNai: `noob@${serverName}` },
    },
    store: { sqlite: 'gangway.db' },
    log: { level: 'info' },
  };
  const header = '# Gangway configuration. Reference: docs/configuration.md\n';
  writePrivate(configPath, header + stringify(config));
  openSqlite(files.database).close();

  return { dataDir, config: configPath, radius: { host, port, secret }, files };
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}
