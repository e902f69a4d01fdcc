/**
 * kill -9 during TEAP-BRSKI enrolments (issue 8.4): `gangway serve` (the built CLI) in a child
 * process with a `brski` section, a reference MASA in this process, and many pledges (our TEAP-BRSKI
 * pledge over UDP RADIUS, IDevIDs issued by that MASA) enrolling while the server is SIGKILLed at
 * random moments and restarted. After every kill, on the database as the dead server left it:
 *  - `PRAGMA integrity_check` says ok and `PRAGMA foreign_key_check` finds nothing;
 *  - no record is half-written. An issued certificate is whole when its DER parses, names the
 *    serial, issuer, subject and validity of its row, and was issued to a device the registrar has
 *    a record of. A device record is whole when its decision columns come together (decided_by and
 *    decided_at both or neither), it has been seen (last_seen not before first_seen), and its
 *    ldevid_serial, if any, names a recorded certificate issued to that same device;
 *  - every LDevID a pledge received together with an Access-Accept is in the issued-certificates
 *    store (same serial, same DER) and is the LDevID of the pledge's device record; every
 *    Access-Accept the server logged names a device whose record holds a recorded LDevID;
 *  - serials are unique (the store's key; also across everything the pledges hold).
 * Every other kill is aimed at the narrowest window, right after the server logs an LDevID it
 * issued. Pledges whose conversation a kill cut off try again and must all end enrolled; at the end
 * a sample of them authenticates with EAP-TLS and the LDevID it holds (the server refuses a
 * certificate of its CA that it has no record of).
 *
 * Cost: the counts are what bounds it. Six runs took 54–64 s of CPU in all (this process with
 * the pledges and the MASA, and every life of the server); on two cores shared with a dozen other
 * busy processes that was 130–280 s of wall time, hence the generous timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { initDataDir } from '../../src/cli/init.js';
import { canonicalSerialHex } from '../../src/pki/ca/serial.js';
import { x509 } from '../../src/pki/ca/x509.js';
import { RadiusClient } from '../../src/radius/index.js';
import { runPledgeOverRadius } from '../../src/peer/brski/teap-pledge.js';
import { EapTlsEapPeer } from '../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../../src/peer/radius-runner.js';
import type { PledgeCredentials } from '../../src/peer/brski/credentials.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { freeUdpPort, isRunning } from '../helpers/proc.js';
import { issuePledge, startTestMasa, type TestMasa } from '../masa/harness.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const SECRET = 'kill-nine-brski-secret-3c1d';
const MANUFACTURER = 'acme';
const PLEDGES = 100;
const KILLS = 6;
const WORKERS = 6;
const MAX_ATTEMPTS = 15;

interface Tracked {
  credentials: PledgeCredentials;
  deviceId: string;
  callingStationId: string;
  attempts: number;
  /** Attempts that ended without an enrolment (cut off by a kill, or refused by a restarted server). */
  interrupted: number;
  busy: boolean;
  /** What the pledge holds after the Access-Accept it received. */
  ldevid?: { serial: string; der: Buffer; keyPem: string };
}

interface CertRow {
  serial: string;
  issuer: string;
  subject: string;
  device_id: string;
  not_before: string;
  not_after: string;
  der: Buffer;
}

interface DeviceRow {
  manufacturer: string;
  serial_number: string;
  status: string;
  first_seen: string;
  last_seen: string | null;
  decided_by: string | null;
  decided_at: string | null;
  ldevid_serial: string | null;
}

describe('kill -9 while TEAP-BRSKI enrolments run', () => {
  let root: string;
  /** The server's data directory. */
  let dir: string;
  let port: number;
  let db: SqliteDatabase;
  let masa: TestMasa;
  /** The registrar CA's name as node:crypto prints it, and as the store records it (RFC 4514). */
  let caSubject: { node: string; stored: string };
  /** Certificates recorded before any pledge came (gangway init records its demo client certificate). */
  let preexisting: Set<string>;
  let child: ChildProcess | undefined;
  let out = '';
  /** Device ids the server logged an Access-Accept for, across all its lives. */
  const loggedAccepts = new Set<string>();

  function scanLog(text: string): void {
    for (const line of text.split('\n')) {
      if (!line.startsWith('{') || !line.includes('"Access-Accept"')) continue;
      try {
        const l = JSON.parse(line) as { msg?: string; method?: string; identity?: string };
        if (l.msg === 'Access-Accept' && l.method === 'teap' && l.identity) loggedAccepts.add(l.identity);
      } catch {
        // a line cut by the kill
      }
    }
  }

  async function start(): Promise<void> {
    out = '';
    const c = spawn(process.execPath, [main, 'serve', '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    for (let i = 0; i < 300 && !out.includes('gangway listening'); i++) {
      if (c.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!out.includes('gangway listening')) throw new Error(`server did not start:\n${out}`);
    child = c;
  }

  /** Resolves when the running server writes a line containing `text`, or after `timeoutMs`. */
  async function logLine(text: string, timeoutMs: number): Promise<void> {
    const from = out.length;
    const c = child!;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        c.stdout!.off('data', look);
        resolve();
      };
      const look = (): void => {
        if (out.indexOf(text, from) >= 0) done();
      };
      const timer = setTimeout(done, timeoutMs);
      c.stdout!.on('data', look);
    });
  }

  async function kill(): Promise<void> {
    const c = child!;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGKILL');
    await gone;
    scanLog(out);
    child = undefined;
  }

  /** The invariants, checked on the database as the dead server left it. */
  function check(tracked: readonly Tracked[]): { certificates: number; devices: number; enrolledDevices: number } {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const certs = db.prepare('SELECT serial, issuer, subject, device_id, not_before, not_after, der FROM issued_certificates').all() as CertRow[];
    const devices = db.prepare('SELECT manufacturer, serial_number, status, first_seen, last_seen, decided_by, decided_at, ldevid_serial FROM brski_devices').all() as DeviceRow[];
    const certBySerial = new Map(certs.map((c) => [c.serial, c]));
    const deviceById = new Map(devices.map((d) => [`${d.manufacturer}:${d.serial_number}`, d]));

    for (const c of certs) {
      if (preexisting.has(c.serial)) continue;
      const x = new X509Certificate(c.der);
      expect([c.serial, canonicalSerialHex(x.serialNumber), x.issuer === caSubject.node, c.issuer === caSubject.stored]).toEqual([c.serial, c.serial, true, true]);
      expect([c.serial, x.subject.replace(/\n/g, ', ')]).toEqual([c.serial, expect.stringContaining(`CN=${c.device_id}`)]);
      expect([c.serial, new Date(x.validFrom).getTime(), new Date(x.validTo).getTime()]).toEqual([c.serial, Date.parse(c.not_before), Date.parse(c.not_after)]);
      // Issued only to a pledge the registrar recorded as seen in the same conversation, earlier.
      expect([c.serial, deviceById.has(c.device_id)]).toEqual([c.serial, true]);
    }
    let enrolledDevices = 0;
    for (const d of devices) {
      const id = `${d.manufacturer}:${d.serial_number}`;
      expect([id, (d.decided_by === null) === (d.decided_at === null)]).toEqual([id, true]);
      expect([id, d.last_seen !== null && Date.parse(d.last_seen) >= Date.parse(d.first_seen)]).toEqual([id, true]);
      if (d.ldevid_serial !== null) {
        enrolledDevices++;
        expect([id, certBySerial.get(d.ldevid_serial)?.device_id]).toEqual([id, id]);
      }
    }
    for (const t of tracked) {
      if (!t.ldevid) continue;
      const row = certBySerial.get(t.ldevid.serial);
      expect([t.deviceId, t.ldevid.serial, row?.der.equals(t.ldevid.der), row?.device_id, deviceById.get(t.deviceId)?.ldevid_serial])
        .toEqual([t.deviceId, t.ldevid.serial, true, t.deviceId, t.ldevid.serial]);
    }
    for (const id of loggedAccepts) {
      const serial = deviceById.get(id)?.ldevid_serial;
      expect([id, serial !== undefined && serial !== null && certBySerial.has(serial)]).toEqual([id, true]);
    }
    const held = tracked.flatMap((t) => (t.ldevid ? [t.ldevid.serial] : []));
    expect(new Set(held).size).toBe(held.length);
    return { certificates: certs.filter((c) => !preexisting.has(c.serial)).length, devices: devices.length, enrolledDevices };
  }

  let tracked: Tracked[];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gangway-kill9-brski-'));
    dir = join(root, 'server');
    masa = await startTestMasa();
    const manufacturerCa = join(root, 'manufacturer-ca.pem');
    const masaCa = join(root, 'masa-ca.pem');
    writeFileSync(manufacturerCa, masa.manufacturerCaPem);
    writeFileSync(masaCa, masa.masaCaPem);
    const anchor = new Uint8Array(new X509Certificate(masa.manufacturerCaPem).raw);
    tracked = [];
    for (let i = 0; i < PLEDGES; i++) {
      const serialNumber = `K9-${String(i).padStart(4, '0')}`;
      const p = await issuePledge(masa, serialNumber);
      tracked.push({
        credentials: { idevid: p.der, intermediates: [], privateKey: p.key, manufacturerAnchors: [anchor], serialNumber },
        deviceId: `${MANUFACTURER}:${serialNumber}`,
        callingStationId: `02-00-00-${((i >> 8) & 0xff).toString(16).padStart(2, '0')}-${(i & 0xff).toString(16).padStart(2, '0')}-02`,
        attempts: 0,
        interrupted: 0,
        busy: false,
      });
    }

    port = await freeUdpPort();
    await initDataDir(dir, { radiusPort: port, accountingPort: 0, portalPort: 0, secret: SECRET, serverName: 'radius.test.example' });
    const cfgPath = join(dir, 'gangway.yaml');
    const cfg = parse(readFileSync(cfgPath, 'utf8')) as Record<string, Record<string, unknown>>;
    cfg.eap!.rules = [{ realm: 'brski.invalid', methods: ['teap'] }];
    cfg.brski = {
      manufacturers: [{ name: MANUFACTURER, ca: manufacturerCa, masaCa, approval: 'auto', masaUrl: masa.authority }],
      // The MASA shares this process with the pledges: on a loaded machine it may answer slowly.
      masa: { timeoutMs: 20_000, retries: 0 },
    };
    cfg.methods!.teap = {
      policies: { pledge: { clientCertificate: 'required', sequence: [{ identityType: 'machine', methods: ['brski'] }] } },
      rules: [{ certificate: `manufacturer:${MANUFACTURER}`, policy: 'pledge' }],
    };
    // No portal: each of the server's lives starts sooner without it, and enrolment does not use it.
    delete cfg.portal;
    // Nor a start-up warm-up: this test restarts the server many times within its budget (test/cli/serve-warmup.test.ts covers it).
    cfg.server = { ...cfg.server, warmup: 0 };
    writeFileSync(cfgPath, stringify(cfg));
    const caPem = readFileSync(join(dir, 'pki', 'ca.pem'), 'utf8');
    caSubject = { node: new X509Certificate(caPem).subject, stored: new x509.X509Certificate(caPem).subject };
    db = openSqlite(join(dir, 'gangway.db'));
    preexisting = new Set((db.prepare('SELECT serial FROM issued_certificates').all() as { serial: string }[]).map((r) => r.serial));
  }, 120_000);

  afterAll(async () => {
    if (child && isRunning(child)) await kill();
    db?.close();
    await masa?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test(`${PLEDGES} pledges enrol over TEAP-BRSKI while the server is killed ${KILLS} times at random points`, async () => {
    const started = Date.now();
    let stopping = false;
    /** Why attempts did not enrol, for the figures. */
    const reasons: Record<string, number> = {};

    async function enrol(t: Tracked, client: RadiusClient): Promise<void> {
      t.attempts++;
      const r = await runPledgeOverRadius(
        { credentials: t.credentials },
        { host: '127.0.0.1', port, secret: SECRET, callingStationId: t.callingStationId, client },
      );
      if (r.enrolled) {
        const e = r.pledge.enrollment!;
        const der = Buffer.from(e.ldevid);
        t.ldevid = { serial: canonicalSerialHex(new X509Certificate(der).serialNumber), der, keyPem: e.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
        return;
      }
      // An Access-Accept without an LDevID, or with keys that do not match, is a bug, not a kill.
      expect([t.deviceId, r.radius.outcome === 'accept' ? r.radius.reason ?? 'accepted without an enrolment' : 'not accepted']).toEqual([t.deviceId, 'not accepted']);
      t.interrupted++;
      const why = (r.radius.reason ?? r.radius.outcome).replace(/\d+/g, 'N').slice(0, 100);
      reasons[why] = (reasons[why] ?? 0) + 1;
    }

    let next = 0;
    const queue = (): Tracked | undefined => {
      for (let n = 0; n < tracked.length; n++) {
        const t = tracked[(next + n) % tracked.length]!;
        if (!t.ldevid && t.attempts < MAX_ATTEMPTS && !t.busy) {
          next = (next + n + 1) % tracked.length;
          return t;
        }
      }
      return undefined;
    };
    // Every kill must land while enrolments are in flight, however fast this machine is: once half
    // the pledges are enrolled, workers take no new pledge until all kills have happened.
    let releaseGate: () => void = () => undefined;
    const killGate = new Promise<void>((resolve) => { releaseGate = resolve; });
    const worker = async (): Promise<void> => {
      // A conversation cut off by a kill is retransmitted to the restarted server, which has never
      // heard of its State; a lost one is abandoned after about 14 s.
      const client = new RadiusClient({ host: '127.0.0.1', port, secret: SECRET, initialTimeoutMs: 2000, maxRetransmissions: 2 });
      try {
        while (!stopping) {
          if (tracked.filter((x) => x.ldevid).length >= PLEDGES / 2) await killGate;
          const t = queue();
          if (!t) return;
          t.busy = true;
          try {
            await enrol(t, client);
          } finally {
            t.busy = false;
          }
        }
      } finally {
        await client.close();
      }
    };

    await start();
    const workers = Array.from({ length: WORKERS }, () => worker());
    const allDone = Promise.all(workers);
    let kills = 0;
    try {
      // Random moments: a life of 1–4 s, long enough for enrolments to finish in it under load
      // and short enough that every step of one (voucher, MASA, CA) gets cut. Every other kill
      // aims at the narrowest window instead: right after the server logs an LDevID it issued,
      // around the time its Access-Accept leaves.
      while (kills < KILLS) {
        if (kills % 2 === 1) await logLine('TEAP-BRSKI: LDevID issued', 8000);
        else await new Promise((r) => setTimeout(r, 1000 + Math.floor(Math.random() * 3000)));
        await kill();
        kills++;
        check(tracked);
        await start();
      }
    } finally {
      // A failed check must not leave the pledges running after the test.
      releaseGate();
      if (kills < KILLS) stopping = true;
      await allDone;
    }
    const enrolledAt = Math.round((Date.now() - started) / 1000);
    // A last look with the server stopped the hard way too.
    await kill();
    const last = check(tracked);
    await start();

    // The server's copy is what the pledges hold: a sample authenticates with EAP-TLS and its LDevID
    // (the server refuses a certificate of its CA that is not in the store).
    const ca = readFileSync(join(dir, 'pki', 'ca.pem'), 'utf8');
    for (const t of tracked.filter((x) => x.ldevid).slice(0, 10)) {
      const peer = new EapTlsEapPeer({
        identity: t.deviceId,
        tls: { cert: new X509Certificate(t.ldevid!.der).toString(), key: t.ldevid!.keyPem, ca, servername: 'radius.test.example' },
      });
      const r = await runEapOverRadius(peer, { host: '127.0.0.1', port, secret: SECRET, userName: t.deviceId });
      expect([t.deviceId, r.outcome, r.mppeMatches]).toEqual([t.deviceId, 'accept', true]);
    }

    const enrolled = tracked.filter((t) => t.ldevid);
    const interrupted = tracked.filter((t) => t.interrupted > 0);
    const figures = {
      pledges: PLEDGES, kills, enrolled: enrolled.length, loggedAccepts: loggedAccepts.size,
      attempts: tracked.reduce((n, t) => n + t.attempts, 0),
      interruptedThenEnrolled: interrupted.filter((t) => t.ldevid).length,
      // Recorded, then killed before the pledge saw its Accept: the pledge enrolled again later.
      issuedNotDelivered: last.certificates - enrolled.length,
      certificatesIssued: last.certificates,
      enrolledAfterSeconds: enrolledAt,
      reasons,
      unfinished: tracked.filter((t) => !t.ldevid).map((t) => `${t.deviceId} after ${t.attempts}`),
    };
    process.stdout.write(`kill-9 BRSKI figures: ${JSON.stringify(figures)}\n`);
    expect(kills).toBe(KILLS);
    expect(figures.unfinished).toEqual([]);
    expect(last.enrolledDevices).toBe(PLEDGES);
    // Some enrolments were cut by the kills, and those pledges enrolled all the same.
    expect(figures.interruptedThenEnrolled).toBeGreaterThan(0);
  }, 600_000);
});
