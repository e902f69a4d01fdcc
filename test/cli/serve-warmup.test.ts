/**
 * `gangway serve` with a start-up warm-up, as an operator runs it (the built CLI): the warm-up runs
 * before the server listens and says so in one line, the server then answers an EAP-TLS
 * authentication, and nothing of the warm-up is left: not its temporary directory, not a line of
 * its log, not a row in the real server's database. SIGTERM during the warm-up stops it and the
 * start; SIGHUP during it is applied once the server runs.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stationId } from '../../src/bench/method.js';
import { demoEapTlsDriver } from '../helpers/demo-eap-tls.js';
import { initDemoDataDir, spawnServe, type ServeProcess } from '../helpers/demo-serve.js';
const SECRET = 'serve-warmup-secret';
const PER_METHOD = 5;
/** A slot no warm-up driver uses: its Calling-Station-Id marks the test's own authentication. */
const OWN_SLOT = 77;

interface Counts {
  audit: number;
  noobPeers: number;
  users: number;
  accessSessions: { identity: string; calling_station_id: string | null }[];
}

function countsOf(database: string): Counts {
  const db = new Database(database, { readonly: true });
  try {
    const count = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      audit: count('audit_log'),
      noobPeers: count('noob_peers'),
      users: count('users'),
      accessSessions: db.prepare('SELECT identity, calling_station_id FROM access_sessions').all() as Counts['accessSessions'],
    };
  } finally {
    db.close();
  }
}

describe('gangway serve with server.warmup', () => {
  let dir: string;
  let temp: string;
  let serve: ServeProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-serve-warmup-'));
    temp = join(dir, 'tmp');
    mkdirSync(temp);
  });

  afterAll(async () => {
    await serve?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('warms up before listening, then answers EAP-TLS; the warm-up leaves no directory, log line or row', async () => {
    const { data, port } = await initDemoDataDir(join(dir, 'data'), SECRET, (doc) => { doc.server.warmup = PER_METHOD; });
    const database = join(data, 'gangway.db');
    const before = countsOf(database);

    // The warm-up's directory goes under os.tmpdir(), which TMPDIR moves to where the test can look.
    const c = spawnServe(data, { env: { TMPDIR: temp } });
    serve = c;
    const started = performance.now();
    await c.listening();
    const lines = c.lines();
    const warm = lines.findIndex((l) => l.msg === 'start-up warm-up done');
    expect(warm).toBeGreaterThanOrEqual(0);
    expect(lines[warm]).toMatchObject({
      level: 30, methods: ['eap-tls', 'eap-tls13', 'teap-mschapv2', 'noob-completion', 'noob-reconnect'], perMethod: PER_METHOD, authentications: 5 * PER_METHOD, failed: 0,
    });
    expect(warm).toBeLessThan(lines.findIndex((l) => l.msg === 'gangway listening'));
    // The throwaway server's own log is silent: one store, one listener, the real ones.
    expect(lines.filter((l) => l.msg === 'store open').map((l) => l.store)).toEqual([database]);
    expect(lines.filter((l) => l.msg === 'gangway listening')).toHaveLength(1);
    expect(readdirSync(temp)).toEqual([]);
    // How long a start with this warm-up takes, for the report on what it costs.
    console.log(`serve with server.warmup ${PER_METHOD}: listening after ${Math.round(performance.now() - started)} ms; warm-up ${String(lines[warm]!.wallMs)} ms wall, ${String(lines[warm]!.cpuMs)} ms CPU`);

    const driver = await demoEapTlsDriver(data, port, SECRET, () => c.output());
    try {
      expect(await driver.run(0, OWN_SLOT)).toMatchObject({ ok: true });
    } finally {
      await driver.close();
    }

    expect(await c.stop()).toBe(0);
    serve = undefined;
    const after = countsOf(database);
    // The warm-up registered EAP-NOOB devices, used an account and authenticated from other
    // stations, all in its own database: here there is only the test's authentication.
    expect(after).toEqual({ ...before, accessSessions: [{ identity: 'demo-client', calling_station_id: stationId(OWN_SLOT) }] });
    expect(before.accessSessions).toEqual([]);
  }, 120_000);

  /** A data directory with `server.warmup: perMethod`, and `gangway serve` on it with TMPDIR moved to `tmp`. */
  async function serveWithWarmup(name: string, perMethod: number, args: string[] = []): Promise<{ c: ServeProcess; tmp: string; output: () => string }> {
    const tmp = join(dir, `${name}-tmp`);
    mkdirSync(tmp);
    const { data } = await initDemoDataDir(join(dir, name), SECRET, (doc) => { doc.server.warmup = perMethod; });
    const c = spawnServe(data, { args, env: { TMPDIR: tmp } });
    serve = c;
    return { c, tmp, output: c.output };
  }

  /** Until the warm-up's directory exists: the warm-up is under way (its signal handlers came first). */
  async function warmingUp(tmp: string, output: () => string): Promise<void> {
    for (let i = 0; i < 1000 && readdirSync(tmp).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    if (readdirSync(tmp).length === 0) throw new Error(`the warm-up did not begin:\n${output()}`);
  }

  test('with worker threads there is no warm-up (it cannot reach them), and one line says so', async () => {
    const { c, tmp } = await serveWithWarmup('workers', 20, ['--workers', '2']);
    await c.listening();
    const lines = c.lines();
    expect(lines.find((l) => l.msg === 'gangway listening')).toMatchObject({ workers: 2 });
    expect(lines.find((l) => l.msg === 'start-up warm-up skipped: EAP runs in worker threads, which it cannot reach')).toMatchObject({ level: 30, workers: 2 });
    expect(lines.some((l) => l.msg === 'start-up warm-up done')).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
    await c.kill();
    serve = undefined;
  }, 60_000);

  test('SIGTERM during the warm-up: it stops, its directory is removed, the server never listens and exits 0', async () => {
    const { c, tmp, output } = await serveWithWarmup('stopped', 10_000);
    await warmingUp(tmp, output);
    expect(await c.stop()).toBe(0);
    serve = undefined;
    expect(readdirSync(tmp)).toEqual([]);
    expect(output()).toContain('shutting down');
    expect(output()).not.toContain('gangway listening');
    expect(output()).not.toContain('start-up warm-up');
  }, 60_000);

  test('SIGHUP during the warm-up does not end the process: the configuration is reloaded once the server runs', async () => {
    const { c, tmp, output } = await serveWithWarmup('reloaded', 20);
    await warmingUp(tmp, output);
    c.child.kill('SIGHUP');
    for (let i = 0; i < 600 && !output().includes('configuration reloaded'); i++) await new Promise((r) => setTimeout(r, 100));
    const msgs = output().split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('start-up warm-up done');
    expect(msgs.indexOf('gangway listening')).toBeGreaterThan(msgs.indexOf('start-up warm-up done'));
    expect(msgs.indexOf('configuration reloaded')).toBeGreaterThan(msgs.indexOf('gangway listening'));
    await c.kill();
    serve = undefined;
  }, 60_000);
});
