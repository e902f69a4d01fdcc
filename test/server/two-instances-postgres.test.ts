/**
 * Many servers (docs/scaling.md): two `gangway serve` processes, A and B, on one fresh PostgreSQL
 * database, made from one `gangway init` (the same CA, keys and configuration but their listen
 * ports), behind one FreeRADIUS 3.2 proxy that balances them keyed on Calling-Station-Id
 * (deploy/freeradius/many-servers/proxy.conf). Every part is a separate process on loopback.
 *
 *  - An EAP-NOOB device registers through A and reconnects through B. The proxy chooses the server
 *    by a hash of the Calling-Station-Id, so the device is sent to B by reconnecting with a station
 *    id that hashes to B (as a device seen through another port would); the test computes the
 *    proxy's hash and checks each server's log for who served which conversation.
 *  - An LDevID issued by A (BRSKI/EST enrolment over HTTPS at A, `gangway pledge --https`, voucher
 *    from `gangway masa`) authenticates by EAP-TLS (Debian's eapol_test) through the proxy at B;
 *    revoked with `gangway brski revoke` on A's data directory, B refuses it.
 *  - Re-enrolments (EST simplereenroll) sent to A and B at once: every certificate has its own
 *    serial, all recorded once in the shared table.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { certificatesOfPkcs7 } from '../../src/peer/brski/pkcs7.js';
import { migrations } from '../../src/store/postgres/migrations/index.js';
import { describeEapolFailure, runEapolTest } from '../helpers/eapol-test.js';
import { type FreeradiusProxy, freeradiusTools, startFreeradiusProxy } from '../helpers/freeradius-proxy.js';
import { NoobDevice } from '../helpers/noob-device.js';
import { createDatabase, dropDatabase, freshName, requirePostgres } from '../helpers/postgres.js';
import { freeUdpPort, terminate } from '../helpers/proc.js';
import { requireTool } from '../helpers/require-tool.js';
import { makeCsr } from '../pki/ca/helpers.js';

const main = resolve(__dirname, '../../dist/cli/main.js');
const server = requirePostgres();
const fr = freeradiusTools();
const eapolTest = requireTool('eapol_test');
const ready = server !== undefined && fr !== undefined && eapolTest !== undefined && existsSync(main);
const PASSWORD_ENV = 'GANGWAY_TEST_PG_PASSWORD';
const NAS_SECRET = 'nas-to-pool-secret-01';

/** FNV-1a, 32 bits: FreeRADIUS's fr_hash, which keyed-balance takes of Load-Balance-Key modulo the pool size. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** The first station id of `format(i)` that the two-server pool sends to server `index` (0: A, 1: B). */
function stationFor(index: 0 | 1, format: (i: number) => string): string {
  for (let i = 1; ; i++) if (fnv1a(format(i)) % 2 === index) return format(i);
}
const hex = (i: number): string => i.toString(16).padStart(2, '0');
/** Our NOOB device sends this text as Calling-Station-Id. */
const noobStation = (i: number): string => `02-00-5e-00-53-${hex(i)}`;
/** What eapol_test sends as Calling-Station-Id for `-M 02:00:5e:00:54:xx`: upper case, dash-separated. */
const eapolStation = (i: number): string => `02-00-5E-00-54-${hex(i).toUpperCase()}`;

function gangway(args: string[]): { status: number | null; stdout: string; stderr: string } {
  // The environment named explicitly: jest's process.env (where the password variable is set) is not the process's own.
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000, env: process.env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function freeTcpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** A UDP port p with p + 1 free too: Gangway's authentication and accounting ports, as the proxy's home_server expects them. */
async function freeUdpPortPair(): Promise<number> {
  for (;;) {
    const p = await freeUdpPort();
    if (p >= 65535) continue;
    const free = await new Promise<boolean>((res) => {
      const s = createSocket('udp4');
      s.once('error', () => res(false));
      s.bind(p + 1, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (free) return p;
  }
}

interface Daemon {
  child: ChildProcess;
  log: () => string;
  /** Parsed JSON log lines so far. */
  lines(): Record<string, unknown>[];
  /** Waits (up to 5 s) until a line matches, for lines written after the event. */
  lineWhen(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined>;
}

async function daemon(args: string[], readyText: string, env: NodeJS.ProcessEnv = process.env): Promise<Daemon> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 300 && !out.includes(readyText); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!out.includes(readyText)) {
    child.kill('SIGKILL');
    throw new Error(`${args.join(' ')} did not start:\n${out}`);
  }
  const lines = (): Record<string, unknown>[] =>
    out.split('\n').filter((l) => l.startsWith('{')).map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
  return {
    child,
    log: () => out,
    lines,
    lineWhen: async (match) => {
      for (let i = 0; i < 100; i++) {
        const found = lines().find(match);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
      return undefined;
    },
  };
}

/** Access-Accept and Access-Reject lines of a server's log. */
const decisions = (d: Daemon): Record<string, unknown>[] => d.lines().filter((l) => l.msg === 'Access-Accept' || l.msg === 'Access-Reject');

(ready ? describe : describe.skip)('two gangway serve on one PostgreSQL behind a FreeRADIUS keyed-balance proxy', () => {
  jest.setTimeout(180_000);
  let dir: string;
  let database: string;
  let url: string;
  let db: pg.Client;
  let masa: Daemon | undefined;
  let a: Daemon | undefined;
  let b: Daemon | undefined;
  let proxy: FreeradiusProxy | undefined;
  let httpsA: number;
  let httpsB: number;
  const dataDir = (name: string): string => join(dir, name);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-two-'));
    database = freshName('gw_two');
    url = await createDatabase(server!, database);
    if (server!.password !== undefined) process.env[PASSWORD_ENV] = server!.password;
    db = new pg.Client({ connectionString: url, ...(server!.password !== undefined ? { password: server!.password } : {}) });
    await db.connect();

    const masaPort = await freeTcpPort();
    masa = await daemon(['masa', '--data', dataDir('masa'), '--listen', `127.0.0.1:${masaPort}`], 'MASA listening');
    const idevid = gangway(['masa', 'issue-idevid', '--data', dataDir('masa'), '--serial', 'TWO-0001', '--out', dataDir('TWO-0001')]);
    expect({ status: idevid.status, err: idevid.status === 0 ? '' : idevid.stderr }).toEqual({ status: 0, err: '' });

    // One `gangway init`; B is a copy of A's data directory with its own ports.
    const portA = await freeUdpPortPair();
    const portB = await freeUdpPortPair();
    httpsA = await freeTcpPort();
    httpsB = await freeTcpPort();
    const init = gangway(['init', dataDir('a'), '--radius-port', String(portA), '--accounting-port', String(portA + 1), '--portal-port', '0', '--json']);
    expect(init.status).toBe(0);
    const secret = (JSON.parse(init.stdout) as { radius: { secret: string } }).radius.secret;
    const configure = (name: string, port: number, https: number): void => {
      const path = join(dataDir(name), 'gangway.yaml');
      const cfg = parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
      cfg.server!.listen = [`127.0.0.1:${port}`];
      cfg.accounting = { listen: [`127.0.0.1:${port + 1}`] };
      cfg.store = { kind: 'postgres', url, ...(server!.password !== undefined ? { passwordEnv: PASSWORD_ENV } : {}) };
      cfg.brski = {
        manufacturers: [{
          name: 'acme', ca: join(dataDir('TWO-0001'), 'manufacturer-ca.pem'), masaCa: join(dataDir('TWO-0001'), 'masa-ca.pem'),
          approval: 'auto', masaUrl: `127.0.0.1:${masaPort}`,
        }],
        masa: { timeoutMs: 4000, retries: 0 },
        https: `127.0.0.1:${https}`,
        // The test re-enrols at both servers at once, right after the enrolment, for distinct serials.
        enrolmentLimit: { certificates: 0 },
      };
      writeFileSync(path, stringify(cfg), { mode: 0o600 });
    };
    configure('a', portA, httpsA);
    cpSync(dataDir('a'), dataDir('b'), { recursive: true });
    chmodSync(dataDir('b'), 0o700);
    configure('b', portB, httpsB);
    const alice = gangway(['users', 'add', 'alice', '--data', dataDir('a'), '--password', 'alice-password']);
    expect({ status: alice.status, err: alice.stderr }).toEqual({ status: 0, err: '' });

    // Started together: the migrations (already run by `users add`) and the CA directory are shared.
    [a, b] = await Promise.all([daemon(['serve', '--data', dataDir('a')], 'gangway listening'), daemon(['serve', '--data', dataDir('b')], 'gangway listening')]);
    proxy = await startFreeradiusProxy({ homeHost: '127.0.0.1', homePort: portA, homeB: { host: '127.0.0.1', port: portB }, homeSecret: secret, clientSecret: NAS_SECRET, tools: fr! });
  });

  afterAll(async () => {
    await proxy?.stop();
    for (const d of [a, b, masa]) if (d) await terminate(d.child);
    await db?.end();
    if (server) await dropDatabase(server, database);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `fn`; returns which server decided the conversations it caused (by their new Access-Accept/Reject lines). */
  async function servedBy<T>(fn: () => Promise<T>): Promise<{ result: T; a: Record<string, unknown>[]; b: Record<string, unknown>[] }> {
    const [na, nb] = [decisions(a!).length, decisions(b!).length];
    const result = await fn();
    await new Promise((r) => setTimeout(r, 300));
    return { result, a: decisions(a!).slice(na), b: decisions(b!).slice(nb) };
  }

  test('both servers use the store: one set of migrations, recorded once', async () => {
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
    expect(Number(rows[0]!.n)).toBe(migrations.length);
    for (const d of [a!, b!]) expect(d.lines().find((l) => l.msg === 'store open')?.store).toMatch(/^postgres:\/\/.*\/gw_two_/);
  });

  test('an EAP-NOOB device registered through A (its OOB delivered with B\'s CLI) reconnects through B', async () => {
    const toA = stationFor(0, noobStation);
    const toB = stationFor(1, noobStation);
    const device = new NoobDevice({ name: 'pool-device', host: proxy!.host, port: proxy!.port, secret: NAS_SECRET, callingStationId: toA, initialTimeoutMs: 3000 });

    const initial = await servedBy(() => device.connect());
    expect(initial.result).toMatchObject({ exchange: 'initial', result: 'failure' });
    expect(initial.result.state.state).toBe(1);
    expect({ a: initial.a.length > 0, b: initial.b.length }).toEqual({ a: true, b: 0 });
    const peerId = initial.result.state.ephemeral!.peerId;

    const oob = (await device.shownOob())!;
    const delivered = gangway(['noob-oob', oob.url, '--user', 'alice', '--data', dataDir('b'), '--json']);
    expect({ status: delivered.status, err: delivered.stderr }).toMatchObject({ status: 0 });

    const completion = await servedBy(() => device.connect());
    expect(completion.result).toMatchObject({ exchange: 'completion', result: 'success', mppe: 'match' });
    expect(completion.a.map((l) => [l.msg, l.identity])).toContainEqual(['Access-Accept', peerId]);
    expect(completion.b).toEqual([]);

    const reconnect = await servedBy(() => device.connect({ callingStationId: toB }));
    expect(reconnect.result).toMatchObject({ exchange: 'reconnect', result: 'success', mppe: 'match' });
    expect(reconnect.b.map((l) => [l.msg, l.identity, l.account])).toEqual([['Access-Accept', peerId, 'alice']]);
    expect(reconnect.a).toEqual([]);

    const { rows } = await db.query<{ state: number; account: string; version: number; last_authenticated_at: Date }>(
      'SELECT state, account, version, last_authenticated_at FROM noob_peers WHERE peer_id = $1',
      [peerId],
    );
    expect(rows).toMatchObject([{ state: 4, account: 'alice' }]);
    expect(rows[0]!.version).toBeGreaterThanOrEqual(3);
  });

  test('an LDevID issued by A (BRSKI/EST at A) authenticates by EAP-TLS at B; re-enrolments on both at once get distinct serials; revoked at A, B refuses it', async () => {
    const out = dataDir('ldevid');
    const enrol = gangway(['pledge', '--idevid', dataDir('TWO-0001'), '--https', `https://127.0.0.1:${httpsA}`, '--out', out, '--json']);
    expect({ status: enrol.status, out: enrol.stdout, err: enrol.stderr }).toMatchObject({ status: 0 });
    expect(await a!.lineWhen((l) => l.msg === 'EST: LDevID issued')).toBeDefined();
    const ldevid = new X509Certificate(readFileSync(join(out, 'ldevid.pem')));
    const serial = ldevid.serialNumber.toLowerCase().replace(/^(00)+/, '');
    expect((await db.query('SELECT device_id FROM issued_certificates WHERE serial = $1', [serial])).rows).toEqual([{ device_id: 'acme:TWO-0001' }]);

    const conf = `network={\n  key_mgmt=WPA-EAP\n  eap=TLS\n  identity="acme:TWO-0001"\n  ca_cert="${join(out, 'ca.pem')}"\n  client_cert="${join(out, 'ldevid.pem')}"\n  private_key="${join(out, 'ldevid.key')}"\n}\n`;
    const viaB = ['-M', stationFor(1, eapolStation).replace(/-/g, ':')];
    const tls = await servedBy(() => runEapolTest({ binary: eapolTest!, config: conf, port: proxy!.port, secret: NAS_SECRET, timeoutSec: 20, extraArgs: viaB }));
    expect({ success: tls.result.success, detail: tls.result.success ? '' : describeEapolFailure(tls.result) }).toEqual({ success: true, detail: '' });
    expect(tls.result.mppeOk).toBe(1);
    expect({ a: tls.a, b: tls.b.map((l) => [l.msg, l.method]) }).toEqual({ a: [], b: [['Access-Accept', 'eap-tls']] });

    // EST simplereenroll with the LDevID, ten at each server at once.
    const reenrol = async (port: number): Promise<string> => {
      const csr = Buffer.from((await makeCsr()).der).toString('base64');
      const body = await new Promise<string>((res, rej) => {
        const req = request({
          host: '127.0.0.1', port, servername: 'gangway.local', method: 'POST', path: '/.well-known/est/simplereenroll',
          ca: readFileSync(join(out, 'ca.pem')), cert: readFileSync(join(out, 'ldevid.pem')), key: readFileSync(join(out, 'ldevid.key')),
          headers: { 'Content-Type': 'application/pkcs10' },
        }, (r) => {
          let text = '';
          r.on('data', (d: Buffer) => (text += d.toString()));
          r.on('end', () => (r.statusCode === 200 ? res(text) : rej(new Error(`EST ${r.statusCode}: ${text}`))));
        });
        req.once('error', rej);
        req.end(csr);
      });
      const issued = certificatesOfPkcs7(new Uint8Array(Buffer.from(body, 'base64'))).map((der) => new X509Certificate(der)).find((c) => c.subject.includes('acme:TWO-0001'));
      return issued!.serialNumber.toLowerCase().replace(/^(00)+/, '');
    };
    const serials = await Promise.all(Array.from({ length: 20 }, (_, i) => reenrol(i % 2 ? httpsA : httpsB)));
    expect(new Set([serial, ...serials]).size).toBe(21);
    const recorded = await db.query<{ n: string; distinct: string }>("SELECT count(*) AS n, count(DISTINCT serial) AS distinct FROM issued_certificates WHERE device_id = 'acme:TWO-0001'");
    expect(recorded.rows[0]).toEqual({ n: '21', distinct: '21' });
    const reenrolled = (d: Daemon) => d.lines().filter((l) => l.msg === 'EST: LDevID issued' && l.reenroll === true).length;
    expect([reenrolled(a!), reenrolled(b!)]).toEqual([10, 10]);

    const revoke = gangway(['brski', 'revoke', ldevid.serialNumber, '--data', dataDir('a'), '--reason', 'keyCompromise']);
    expect({ status: revoke.status, err: revoke.stderr }).toMatchObject({ status: 0 });
    const refused = await servedBy(() => runEapolTest({ binary: eapolTest!, config: conf, port: proxy!.port, secret: NAS_SECRET, timeoutSec: 20, extraArgs: viaB }));
    expect(refused.result.success).toBe(false);
    expect(refused.a).toEqual([]);
    expect(refused.b.map((l) => [l.msg, l.reason])).toEqual([['Access-Reject', 'certificate revoked']]);
  });
});
