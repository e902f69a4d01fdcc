import { existsSync, mkdirSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { generateDemoPki } from '../pki/demo-pki.js';
import { openSqliteStores } from '../store/sqlite/stores.js';
import type { IssuedCertificateStore } from '../store/issued-certificates.js';
import { canonicalSerialHex } from '../pki/ca/serial.js';
import { x509 } from '../pki/ca/x509.js';
import { CONFIG_FILE, MIN_SECRET_LENGTH } from '../config/config.js';
import { createPortalAdmin } from './portal-admin.js';
import { writeFileAtomically } from '../util/atomic-file.js';

export interface InitOptions {
  radiusHost?: string;
  radiusPort?: number;
  secret?: string;
  serverName?: string;
  /** Portal port; default 8443, or 0 (ephemeral) when radiusPort is 0. */
  portalPort?: number;
  /** Accounting port; default radiusPort + 1 (1813), or 0 when radiusPort is 0. */
  accountingPort?: number;
}

/** What `gangway init --json` prints: everything a script needs to talk to the new server. */
export interface InitResult {
  dataDir: string;
  config: string;
  radius: { host: string; port: number; secret: string; accountingPort: number };
  /** The portal and its first administrator; the password is shown here once and stored only hashed. */
  portal: { listen: string; url: string; admin: { name: string; password: string } };
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
  const secret = opts.secret ?? randomBytes(18).toString('base64url');
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`the RADIUS secret must be at least ${MIN_SECRET_LENGTH} characters`);
  const serverName = opts.serverName ?? 'gangway.local';
  const portalPort = opts.portalPort ?? (port === 0 ? 0 : 8443);
  const accountingPort = opts.accountingPort ?? (port === 0 ? 0 : port + 1);
  if (accountingPort > 65535) throw new Error(`the accounting port would be ${accountingPort}; give one with --accounting-port`);
  // Port 0 is for tests: the real port is only known after listening, so the URL names no port.
  const portalUrl = `https://${serverName}${portalPort === 443 || portalPort === 0 ? '' : `:${portalPort}`}`;

  mkdirSync(join(dataDir, 'pki'), { recursive: true, mode: 0o700 });
  // Owner-only whether or not this call created them (the server refuses anything wider).
  chmodSync(dataDir, 0o700);
  chmodSync(join(dataDir, 'pki'), 0o700);
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
  // Each file is whole and on the disk before the next is written, and the configuration comes
  // last: a crash leaves no configuration (init runs again and replaces the files) or every file
  // it names (util/atomic-file.ts).
  writePrivate(files.caKey, pki.ca.keyPem);
  writePublic(files.caCert, pki.ca.certPem);
  writePrivate(files.serverKey, pki.server.keyPem);
  writePublic(files.serverCert, pki.server.certPem);
  writePrivate(files.clientKey, pki.client.keyPem);
  writePublic(files.clientCert, pki.client.certPem);

  const listenHost = host.includes(':') ? `[${host}]` : host;
  const config = {
    server: { name: serverName, listen: [`${listenHost}:${port}`] },
    accounting: { listen: [`${listenHost}:${accountingPort}`] },
    radius: {
      clients: [
        { name: 'localhost', address: '127.0.0.0/8', secret },
        { name: 'localhost6', address: '::1', secret },
      ],
    },
    eap: {
      // EAP-TLS first, for devices with a certificate; a peer configured for TEAP (people's laptops,
      // `gangway teap-peer`, TEAP-BRSKI pledges) answers with a Nak for TEAP, which is allowed too.
      defaultMethods: ['eap-tls', 'teap'],
      rules: [] as unknown[],
    },
    tls: { cert: 'pki/server.pem', key: 'pki/server.key', ca: ['pki/ca.pem'] },
    methods: {
      // EAP-NOOB: devices' QR codes point at the portal's /noob page, so a phone's camera opens
      // the portal directly; registered devices reconnect as newNai.
      'eap-noob': { oobUrl: `${portalUrl}/noob`, newNai: `noob@${serverName}` },
    },
    store: { sqlite: 'gangway.db' },
    log: { level: 'info' },
    portal: { listen: `127.0.0.1:${portalPort}`, publicUrl: portalUrl, tls: true },
  };
  const header = '# Gangway configuration. Reference: docs/configuration.md\n';
  writePrivate(configPath, header + stringify(config));
  const stores = openSqliteStores(files.database);
  let admin;
  try {
    // The demo CA is also the registrar CA by default (brski.caDirectory), and that CA refuses any
    // certificate of its own that it has no record of: record the demo client certificate.
    await recordDemoClient(stores.issuedCertificates, pki.client.certPem);
    admin = await createPortalAdmin(stores, 'admin');
  } finally {
    await stores.close();
  }

  return {
    dataDir,
    config: configPath,
    radius: { host, port, secret, accountingPort },
    portal: { listen: `127.0.0.1:${portalPort}`, url: portalUrl, admin },
    files,
  };
}

function writePrivate(path: string, text: string): void {
  writeFileAtomically(path, text, { mode: 0o600 });
}

function writePublic(path: string, text: string): void {
  writeFileAtomically(path, text, { mode: 0o644 });
}

async function recordDemoClient(store: IssuedCertificateStore, certPem: string): Promise<void> {
  const cert = new x509.X509Certificate(certPem);
  await store.record({
    serial: canonicalSerialHex(cert.serialNumber),
    issuer: cert.issuer,
    subject: cert.subject,
    subjectAltNames: [],
    deviceId: 'demo-client',
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    der: new Uint8Array(cert.rawData),
    issuedAt: new Date(),
  });
}
