/**
 * Crash safety as an operator meets it (issue 8.4): `gangway serve` (the built CLI) loads a plugin
 * with deliberate faults. A fault inside a call the core makes is one conversation's Access-Reject
 * and an error line, and the server keeps serving; a fault that escapes every call (a stray timer,
 * an unhandled rejection) is logged and the process exits non-zero for the service manager.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import { nasAccessRequestAttributes } from '../../src/peer/nas-request.js';
import { AttributeType, RadiusClient, RadiusCode, getAttribute, joinEapMessage } from '../../src/radius/index.js';
import { freeUdpPort, terminate } from '../helpers/proc.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const plugin = join(__dirname, '..', 'fixtures', 'faulty-plugin.mjs');
const SECRET = 'crash-safety-secret';
const CONTAINED = ['create-throw', 'start-throw', 'start-reject', 'step-throw', 'step-reject', 'step-undefined', 'step-no-msk', 'step-bad-kind', 'dispose-throw'];
const STRAY = ['stray-timer', 'stray-rejection'];
/** Only with worker threads: it blocks the thread that runs it. */
const STUCK = 'stuck-native';

describe('gangway serve with a faulty plugin', () => {
  let dir: string;
  let port: number;
  let child: ChildProcess | undefined;
  let out = '';

  async function start(...extra: string[]): Promise<ChildProcess> {
    out = '';
    const c = spawn(process.execPath, [main, 'serve', '--data', dir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    for (let i = 0; i < 300 && !out.includes('gangway listening'); i++) await new Promise((r) => setTimeout(r, 100));
    if (!out.includes('gangway listening')) throw new Error(`server did not start:\n${out}`);
    child = c;
    return c;
  }

  const lines = (): Record<string, unknown>[] =>
    out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

  /** Identity, then one Response of whatever type the server asked for. */
  async function authenticate(user: string, station: string): Promise<number> {
    const client = new RadiusClient({ host: '127.0.0.1', port, secret: SECRET, initialTimeoutMs: 2000, maxRetransmissions: 0 });
    try {
      const nas = { userName: user, callingStationId: station };
      const first = await client.send({ attributes: nasAccessRequestAttributes(nas, encodeEap({ code: 2, identifier: 1, type: EapType.Identity, data: Buffer.from(user) }), undefined) });
      if (first.packet.code !== RadiusCode.AccessChallenge) return first.packet.code;
      const req = decodeEap(joinEapMessage(first.packet)!);
      const answer = encodeEap({ code: 2, identifier: req.identifier, type: req.code === 1 ? req.type : 0, data: Buffer.from('fail') });
      const second = await client.send({ attributes: nasAccessRequestAttributes(nas, answer, getAttribute(first.packet, AttributeType.State)) });
      return second.packet.code;
    } finally {
      await client.close();
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-crash-'));
    port = await freeUdpPort();
    const init = spawnSync(process.execPath, [main, 'init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', SECRET], { encoding: 'utf8' });
    expect(init.status).toBe(0);
    const cfg = join(dir, 'gangway.yaml');
    const doc = parse(readFileSync(cfg, 'utf8')) as { eap: Record<string, unknown> };
    const faults = [...CONTAINED, ...STRAY, STUCK, 'none'];
    doc.eap.plugins = faults.map((fault, i) => ({ module: plugin, options: { fault, type: 200 + i, name: `faulty-${fault}` } }));
    doc.eap.rules = faults.map((fault) => ({ realm: `${fault}.test`, methods: [`faulty-${fault}`] }));
    writeFileSync(cfg, stringify(doc));
  }, 30_000);

  afterAll(async () => {
    if (child) await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  });

  test('faults inside method calls: Access-Reject each, an error line each, and the server keeps serving', async () => {
    await start();
    for (const [i, fault] of CONTAINED.entries()) {
      expect([fault, await authenticate(`dev@${fault}.test`, `02-00-00-00-01-${i.toString(16).padStart(2, '0')}`)]).toEqual([fault, RadiusCode.AccessReject]);
    }
    expect(await authenticate('dev@none.test', '02-00-00-00-02-00')).toBe(RadiusCode.AccessAccept);
    expect(child!.exitCode).toBeNull();
    await new Promise((r) => setTimeout(r, 200));
    const errs = lines().filter((l) => l.level === 50);
    for (const fault of CONTAINED) expect(errs.some((l) => l.method === `faulty-${fault}`)).toBe(true);
  }, 30_000);

  test.each(STRAY)('%s escapes every call: logged, and the process exits 70', async (fault) => {
    if (!child || child.exitCode !== null) await start();
    const c = child!;
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    // The conversation itself is answered; the fault fires afterwards, outside any call of ours.
    await authenticate(`dev@${fault}.test`, '02-00-00-00-03-00').catch(() => undefined);
    expect(await exited).toBe(70);
    const fatal = lines().find((l) => typeof l.msg === 'string' && (l.msg as string).includes('exiting so that the service manager starts a clean process'));
    expect(fatal).toBeDefined();
    expect(JSON.stringify(fatal)).toContain(`faulty-plugin: stray`);
    child = undefined;
  }, 30_000);

  // FAILS at a1273d8: the pool lost the stuck worker and the crash policy called exit, which then
  // waited for that thread for good (minutes here; forever for a deadlock): no exit, no restart.
  test('a worker thread stuck in native code: the worker is lost, and the exit that follows, which waits for that thread, is ended by the watchdog with status 70', async () => {
    if (child && child.exitCode === null) await terminate(child);
    const c = await start('--workers', '2');
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    await authenticate(`dev@${STUCK}.test`, '02-00-00-00-04-00').catch(() => undefined);
    // The pool loses a worker silent for 15 s (pinged every 5 s); the exit then gets 5 s.
    expect(await exited).toBe(70);
    expect(lines().some((l) => typeof l.msg === 'string' && /worker thread \d answered nothing/.test(l.msg as string))).toBe(true);
    expect(out).toContain('gangway: the process did not finish exiting within 5000 ms (a thread is stuck); ending it with status 70');
    child = undefined;
  }, 60_000);
});
