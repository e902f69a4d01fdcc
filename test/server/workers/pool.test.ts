/**
 * The worker pool itself (src/server/workers/pool.ts), two real worker threads and an EAP method
 * plugin that blocks a thread's event loop (test/fixtures/blocking-plugin.mjs): a worker that stops
 * answering is lost (pings, or a reload's prepare past its time), reported, terminated and routed
 * around; a request the RADIUS layer gave up on is let go; a late or lost worker's counters still
 * count at a scrape; workers' log lines keep their worker and module, a conversation's bindings as
 * fields. Every wait is for an event (a marker file, a loss), bounded by the test's timeout.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { initDataDir } from '../../../src/cli/init.js';
import { loadConfig, type GangwayConfig } from '../../../src/config/config.js';
import { encodeEap, EapType } from '../../../src/eap-methods/eap-packet.js';
import { PasswordLockout } from '../../../src/eap-methods/password-lockout.js';
import type { FamilySnapshot } from '../../../src/metrics/registry.js';
import { nasAccessRequestAttributes } from '../../../src/peer/nas-request.js';
import type { AccessReply } from '../../../src/radius/access-reply.js';
import { RadiusCode, buildAccessRequest, decodePacket } from '../../../src/radius/index.js';
import { readTlsMaterial } from '../../../src/server/eap-build.js';
import { WorkerPool, type WorkerPoolTimings } from '../../../src/server/workers/pool.js';
import type { WorkerMaterial } from '../../../src/server/workers/protocol.js';
import { LOG_CAPTURE_ENV } from '../../../src/util/log-capture.js';
import { SheddingMonitor } from '../../../src/util/shedding.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { TEST_RADIUS_SECRET } from '../../helpers/test-secrets.js';

const plugin = join(__dirname, '..', '..', 'fixtures', 'blocking-plugin.mjs');
const CLIENT = { name: 'localhost', address: '127.0.0.1' };

interface TestPool {
  pool: WorkerPool;
  lost: Error[];
  log: MemoryLog;
  markers: string;
  config: GangwayConfig;
  material: WorkerMaterial;
  close(): Promise<void>;
}

async function startPool(timings: Partial<WorkerPoolTimings>): Promise<TestPool> {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-pool-'));
  const init = await initDataDir(dir, { radiusPort: 0, secret: TEST_RADIUS_SECRET, serverName: 'radius.test.example' });
  const markers = join(dir, 'markers');
  mkdirSync(markers);
  const doc = parse(readFileSync(init.config, 'utf8')) as Record<string, unknown>;
  doc.eap = { plugins: [{ module: plugin, options: { markers } }], rules: [{ realm: 'block.test', methods: ['blocking'] }] };
  writeFileSync(init.config, stringify(doc));
  const config = loadConfig(dir);
  const tls = readTlsMaterial(config, undefined);
  const material: WorkerMaterial = { cert: tls.cert, key: tls.key, ca: tls.ca, crl: [] };
  const log = new MemoryLog();
  const lost: Error[] = [];
  const { pool } = await WorkerPool.start({
    count: 2, config, material, logLevel: 'info', log, lockout: () => new PasswordLockout(), shedding: new SheddingMonitor(), onLost: (err) => lost.push(err), timings,
  });
  return {
    pool, lost, log, markers, config, material,
    async close() {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let stationNo = 0;
const mac = (): string => `02-00-00-88-00-${(++stationNo & 0xff).toString(16).padStart(2, '0')}`;

/** An EAP-Response/Identity (or, with `tls`, an EAP-TLS Response with no data) for the pool. */
function handle(p: TestPool, user: string, station: string, opts: { state?: Uint8Array; tls?: boolean; deadline?: number } = {}): Promise<AccessReply | null> {
  const eap = opts.tls
    ? encodeEap({ code: 2, identifier: 1, type: EapType.Tls, data: Uint8Array.of(0) })
    : encodeEap({ code: 2, identifier: 0, type: EapType.Identity, data: Buffer.from(user) });
  const built = buildAccessRequest({ identifier: stationNo & 0xff, attributes: nasAccessRequestAttributes({ userName: user, callingStationId: station }, eap, opts.state), secret: TEST_RADIUS_SECRET });
  return p.pool.handle(built.bytes, decodePacket(built.bytes), CLIENT, opts.deadline);
}

/** A new conversation's worker: its State's first octet. */
async function begin(p: TestPool, user: string, station: string): Promise<{ worker: number; state: Uint8Array }> {
  const reply = await handle(p, user, station);
  expect(reply?.code).toBe(RadiusCode.AccessChallenge);
  return { worker: reply!.state![0]!, state: reply!.state! };
}

/** A request's end, held from the start: the reply's code, or the reason it failed. */
function outcome(pending: Promise<AccessReply | null>): Promise<string> {
  return pending.then((r) => `answered ${String(r?.code)}`, (err: Error) => err.message);
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`waited in vain for ${what}`);
}

function started(families: FamilySnapshot[], method: string): number {
  let n = 0;
  for (const f of families) {
    if (f.name !== 'gangway_eap_methods_started_total') continue;
    for (const c of f.children) if (c.values[0] === method && 'value' in c.of) n += c.of.value;
  }
  return n;
}

describe('WorkerPool', () => {
  test('a request the RADIUS layer gave up on is let go at its deadline; the worker goes on', async () => {
    const p = await startPool({ pingMs: 50 });
    try {
      await expect(handle(p, 'hang@block.test', mac(), { deadline: Date.now() + 200 })).rejects.toThrow(/abandoned by the RADIUS layer/);
      // Both workers still answer, and none was lost.
      const workers = new Set<number>();
      for (let i = 0; i < 2; i++) workers.add((await begin(p, 'demo-client', mac())).worker);
      expect(workers).toEqual(new Set([0, 1]));
      expect(p.lost).toEqual([]);
    } finally {
      await p.close();
    }
  }, 30_000);

  test('a scrape counts a late worker with the numbers it last sent: the sums never go down', async () => {
    const p = await startPool({ scrapeMs: 200, pingMs: 60_000, lostAfterMs: 600_000 });
    try {
      for (let i = 0; i < 2; i++) await begin(p, 'demo-client', mac());
      expect(started(await p.pool.scrape(), 'eap-tls')).toBe(2);
      const blocked = handle(p, 'block-3000@block.test', mac());
      await until('the block to begin', () => existsSync(join(p.markers, 'block-3000@block.test')));
      // One worker is busy for 3 s: it misses this scrape, and its last numbers stand in.
      expect(started(await p.pool.scrape(), 'eap-tls')).toBe(2);
      expect((await blocked)?.code).toBe(RadiusCode.AccessChallenge);
      const after = await p.pool.scrape();
      expect(started(after, 'eap-tls')).toBe(2);
      expect(started(after, 'blocking')).toBe(1);
    } finally {
      await p.close();
    }
  }, 30_000);

  test('a worker whose event loop is blocked is lost by its unanswered pings: reported, and routed around', async () => {
    const p = await startPool({ pingMs: 100, lostAfterMs: 1500, scrapeMs: 500 });
    try {
      const before = [await begin(p, 'demo-client', mac()), await begin(p, 'demo-client', mac())];
      expect(new Set(before.map((b) => b.worker))).toEqual(new Set([0, 1]));
      expect(started(await p.pool.scrape(), 'eap-tls')).toBe(2);
      const stuckStation = mac();
      const stuck = outcome(handle(p, 'block-forever@block.test', stuckStation));
      await until('the block to begin', () => existsSync(join(p.markers, 'block-forever@block.test')));
      await until('the worker to be lost', () => p.lost.length > 0);
      expect(await stuck).toMatch(/stopped answering/);
      expect(p.lost).toHaveLength(1);
      const line = p.log.lines.find((l) => /^worker thread [01] answered nothing for [0-9]+ ms/.test(l.msg ?? ''));
      expect(line).toBeDefined();
      const gone = (line!.obj as { worker: number }).worker;
      const survivor = 1 - gone;
      expect(p.pool.alive).toBe(1);
      // New conversations, the lost worker's stations' too, go to the survivor.
      for (let i = 0; i < 3; i++) expect((await begin(p, 'demo-client', mac())).worker).toBe(survivor);
      expect((await begin(p, 'demo-client', stuckStation)).worker).toBe(survivor);
      // A State of the lost worker is unknown: the survivor rejects it.
      const orphan = before.find((b) => b.worker === gone)!;
      expect((await handle(p, 'demo-client', mac(), { state: orphan.state, tls: true }))?.code).toBe(RadiusCode.AccessReject);
      // The lost worker's counters still count; the survivor's four new conversations are added.
      expect(started(await p.pool.scrape(), 'eap-tls')).toBe(6);
      await expect(p.pool.reload(p.config, p.material)).resolves.toMatchObject({ methods: expect.arrayContaining(['eap-tls', 'blocking']) });
    } finally {
      await p.close();
    }
  }, 60_000);

  test('a prepare a blocked worker does not answer in time loses it and fails the reload; the next reload is not held up', async () => {
    const p = await startPool({ pingMs: 100, lostAfterMs: 600_000, controlMs: 1000 });
    try {
      const stuck = outcome(handle(p, 'block-forever@block.test', mac()));
      await until('the block to begin', () => existsSync(join(p.markers, 'block-forever@block.test')));
      await expect(p.pool.reload(p.config, p.material)).rejects.toThrow(/did not answer prepare within 1000 ms/);
      expect(await stuck).toMatch(/did not answer prepare/);
      expect(p.lost).toHaveLength(1);
      expect(p.pool.alive).toBe(1);
      await expect(p.pool.reload(p.config, p.material)).resolves.toMatchObject({ methods: expect.arrayContaining(['eap-tls']) });
    } finally {
      await p.close();
    }
  }, 30_000);

  test('a worker\'s log line keeps its worker and module; a conversation\'s bindings travel as fields', async () => {
    const p = await startPool({});
    try {
      await begin(p, 'someone@block.test', mac());
      await until('the plugin\'s line', () => p.log.lines.some((l) => l.msg === 'blocking plugin session started'));
      const line = p.log.lines.find((l) => l.msg === 'blocking plugin session started')!;
      expect(line.obj).toMatchObject({ worker: expect.any(Number), module: 'eap', conversation: expect.any(String), method: 'blocking', identity: 'someone@block.test' });
    } finally {
      await p.close();
    }
  }, 30_000);

  test('under the suite\'s log capture, workers\' debug lines reach the capture though the log is at info', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-pool-capture-'));
    const was = process.env[LOG_CAPTURE_ENV];
    process.env[LOG_CAPTURE_ENV] = dir;
    let p: TestPool | undefined;
    try {
      p = await startPool({});
      await begin(p, 'demo-client', mac());
      const captured = (): string => readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
      await until('the EAP step line in the capture', () => /"msg":"EAP step"/.test(captured()));
      const step = captured().split('\n').filter((l) => l.includes('"msg":"EAP step"')).map((l) => JSON.parse(l) as Record<string, unknown>)[0]!;
      expect(step).toMatchObject({ level: 20, module: 'access', worker: expect.any(Number) });
      // Not in the log itself, which is at info.
      expect(p.log.lines.some((l) => l.msg === 'EAP step')).toBe(false);
    } finally {
      if (was === undefined) delete process.env[LOG_CAPTURE_ENV];
      else process.env[LOG_CAPTURE_ENV] = was;
      await p?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
