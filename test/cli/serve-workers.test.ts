/**
 * `gangway serve --workers 2` as an operator runs it (the built CLI): SIGHUP reaches both worker
 * threads, and a worker thread that dies (a plugin's stray fault, or the thread exiting) or hangs (a
 * plugin blocking its event loop: pings unanswered for 15 s) is logged and ends the process with
 * status 70 for the service manager, as any unexpected error does.
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
const blocking = join(__dirname, '..', 'fixtures', 'blocking-plugin.mjs');
const SECRET = 'serve-workers-secret';
const FAULTS = ['none', 'stray-timer', 'exit'];

describe('gangway serve --workers 2', () => {
  let dir: string;
  let port: number;
  let child: ChildProcess | undefined;
  let out = '';
  let station = 0;

  async function start(): Promise<ChildProcess> {
    out = '';
    const c = spawn(process.execPath, [main, 'serve', '--data', dir, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    for (let i = 0; i < 150 && !out.includes('gangway listening'); i++) await new Promise((r) => setTimeout(r, 100));
    if (!out.includes('gangway listening')) throw new Error(`server did not start:\n${out}`);
    child = c;
    return c;
  }

  const lines = (): Record<string, unknown>[] =>
    out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

  /** Identity; then, when `answer`, one Response of the type asked for. The first Challenge's EAP type and State's worker, or the final code. */
  async function authenticate(user: string, answer: boolean): Promise<{ code: number; type?: number; worker?: number }> {
    const client = new RadiusClient({ host: '127.0.0.1', port, secret: SECRET, initialTimeoutMs: 2000, maxRetransmissions: 0 });
    try {
      station++;
      const nas = { userName: user, callingStationId: `02-00-00-00-09-${(station & 0xff).toString(16).padStart(2, '0')}` };
      const first = await client.send({ attributes: nasAccessRequestAttributes(nas, encodeEap({ code: 2, identifier: 1, type: EapType.Identity, data: Buffer.from(user) }), undefined) });
      if (first.packet.code !== RadiusCode.AccessChallenge) return { code: first.packet.code };
      const req = decodeEap(joinEapMessage(first.packet)!);
      const type = req.code === 1 ? req.type : -1;
      const state = getAttribute(first.packet, AttributeType.State);
      if (!answer) return { code: first.packet.code, type, worker: state?.[0] ?? -1 };
      const second = await client.send({ attributes: nasAccessRequestAttributes(nas, encodeEap({ code: 2, identifier: req.identifier, type, data: Buffer.from('x') }), state) });
      return { code: second.packet.code, type, worker: state?.[0] ?? -1 };
    } finally {
      await client.close();
    }
  }

  function configure(edit: (doc: { eap: Record<string, unknown> }) => void): void {
    const cfg = join(dir, 'gangway.yaml');
    const doc = parse(readFileSync(cfg, 'utf8')) as { eap: Record<string, unknown> };
    edit(doc);
    writeFileSync(cfg, stringify(doc));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-workers-'));
    port = await freeUdpPort();
    const init = spawnSync(process.execPath, [main, 'init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', SECRET], { encoding: 'utf8' });
    expect(init.status).toBe(0);
    configure((doc) => {
      doc.eap.plugins = [...FAULTS.map((fault, i) => ({ module: plugin, options: { fault, type: 200 + i, name: `faulty-${fault}` } })), { module: blocking, options: {} }];
      doc.eap.rules = [...FAULTS.map((fault) => ({ realm: `${fault}.test`, methods: [`faulty-${fault}`] })), { realm: 'block.test', methods: ['blocking'] }];
    });
  }, 30_000);

  afterAll(async () => {
    if (child) await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  });

  test('--workers that is neither auto nor 1..64 is a usage error (exit 2) naming the option', () => {
    for (const bad of ['0', 'many', '65']) {
      const r = spawnSync(process.execPath, [main, 'serve', '--data', dir, '--workers', bad], { encoding: 'utf8' });
      expect([bad, r.status]).toEqual([bad, 2]);
      expect(r.stderr).toContain('--workers: must be auto or a whole number from 1 to 64');
    }
  });

  test('SIGHUP: both workers take the new method rules', async () => {
    await start();
    expect(lines().find((l) => l.msg === 'gangway listening')).toMatchObject({ workers: 2 });
    const before = [await authenticate('dev@reloaded.test', false), await authenticate('dev@reloaded.test', false)];
    expect(before.map((b) => b.type)).toEqual([EapType.Tls, EapType.Tls]);
    expect(new Set(before.map((b) => b.worker))).toEqual(new Set([0, 1]));
    configure((doc) => {
      (doc.eap.rules as unknown[]).push({ realm: 'reloaded.test', methods: ['faulty-none'] });
    });
    child!.kill('SIGHUP');
    for (let i = 0; i < 100 && !out.includes('configuration reloaded'); i++) await new Promise((r) => setTimeout(r, 100));
    const after = [await authenticate('dev@reloaded.test', true), await authenticate('dev@reloaded.test', true)];
    expect(after.map((a) => [a.type, a.code])).toEqual([[200, RadiusCode.AccessAccept], [200, RadiusCode.AccessAccept]]);
    expect(new Set(after.map((a) => a.worker))).toEqual(new Set([0, 1]));
  }, 40_000);

  test.each(['stray-timer', 'exit'])('a worker thread lost to %s: logged, and the process exits 70', async (fault) => {
    if (!child || child.exitCode !== null) await start();
    const c = child!;
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    await authenticate(`dev@${fault}.test`, true).catch(() => undefined);
    expect(await exited).toBe(70);
    const lost = lines().find((l) => typeof l.msg === 'string' && /^worker thread [01] (failed|exited)/.test(l.msg as string));
    expect(lost).toBeDefined();
    expect(lines().some((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('uncaught exception: exiting so that the service manager starts a clean process'))).toBe(true);
    child = undefined;
  }, 40_000);

  test('a worker thread whose event loop is blocked: lost when its pings go unanswered, logged, and the process exits 70', async () => {
    if (!child || child.exitCode !== null) await start();
    const c = child!;
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    await authenticate('block-forever@block.test', false).catch(() => undefined);
    expect(await exited).toBe(70);
    expect(lines().some((l) => typeof l.msg === 'string' && /^worker thread [01] answered nothing for [0-9]+ ms/.test(l.msg as string))).toBe(true);
    child = undefined;
  }, 60_000);
});
