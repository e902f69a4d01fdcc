/**
 * EAP-NOOB as a person and a device meet it: `gangway serve` in its own process, our device
 * (`gangway noob-peer`) over UDP RADIUS, the OOB step through `gangway noob-oob`, and the server
 * restarted between the exchanges. Every command is the built CLI, run as a separate process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { decodeEap, encodeEap } from '../../src/eap-methods/eap-packet.js';
import { RadiusEapTransport } from '../../src/peer/noob/radius-transport.js';
import type { NoobPeerState } from '../../src/peer/noob/state.js';
import { RadiusClient } from '../../src/radius/client.js';
import { freeUdpPort, terminate } from '../helpers/proc.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const SECRET = 'noob-e2e-secret-1';

interface Run { status: number | null; json: Record<string, unknown>; stderr: string }

function gangway(args: string[]): Run {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(last) as Record<string, unknown>;
  } catch {
    json = { raw: r.stdout };
  }
  return { status: r.status, json, stderr: r.stderr };
}

describe('EAP-NOOB end to end: gangway serve, noob-peer and noob-oob as separate processes', () => {
  let dir: string;
  let port: number;
  let server: ChildProcess | undefined;
  let serverLog = '';

  async function startServer(): Promise<void> {
    serverLog = '';
    server = spawn(process.execPath, [main, 'serve', '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => { serverLog += d.toString(); });
    server.stderr!.on('data', (d: Buffer) => { serverLog += d.toString(); });
    for (let i = 0; i < 300 && !serverLog.includes('gangway listening'); i++) await new Promise((r) => setTimeout(r, 100));
    if (!serverLog.includes('gangway listening')) throw new Error(`server did not start:\n${serverLog}`);
  }

  /** Log lines arrive asynchronously from the server process; wait a little for the one wanted. */
  async function logLine(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined> {
    for (let i = 0; i < 50; i++) {
      for (const text of serverLog.split('\n')) {
        if (!text.startsWith('{')) continue;
        const l = JSON.parse(text) as Record<string, unknown>;
        if (match(l)) return l;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return undefined;
  }

  async function restartServer(): Promise<void> {
    await terminate(server!);
    await startServer();
  }

  const peer = (state: string, ...extra: string[]): Run =>
    gangway(['noob-peer', '--state', join(dir, state), '--server', `127.0.0.1:${port}`, '--secret', SECRET, '--json', ...extra]);

  function storedPeer(peerId: string): { state: number; account: string | null; kz: string } {
    const db = new Database(join(dir, 'gangway.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT * FROM noob_peers WHERE peer_id = ?').get(peerId) as Record<string, unknown> | undefined;
      if (!row) throw new Error(`peer ${peerId} not stored`);
      return { state: Number(row.state), account: (row.account as string | null) ?? null, kz: Buffer.from((row.assoc_kz as Buffer | null) ?? Buffer.alloc(0)).toString('hex') };
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-noob-e2e-'));
    port = await freeUdpPort();
    expect(gangway(['init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', SECRET, '--json']).status).toBe(0);
    expect(spawnSync(process.execPath, [main, 'users', 'add', 'alice', '--data', dir, '--password', 'alice-password']).status).toBe(0);
    expect(spawnSync(process.execPath, [main, 'users', 'add', 'mallory', '--data', dir, '--password', 'mallory-password']).status).toBe(0);
    await startServer();
  }, 30_000);

  afterAll(async () => {
    if (server) await terminate(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test('peer-to-server: Initial, restart, OOB via CLI, Completion, restart, three Reconnects, key rollover', async () => {
    const initial = peer('device1.json');
    expect(initial.status).toBe(4);
    expect(initial.json).toMatchObject({ result: 'failure', exchange: 'initial', state: 1 });
    const peerId = String(initial.json.peerId);
    expect(storedPeer(peerId).state).toBe(1);

    await restartServer();

    const shown = gangway(['noob-peer', '--state', join(dir, 'device1.json'), '--show', '--json']);
    expect(shown.status).toBe(0);
    const url = String(shown.json.oob);
    expect(url).toMatch(/^https:\/\/gangway\.local\/noob\?P=[^&]+&N=[^&]+&H=[^&]+$/);

    // A junk code and a forged Hoob are refused and change nothing.
    expect(gangway(['noob-oob', '--data', dir, 'https://gangway.local/noob?P=x&N=y', '--user', 'alice', '--json']).status).not.toBe(0);
    const forged = url.replace(/H=[^&]+$/, 'H=AAAAAAAAAAAAAAAAAAAAAA');
    expect(gangway(['noob-oob', '--data', dir, forged, '--user', 'alice', '--json']).status).toBe(1);
    expect(storedPeer(peerId).account).toBeNull();

    const delivered = gangway(['noob-oob', '--data', dir, url, '--user', 'alice', '--json']);
    expect(delivered.status).toBe(0);
    expect(delivered.json).toMatchObject({ ok: true, peerId });

    const completion = peer('device1.json');
    expect(completion.status).toBe(0);
    expect(completion.json).toMatchObject({ result: 'success', exchange: 'completion', peerId, state: 4, mppe: 'match' });
    const registered = storedPeer(peerId);
    expect(registered).toMatchObject({ state: 4, account: 'alice' });
    // The grant names the PeerId and the account the device is bound to.
    const accepted = await logLine((l) => l.msg === 'Access-Accept' && l.identity === peerId);
    expect(accepted).toMatchObject({ identity: peerId, account: 'alice', method: 'eap-noob', user: 'noob@gangway.local' });

    await restartServer();

    for (let i = 0; i < 3; i++) {
      const reconnect = peer('device1.json');
      expect(reconnect.status).toBe(0);
      expect(reconnect.json).toMatchObject({ result: 'success', exchange: 'reconnect', peerId, mppe: 'match' });
      // KeyingMode 2 (the default): fresh ECDHE for the session keys, the association key Kz stays.
      expect(storedPeer(peerId).kz).toBe(registered.kz);
    }
    expect(await logLine((l) => l.msg === 'eap-noob: Reconnect Exchange succeeded' && l.keyingMode === 2)).toBeDefined();

    // Key rollover: the operator moves to cryptosuite 2 (P-256). The next Reconnect is KeyingMode 3
    // and replaces Kz; the one after runs on the new key.
    const cfgPath = join(dir, 'gangway.yaml');
    const doc = parse(readFileSync(cfgPath, 'utf8')) as { methods: Record<string, Record<string, unknown>> };
    doc.methods['eap-noob']!.cryptosuites = [2];
    writeFileSync(cfgPath, stringify(doc));
    await restartServer();
    const upgrade = peer('device1.json');
    expect(upgrade.json).toMatchObject({ result: 'success', exchange: 'reconnect', peerId, mppe: 'match' });
    expect(await logLine((l) => l.msg === 'eap-noob: Reconnect Exchange succeeded' && l.keyingMode === 3 && l.cryptosuite === 2)).toBeDefined();
    const rolled = storedPeer(peerId).kz;
    expect(rolled).not.toBe(registered.kz);
    const after = peer('device1.json');
    expect(after.json).toMatchObject({ result: 'success', exchange: 'reconnect', peerId, mppe: 'match' });
    expect(storedPeer(peerId).kz).toBe(rolled);
  }, 60_000);

  test('server-to-peer: the server issues a code, the device reads it and completes', async () => {
    const initial = peer('device2.json', '--directions', '2');
    expect(initial.status).toBe(4);
    const peerId = String(initial.json.peerId);
    const issued = gangway(['noob-oob', '--data', dir, '--issue', peerId, '--user', 'alice', '--json']);
    expect(issued.status).toBe(0);
    const code = String(issued.json.oob ?? issued.json.url ?? issued.json.code);
    expect(code).toContain(`P=${peerId}`);
    const completion = peer('device2.json', '--directions', '2', '--oob', code);
    expect(completion.status).toBe(0);
    expect(completion.json).toMatchObject({ result: 'success', exchange: 'completion', peerId, mppe: 'match' });
    expect(storedPeer(peerId)).toMatchObject({ state: 4, account: 'alice' });
  }, 60_000);

  /**
   * Issue 7.4 over RADIUS: someone who read only the PeerId off the device's QR code forces the
   * RFC 9140 §3.6.4 rollback (PeerState 1, then error 2003 to the type-6 request), then tries to
   * deliver the same code for another account.
   */
  async function forgeOobReject(peerId: string): Promise<void> {
    const client = new RadiusClient({ host: '127.0.0.1', port, secret: SECRET, initialTimeoutMs: 1000, maxRetransmissions: 2 });
    const attacker = new RadiusEapTransport({ client, secret: SECRET, callingStationId: '02-00-00-00-66-66' });
    try {
      const say = async (id: number, type: number, body: string) => {
        const reply = await attacker.sendEap(encodeEap({ code: 2, identifier: id, type, data: Buffer.from(body) }));
        const eap = reply.eap ? decodeEap(reply.eap) : undefined;
        return { reply, eap, json: eap && eap.code === 1 ? (JSON.parse(Buffer.from(eap.data).toString()) as Record<string, unknown>) : undefined };
      };
      const first = await say(0, 1, 'noob@gangway.local');
      expect(first.json).toEqual({ Type: 1 });
      const six = await say(first.eap!.identifier, 56, JSON.stringify({ Type: 1, PeerId: peerId, PeerState: 1 }));
      expect(six.json).toMatchObject({ Type: 6, PeerId: peerId });
      const end = await say(six.eap!.identifier, 56, JSON.stringify({ Type: 0, PeerId: peerId, ErrorCode: 2003 }));
      expect(end.reply.code).toBe('reject');
    } finally {
      await client.close();
    }
  }

  /** Time passes for the device: its shown code becomes older than NoobInterval, so it makes a new one. */
  function ageShownCodes(stateFile: string, seconds: number): void {
    const s = JSON.parse(readFileSync(stateFile, 'utf8')) as NoobPeerState;
    for (const o of s.ephemeral!.sentOobs) o.at = new Date(Date.parse(o.at) - seconds * 1000).toISOString();
    writeFileSync(stateFile, JSON.stringify(s));
  }

  function auditRows(event: string): { subject: string | null; detail: Record<string, unknown> }[] {
    const db = new Database(join(dir, 'gangway.db'), { readonly: true });
    try {
      return (db.prepare('SELECT subject, detail FROM audit_log WHERE event = ? ORDER BY id').all(event) as { subject: string | null; detail: string }[]).map((r) => ({
        subject: r.subject,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
      }));
    } finally {
      db.close();
    }
  }

  test('re-binding (issue 7.4): bound to alice → forged 2003 → the code for mallory is refused → the device completes under alice', async () => {
    const stateFile = join(dir, 'device3.json');
    const initial = peer('device3.json', '--directions', '1');
    expect(initial.status).toBe(4);
    const peerId = String(initial.json.peerId);
    const url = String(gangway(['noob-peer', '--state', stateFile, '--show', '--json']).json.oob);
    expect(gangway(['noob-oob', '--data', dir, url, '--user', 'alice', '--json']).status).toBe(0);
    expect(storedPeer(peerId)).toMatchObject({ state: 2, account: 'alice' });

    await forgeOobReject(peerId);
    // RFC 9140 §3.6.4 still applies (back to state 1), logged at warn level; the account stays.
    expect(storedPeer(peerId)).toMatchObject({ state: 1, account: 'alice' });
    const rollback = await logLine((l) => l.msg === 'eap-noob: peer rejected our NoobId (2003); registration back to state 1' && l.peerId === peerId);
    expect(rollback).toMatchObject({ level: 40, account: 'alice', accountBound: true });

    // The same URL is consumed, for mallory and for alice alike.
    const replay = gangway(['noob-oob', '--data', dir, url, '--user', 'mallory', '--json']);
    expect(replay.status).toBe(1);
    expect(replay.json).toMatchObject({ ok: false, reason: 'consumed' });
    expect(gangway(['noob-oob', '--data', dir, url, '--user', 'alice', '--json']).json).toMatchObject({ ok: false, reason: 'consumed' });

    // The device only waits; a new code is refused for mallory (audited) and accepted for alice.
    expect(peer('device3.json', '--directions', '1').status).toBe(4);
    ageShownCodes(stateFile, 1800);
    const fresh = String(gangway(['noob-peer', '--state', stateFile, '--show', '--json']).json.oob);
    expect(fresh).not.toBe(url);
    const steal = gangway(['noob-oob', '--data', dir, fresh, '--user', 'mallory', '--json']);
    expect(steal.status).toBe(1);
    expect(steal.json).toMatchObject({ ok: false, reason: 'account-bound', boundAccount: 'alice' });
    expect(auditRows('noob.oob.refused')).toContainEqual({ subject: peerId, detail: { account: 'mallory', reason: 'account-bound', boundAccount: 'alice' } });
    expect(storedPeer(peerId)).toMatchObject({ state: 1, account: 'alice' });

    expect(gangway(['noob-oob', '--data', dir, fresh, '--user', 'alice', '--json']).status).toBe(0);
    const completion = peer('device3.json', '--directions', '1');
    expect(completion.status).toBe(0);
    expect(completion.json).toMatchObject({ result: 'success', exchange: 'completion', peerId, mppe: 'match' });
    expect(storedPeer(peerId)).toMatchObject({ state: 4, account: 'alice' });
    expect(await logLine((l) => l.msg === 'Access-Accept' && l.identity === peerId)).toMatchObject({ account: 'alice' });
  }, 60_000);
});
