/**
 * `gangway noob-peer` and `gangway noob-oob` together: the device prints its code, the CLI delivers
 * it into the data directory's database, the device completes — with the method reading the same
 * SQLite file. The RADIUS hop is replaced by the in-memory authenticator.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { run as noobOob } from '../../../src/cli/commands/noob-oob.js';
import { writeMinimalDataDir } from '../../helpers/data-dir.js';
import { run as noobPeer } from '../../../src/cli/commands/noob-peer.js';
import { parseServer } from '../../../src/cli/server-address.js';
import { createNoobMethod } from '../../../src/noob/method.js';
import { openSqlite, type SqliteDatabase } from '../../../src/store/sqlite/database.js';
import { SqliteAuditStore } from '../../../src/store/sqlite/audit.js';
import { SqliteNoobPeerStore } from '../../../src/store/sqlite/noob-peers.js';
import { SqliteUserStore } from '../../../src/store/sqlite/users.js';
import type { NoobPeerState } from '../../../src/peer/noob/state.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { loopback } from '../../noob/helpers.js';

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) }, out, err, text: () => out.join(''), errText: () => err.join('') };
}

let dir: string;
let db: SqliteDatabase;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'noob-cli-'));
  db = openSqlite(writeMinimalDataDir(dir));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function server() {
  const store = new SqliteNoobPeerStore(db);
  const method = createNoobMethod({ store, config: { oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org' }, log: new MemoryLog() });
  return { store, method, transport: loopback(() => method) };
}

const urlIn = (s: string) => /https:\/\/\S+\?P=\S+/.exec(s)?.[0];

it('device shows its QR code, the operator delivers it with noob-oob, the device registers and reconnects', async () => {
  const { store, transport } = server();
  const state = join(dir, 'device.json');
  const c1 = collector();
  expect(await noobPeer(['--state', state, '--peer-info', '{"PeerName":"lamp"}'], c1.io, { transport })).toBe(4);
  expect(c1.text()).toMatch(/registration started: PeerId [\w-]{22}; waiting for the OOB step/);
  // The terminal QR code is colour escapes: not for a pipe or file unless asked for.
  expect(c1.text()).not.toContain('\x1b[');
  const url = urlIn(c1.text())!;
  expect(url).toMatch(/^https:\/\/gangway\.example\.org\/noob\?P=[\w-]{22}&N=[\w-]{22}&H=[\w-]{22}$/);

  // --show prints the same (still valid) code without connecting.
  const shown = collector();
  expect(await noobPeer(['--state', state, '--show'], shown.io)).toBe(0);
  expect(urlIn(shown.text())).toBe(url);
  const qr = collector();
  expect(await noobPeer(['--state', state, '--show', '--qr'], qr.io)).toBe(0);
  expect(qr.text()).toContain('▀');
  const terminal = collector();
  expect(await noobPeer(['--state', state, '--show'], { ...terminal.io, stdoutIsTerminal: true })).toBe(0);
  expect(terminal.text()).toContain('▀');
  expect(urlIn(terminal.text())).toBe(url);

  await new SqliteUserStore(db).add({ name: 'alice' });
  const bad = collector();
  expect(await noobOob(['--data', dir, url, '--user', 'nobody'], bad.io)).toBe(1);
  expect(bad.errText()).toContain('no user "nobody"');
  const d = collector();
  expect(await noobOob(['--data', dir, url, '--user', 'alice'], d.io)).toBe(0);
  expect(d.text()).toMatch(/accepted: device [\w-]{22} is bound to alice/);
  expect(d.text()).toContain('device says: {"PeerName":"lamp"}');
  const listed = collector();
  expect(await noobOob(['--data', dir, '--list'], listed.io)).toBe(0);
  expect(listed.text()).toMatch(/\n {4}delivered code for alice {2}\S+Z {2}device forgets it by \S+Z\n/);
  const again = collector();
  expect(await noobOob(['--data', dir, url, '--no-user'], again.io)).toBe(1);
  expect(again.text()).toContain('already received');
  expect((await new SqliteAuditStore(db).recent(5)).map((e) => e.event)).toEqual(['noob.oob.refused', 'noob.oob.delivered']);

  const c2 = collector();
  expect(await noobPeer(['--state', state, '--json'], c2.io, { transport })).toBe(0);
  expect(JSON.parse(c2.text())).toMatchObject({ result: 'success', exchange: 'completion', state: 4, mppe: 'match' });
  expect(transport.grants.at(-1)?.account).toBe('alice');
  const peerId = JSON.parse(c2.text()).peerId as string;
  expect((await store.get(peerId))?.state).toBe(4);

  const c3 = collector();
  expect(await noobPeer(['--state', state], c3.io, { transport })).toBe(0);
  expect(c3.text()).toContain(`authenticated as ${peerId} (noob@devices.example.org); MS-MPPE keys match`);
});

it('server-to-peer: noob-oob --issue makes a code, noob-peer --oob reads it and completes', async () => {
  const { transport } = server();
  const state = join(dir, 'cam.json');
  const c1 = collector();
  expect(await noobPeer(['--state', state, '--directions', '2', '--json'], c1.io, { transport })).toBe(4);
  const peerId = JSON.parse(c1.text()).peerId as string;

  const list = collector();
  expect(await noobOob(['--data', dir, '--list'], list.io)).toBe(0);
  expect(list.text()).toContain(`${peerId}  state 1  dirp 2`);

  const issue = collector();
  expect(await noobOob(['--data', dir, '--issue', peerId, '--user', 'bob', '--any-user'], issue.io)).toBe(0);
  const code = urlIn(issue.text())!;
  expect(code).toContain(`P=${peerId}`);
  // The OOB URL and the lifetime come from the data directory's gangway.yaml (noobTimeout default 3600 s).
  expect(code.startsWith('https://gangway.example.org/noob?')).toBe(true);
  const until = Date.parse(/valid until (\S+)/.exec(issue.text())![1]!);
  expect(Math.abs(until - Date.now() - 3600_000)).toBeLessThan(60_000);

  // --list shows the code the server now holds and its stored expiry (the Noob itself never).
  const listed = collector();
  expect(await noobOob(['--data', dir, '--list'], listed.io)).toBe(0);
  expect(listed.text()).toContain(`    issued code for bob  `);
  expect(listed.text()).toContain(`valid until ${new Date(until).toISOString()}`);
  expect(listed.text()).not.toContain(/N=([\w-]+)/.exec(code)![1]);

  // A shorter code of its own: --noob-timeout, stored with it; the older code keeps its expiry.
  const short = collector();
  expect(await noobOob(['--data', dir, '--issue', peerId, '--noob-timeout', '300', '--json'], short.io)).toBe(0);
  const shortUntil = Date.parse(JSON.parse(short.text()).expiresAt as string);
  expect(Math.abs(shortUntil - Date.now() - 300_000)).toBeLessThan(60_000);
  const json = collector();
  expect(await noobOob(['--data', dir, '--list', '--json'], json.io)).toBe(0);
  const [row] = JSON.parse(json.text()) as { peerId: string; codes: { direction: number; account?: string; expiresAt: string; expired: boolean }[] }[];
  expect(row!.codes).toEqual([
    expect.objectContaining({ direction: 2, account: 'bob', expiresAt: new Date(until).toISOString(), expired: false }),
    expect.objectContaining({ direction: 2, expiresAt: new Date(shortUntil).toISOString(), expired: false }),
  ]);

  const bad = collector();
  expect(await noobPeer(['--state', state, '--oob', code.replace(/H=[\w-]+/, 'H=AAAAAAAAAAAAAAAAAAAAAA')], bad.io, { transport })).toBe(1);
  expect(bad.text()).toContain('code refused');
  const c2 = collector();
  expect(await noobPeer(['--state', state, '--oob', code], c2.io, { transport })).toBe(0);
  expect(c2.text()).toContain('code accepted');
  expect(transport.grants.at(-1)).toMatchObject({ identity: peerId, account: 'bob' });
});

it('--wait keeps polling every SleepTime until the code has been delivered', async () => {
  const { transport } = server();
  const state = join(dir, 'w.json');
  const sleeps: number[] = [];
  const out = collector();
  const code = noobPeer(['--state', state, '--wait', '--max-attempts', '5'], out.io, {
    transport,
    sleep: async (ms) => {
      sleeps.push(ms);
      if (sleeps.length === 2) {
        const url = urlIn(out.text())!;
        expect(await noobOob(['--data', dir, url, '--any-user', '--user', 'carol'], collector().io)).toBe(0);
      }
    },
  });
  expect(await code).toBe(0);
  expect(sleeps).toEqual([60_000, 60_000]);
  expect(out.text()).toContain('still waiting for the OOB step');
  expect(out.text()).toContain('registered as');
});

it('a registration rolled back by 2003 stays bound to alice; noob-oob --reset-owner (administrator) releases it', async () => {
  const { method, transport } = server();
  const state = join(dir, 'dev.json');
  const c1 = collector();
  expect(await noobPeer(['--state', state, '--directions', '1', '--json'], c1.io, { transport })).toBe(4);
  const peerId = JSON.parse(c1.text()).peerId as string;
  const shown = collector();
  await noobPeer(['--state', state, '--show'], shown.io);
  const url = urlIn(shown.text())!;
  expect(await noobOob(['--data', dir, url, '--any-user', '--user', 'alice'], collector().io)).toBe(0);

  // Anyone with the PeerId: PeerState 1, then 2003 to the type-6 request.
  const s = method.createSession({ identity: 'x@devices.example.org', conversationId: 'a', maxEapPacket: 1400, nas: { clientName: 'n' }, log: new MemoryLog() });
  await s.start();
  await s.step(Buffer.from(`{"Type":1,"PeerId":"${peerId}","PeerState":1}`));
  expect((await s.step(Buffer.from(`{"Type":0,"PeerId":"${peerId}","ErrorCode":2003}`))).kind).toBe('failure');

  const replay = collector();
  expect(await noobOob(['--data', dir, url, '--any-user', '--user', 'mallory'], replay.io)).toBe(1);
  expect(replay.text()).toContain('refused: this code was already used once');
  const list = collector();
  expect(await noobOob(['--data', dir, '--list'], list.io)).toBe(0);
  expect(list.text()).toContain(`${peerId}  state 1  dirp 1`);
  expect(list.text()).toContain('bound:alice');

  // The device shows a new code after NoobInterval; mallory still cannot bind it.
  const ps = JSON.parse(readFileSync(state, 'utf8')) as NoobPeerState;
  for (const o of ps.ephemeral!.sentOobs) o.at = new Date(Date.parse(o.at) - 1800_000).toISOString();
  writeFileSync(state, JSON.stringify(ps));
  const fresh = collector();
  await noobPeer(['--state', state, '--show'], fresh.io);
  const url2 = urlIn(fresh.text())!;
  expect(url2).not.toBe(url);
  const steal = collector();
  expect(await noobOob(['--data', dir, url2, '--any-user', '--user', 'mallory', '--json'], steal.io)).toBe(1);
  expect(JSON.parse(steal.text())).toMatchObject({ ok: false, reason: 'account-bound', boundAccount: 'alice' });

  const unknown = collector();
  expect(await noobOob(['--data', dir, '--reset-owner', 'NobodyNobodyNobodyNob'], unknown.io)).toBe(1);
  expect(unknown.text()).toContain('refused: no registration in progress');
  const reset = collector();
  expect(await noobOob(['--data', dir, '--reset-owner', peerId], reset.io)).toBe(0);
  expect(reset.text()).toContain(`device ${peerId} is no longer bound to alice`);
  expect((await new SqliteAuditStore(db).recent(1))[0]).toMatchObject({ event: 'noob.owner.reset', subject: peerId, detail: { previousAccount: 'alice', wasBound: true } });

  expect(await noobOob(['--data', dir, url, '--any-user', '--user', 'bob'], collector().io)).toBe(1);
  const bob = collector();
  expect(await noobOob(['--data', dir, url2, '--any-user', '--user', 'bob'], bob.io)).toBe(0);
  expect(bob.text()).toContain('is bound to bob');
  // With a delivery pending, the owner cannot be reset: the device completes under it.
  const pending = collector();
  expect(await noobOob(['--data', dir, '--reset-owner', peerId], pending.io)).toBe(1);
  expect(pending.text()).toContain('a delivered code is pending');
  expect(await noobPeer(['--state', state, '--directions', '1'], collector().io, { transport })).toBe(0);
  expect(transport.grants.at(-1)).toMatchObject({ identity: peerId, account: 'bob' });
});

it('noob-oob prints what the device says with control and bidirectional characters escaped', async () => {
  const { transport } = server();
  const state = join(dir, 'device.json');
  // A carriage return, CSI (U+009B) and a right-to-left override: each could rewrite the operator's terminal.
  const hostile = JSON.stringify({ PeerName: 'lamp\rOK \u009b2J\u202eevil' });
  expect(await noobPeer(['--state', state, '--peer-info', hostile], collector().io, { transport })).toBe(4);
  const shown = collector();
  await noobPeer(['--state', state, '--show'], shown.io);
  const url = urlIn(shown.text())!;
  const list = collector();
  expect(await noobOob(['--data', dir, '--list'], list.io)).toBe(0);
  const d = collector();
  expect(await noobOob(['--data', dir, url, '--no-user'], d.io)).toBe(0);
  for (const text of [list.text(), d.text()]) {
    expect(text).not.toMatch(/[\r\u0080-\u009f\u202a-\u202e\u2066-\u2069]/);
    // PeerInfo is JSON text: its own "\r" escape keeps its backslash (doubled), the raw characters become escapes.
    expect(text).toContain('lamp\\\\rOK \\x9b2J\\u202eevil');
  }
  expect(d.text()).toContain('is bound to no account');
});

it('noob-oob needs the data directory\'s configuration with EAP-NOOB enabled', async () => {
  const c = collector();
  const empty = mkdtempSync(join(tmpdir(), 'noob-cli-empty-'));
  try {
    expect(await noobOob(['--data', empty, '--list'], c.io)).toBe(78);
    expect(c.errText()).toContain(`no Gangway data directory at ${empty}`);
    expect(readdirSync(empty)).toEqual([]);
    writeMinimalDataDir(empty, { methods: {} });
    expect(await noobOob(['--data', empty, '--list'], c.io)).toBe(78);
    expect(c.errText()).toContain('EAP-NOOB is not enabled');
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

it('usage errors', async () => {
  const c = collector();
  expect(await noobPeer([], c.io)).toBe(2);
  expect(await noobPeer(['--state', join(dir, 'x.json')], c.io)).toBe(2);
  expect(await noobPeer(['--state', join(dir, 'x.json'), '--server', '127.0.0.1:1812', '--secret', 's', '--directions', '7'], c.io)).toBe(2);
  expect(await noobOob([], c.io)).toBe(2);
  expect(await noobOob(['--data', dir], c.io)).toBe(2);
  expect(await noobOob(['--data', dir, 'a', 'b'], c.io)).toBe(2);
  expect(await noobOob(['--data', dir, '--issue', 'x', '--oob-url', 'https://x.example/noob'], c.io)).toBe(2);
  expect(await noobOob(['--data', dir, 'P=a&N=b&H=c'], c.io)).toBe(2);
  expect(c.errText()).toContain('--user NAME, or --no-user');
  expect(await noobOob(['--data', dir, 'P=a&N=b&H=c', '--user', 'x', '--no-user'], c.io)).toBe(2);
  expect(await noobOob(['--data', dir, '--list', '--any-user'], c.io)).toBe(2);
  expect(await noobOob(['--data', dir, '--list', '--reset-owner', 'x'], c.io)).toBe(2);
  // A code's own lifetime: only with --issue, never longer than noobTimeout (3600 s here).
  expect(await noobOob(['--data', dir, '--list', '--noob-timeout', '60'], c.io)).toBe(2);
  const long = collector();
  expect(await noobOob(['--data', dir, '--issue', 'x', '--noob-timeout', '3601'], long.io)).toBe(2);
  expect(long.errText()).toContain('--noob-timeout must be an integer from 1 to 3600');
  const m = collector();
  expect(await noobOob(['--data', dir, 'https://x.example/?nothing=1', '--no-user'], m.io)).toBe(1);
  expect(m.text()).toContain('not an EAP-NOOB OOB message');
  expect(parseServer('[::1]:1812')).toEqual({ host: '::1', port: 1812 });
  expect(parseServer('127.0.0.1')).toBeUndefined();
});
