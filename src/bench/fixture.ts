/**
 * Everything both servers under test share: one data directory made by `gangway init` (demo PKI,
 * gangway.yaml, SQLite), a password account for TEAP, and the names and credentials the peers use.
 * hostapd gets the same certificate files and the same account.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { initDataDir, type InitResult } from '../cli/init.js';
import { ntPasswordHash } from '../eap-methods/mschapv2/ms-chap-v2.js';
import { openSqlite } from '../store/sqlite/database.js';
import { SqliteUserStore } from '../store/sqlite/users.js';
import { hashPassword } from '../store/users.js';
import type { PeerCredentials } from './method.js';

export interface BenchFixture {
  init: InitResult;
  serverName: string;
  secret: string;
  /** EAP-TLS identity: the demo client certificate's CN. */
  tlsIdentity: string;
  /** Outer identity of TEAP; its realm is routed to TEAP (Gangway rule, hostapd eap_user). */
  teapOuterIdentity: string;
  /** Outer identity of PEAP; its realm is routed to PEAP on hostapd and FreeRADIUS. */
  peapOuterIdentity: string;
  teapUser: { name: string; password: string };
  pem: { ca: Buffer; serverCert: Buffer; serverKey: Buffer; clientCert: Buffer; clientKey: Buffer };
}

export const BENCH_SERVER_NAME = 'gangway.bench';
const TEAP_REALM = 'teap.bench';
const PEAP_REALM = 'peap.bench';
/**
 * Registrations waiting for their Completion Exchange count against EAP-NOOB's table of unfinished
 * ones (default 10,000); `noob-completion` stages one per measured authentication.
 */
const NOOB_MAX_EPHEMERAL = 2_000_000;
/**
 * EAP packets of about 1400 octets on both servers (hostapd's fragment_size default is 1398; our
 * peers send Framed-MTU 1400), so that both need the same number of round trips per handshake.
 */
const EAP_PACKET_SIZE = 1400;

export async function createBenchFixture(dir: string, port: number): Promise<BenchFixture> {
  const secret = `bench-${randomBytes(12).toString('base64url')}`;
  const init = await initDataDir(dir, { radiusPort: port, secret, serverName: BENCH_SERVER_NAME, portalPort: 0, accountingPort: 0 });
  editConfig(init.config, (doc) => {
    doc.eap = { ...doc.eap, defaultMethods: ['eap-tls'], rules: [{ realm: TEAP_REALM, methods: ['teap'] }], packetSize: EAP_PACKET_SIZE };
    // warn: per-authentication info lines would be measured as server CPU.
    doc.log = { level: 'warn' };
    const methods = doc.methods as Record<string, Record<string, unknown>>;
    methods['eap-noob'] = { ...methods['eap-noob'], maxEphemeralPeers: NOOB_MAX_EPHEMERAL };
  });

  // base64url: no quote or backslash that hostapd's eap_user syntax would need escaped; the prefix:
  // one in 64 began with '-', which a command line takes for an option (a CI run failed on that).
  const teapUser = { name: 'bench-user', password: `pw-${randomBytes(12).toString('base64url')}` };
  // What `gangway users add` does, against the database the server will open.
  const db = openSqlite(init.files.database);
  try {
    await new SqliteUserStore(db).add({ name: teapUser.name, ntHash: ntPasswordHash(teapUser.password), passwordHash: await hashPassword(teapUser.password), enabled: true });
  } finally {
    db.close();
  }
  return {
    init,
    serverName: BENCH_SERVER_NAME,
    secret,
    tlsIdentity: 'demo-client',
    teapOuterIdentity: `anonymous@${TEAP_REALM}`,
    peapOuterIdentity: `anonymous@${PEAP_REALM}`,
    teapUser,
    pem: {
      ca: readFileSync(init.files.caCert),
      serverCert: readFileSync(init.files.serverCert),
      serverKey: readFileSync(init.files.serverKey),
      clientCert: readFileSync(init.files.clientCert),
      clientKey: readFileSync(init.files.clientKey),
    },
  };
}

/** Rewrites a gangway.yaml through `change`, owner-only as init made it. */
function editConfig(path: string, change: (doc: Record<string, Record<string, unknown>>) => void): void {
  const doc = parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
  change(doc);
  writeFileSync(path, stringify(doc), { mode: 0o600 });
}

/** Gangway's `server.warmup` in the fixture's gangway.yaml (docs/configuration.md). */
export function setGangwayWarmup(fixture: BenchFixture, perMethod: number): void {
  editConfig(fixture.init.config, (doc) => {
    doc.server = { ...doc.server, warmup: perMethod };
  });
}

/** Changes to a copy's gangway.yaml: the TLS engine, and keys of the `eap` section. */
export interface FixtureChanges {
  tlsEngine?: 'openssl' | 'node';
  eap?: Record<string, number | string>;
}

/**
 * A copy of the fixture's data directory (same certificates, account and secret) with its own
 * gangway.yaml changes, so that Gangway with each TLS engine can run next to the other in one bench,
 * and the held-conversations case can raise the session limits on a server of its own.
 */
export function forkBenchFixture(fixture: BenchFixture, dir: string, changes: FixtureChanges): BenchFixture {
  const from = fixture.init.dataDir;
  cpSync(from, dir, { recursive: true });
  const moved = (path: string): string => join(dir, relative(from, path));
  const f = fixture.init.files;
  const init = {
    ...fixture.init,
    dataDir: dir,
    config: moved(fixture.init.config),
    files: {
      caCert: moved(f.caCert), caKey: moved(f.caKey), serverCert: moved(f.serverCert), serverKey: moved(f.serverKey),
      clientCert: moved(f.clientCert), clientKey: moved(f.clientKey), database: moved(f.database),
    },
  };
  editConfig(init.config, (doc) => {
    if (changes.tlsEngine) doc.tls = { ...doc.tls, engine: changes.tlsEngine };
    if (changes.eap) doc.eap = { ...doc.eap, ...changes.eap };
  });
  return { ...fixture, init };
}

/** What our peers present to the servers the bench starts: the demo client certificate and the account. */
export function fixtureCredentials(f: BenchFixture): PeerCredentials {
  return {
    caPem: f.pem.ca,
    serverName: f.serverName,
    tls: { certPem: f.pem.clientCert, keyPem: f.pem.clientKey, identity: f.tlsIdentity },
    user: f.teapUser,
    teapOuterIdentity: f.teapOuterIdentity,
    peapOuterIdentity: f.peapOuterIdentity,
  };
}
