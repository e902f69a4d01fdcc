/**
 * Server method and our peer through the plugin interface, in memory (no RADIUS), with the server
 * "restarted" (new method instance, database closed and reopened) between the exchanges.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { NoobConfig } from '../../src/noob/config.js';
import { createNoobMethod, type NoobMethod } from '../../src/noob/method.js';
import { deliverOobFromUrl, issueServerToPeerOob } from '../../src/noob/oob.js';
import type { NoobPeerConfig } from '../../src/peer/noob/config.js';
import { acceptServerOob, peerOobToShow } from '../../src/peer/noob/oob.js';
import { resolvePeerConfig } from '../../src/peer/noob/config.js';
import { runNoobPeer, type ConversationOutcome } from '../../src/peer/noob/runner.js';
import { PeerStateFile } from '../../src/peer/noob/state-file.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { SqliteNoobPeerStore } from '../../src/store/sqlite/noob-peers.js';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { loopback, PEER_INFO, TestClock } from './helpers.js';

class Server {
  db: SqliteDatabase;
  store: SqliteNoobPeerStore;
  method: NoobMethod;
  constructor(
    readonly path: string,
    readonly config: NoobConfig,
    readonly clock: TestClock,
    readonly log = new MemoryLog(),
  ) {
    this.db = openSqlite(path);
    this.store = new SqliteNoobPeerStore(this.db);
    this.method = createNoobMethod({ store: this.store, config, clock: clock.now, log });
  }
  /** Simulated crash/restart: nothing survives but the database file. */
  restart(config: NoobConfig = this.config): void {
    this.db.close();
    this.db = openSqlite(this.path);
    this.store = new SqliteNoobPeerStore(this.db);
    this.method = createNoobMethod({ store: this.store, config, clock: this.clock.now, log: this.log });
  }
}

let dir: string;
let server: Server;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'noob-e2e-'));
});
afterEach(() => {
  server?.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const BASE: NoobConfig = { oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org', serverName: 'Example' };

function setup(config: Partial<NoobConfig> = {}, peer: Partial<NoobPeerConfig> = {}) {
  const clock = new TestClock();
  server = new Server(join(dir, 'gangway.db'), { ...BASE, ...config }, clock);
  // What the method logs for each conversation (the EAP core hands it this log).
  const conversationLog = new MemoryLog();
  const transport = loopback(() => server.method, conversationLog);
  const peerStore = new PeerStateFile(join(dir, 'peer', 'state.json'));
  const peerConfig = resolvePeerConfig({ peerInfo: PEER_INFO, ...peer });
  const run = (): Promise<ConversationOutcome> => runNoobPeer({ transport, store: peerStore, config: peerConfig, log: new MemoryLog(), clock: clock.now });
  return { clock, transport, peerStore, peerConfig, run, conversationLog };
}

describe('peer-to-server OOB', () => {
  it('Initial → OOB → restart → Completion → restart → Reconnect (KeyingMode 2) → upgrade (3) → KeyingMode 1', async () => {
    const { clock, transport, peerStore, peerConfig, run } = setup({}, { preferredDirection: 1 });

    const initial = await run();
    expect(initial).toMatchObject({ result: 'failure', exchange: 'initial', identity: '@noob.eap.arpa' });
    expect(initial.state.state).toBe(1);
    const peerId = initial.state.ephemeral!.peerId;
    expect((await server.store.get(peerId))?.state).toBe(1);

    // The device shows its QR code; a person scans it and the portal (here: the CLI function) delivers it.
    const shown = peerOobToShow(await peerStore.load(), { config: peerConfig, now: clock.now(), random: systemRandom })!;
    expect(shown.text.startsWith('https://gangway.example.org/noob?P=')).toBe(true);
    await peerStore.save(shown.state);
    expect(await deliverOobFromUrl(server.store, shown.text, 'alice', { clock: clock.now })).toMatchObject({ ok: true, peerId, account: 'alice' });

    server.restart();
    clock.advance(60);
    const completion = await run();
    expect(completion).toMatchObject({ result: 'success', exchange: 'completion', identity: 'noob@devices.example.org', mppe: 'match' });
    const afterCompletion = await server.store.get(peerId);
    // The grant names the owner and PeerInfo the committed registration holds (the authorizer reads no store).
    expect(transport.grants.at(-1)).toEqual({ identity: peerId, method: 'eap-noob', deviceId: peerId, account: 'alice', peerInfo: afterCompletion?.peerInfo });
    expect(afterCompletion?.peerInfo).toBe(PEER_INFO);
    expect(afterCompletion).toMatchObject({ state: 4, account: 'alice', association: { cryptosuite: 1, nai: 'noob@devices.example.org' }, oobs: [] });
    expect(afterCompletion?.ephemeral).toBeUndefined();
    expect((await peerStore.load()).association?.kz).toBe(Buffer.from(afterCompletion!.association!.kz).toString('base64url'));

    server.restart();
    const reconnect = await run();
    expect(reconnect).toMatchObject({ result: 'success', exchange: 'reconnect', mppe: 'match' });
    expect(transport.grants.at(-1)).toEqual({ identity: peerId, method: 'eap-noob', deviceId: peerId, account: 'alice', peerInfo: PEER_INFO });
    expect((await server.store.get(peerId))?.association?.kz).toEqual(afterCompletion!.association!.kz);

    // A Reconnect whose Type 7 brings new PeerInfo: the grant carries the PeerInfo this Reconnect stored.
    const renamed = '{"Type":"wifi","Make":"Acme","Serial":"DU-9999","PeerName":"hall sensor"}';
    const renamedRun = await runNoobPeer({ transport, store: peerStore, config: { ...peerConfig, peerInfoText: renamed }, log: new MemoryLog(), clock: clock.now });
    expect(renamedRun).toMatchObject({ result: 'success', exchange: 'reconnect' });
    expect((await server.store.get(peerId))?.peerInfo).toBe(renamed);
    expect(transport.grants.at(-1)).toEqual({ identity: peerId, method: 'eap-noob', deviceId: peerId, account: 'alice', peerInfo: renamed });

    // The peer now prefers P-256: KeyingMode 3, new suite and new Kz on both sides, KzPrev at the peer.
    const upgrade = await runNoobPeer({ transport, store: peerStore, config: { ...peerConfig, cryptosuites: [2, 1] as (1 | 2)[] }, log: new MemoryLog(), clock: clock.now });
    expect(upgrade).toMatchObject({ result: 'success', exchange: 'reconnect', mppe: 'match' });
    const upgraded = await server.store.get(peerId);
    expect(upgraded?.association?.cryptosuite).toBe(2);
    expect(upgraded?.association?.kz).not.toEqual(afterCompletion!.association!.kz);
    const peerAfter = await peerStore.load();
    expect(peerAfter.association).toMatchObject({ cryptosuite: 2, cryptosuitePrev: 1, kz: Buffer.from(upgraded!.association!.kz).toString('base64url') });

    server.restart({ ...BASE, reconnectKeyingMode: 1 });
    const mode1 = await runNoobPeer({ transport, store: peerStore, config: { ...peerConfig, cryptosuites: [2, 1] as (1 | 2)[] }, log: new MemoryLog(), clock: clock.now });
    expect(mode1).toMatchObject({ result: 'success', exchange: 'reconnect', mppe: 'match' });
    expect((await peerStore.load()).association?.cryptosuitePrev).toBeUndefined();
  });

  it('a Waiting Exchange happens while the OOB message is outstanding, and a second scan is refused', async () => {
    const { clock, peerStore, peerConfig, run } = setup({}, { preferredDirection: 1 });
    await run();
    clock.advance(60);
    const waiting = await run();
    expect(waiting).toMatchObject({ result: 'failure', exchange: 'waiting' });
    expect(waiting.state.ephemeral?.sleepTime).toBe(60);
    const rec = await server.store.get(waiting.state.ephemeral!.peerId);
    expect(rec?.ephemeral?.waitingExchanges).toBe(1);
    // A Noob the device never recorded (it crashed before saving): the peer answers type 6 with 2003
    // and the server goes back to state 1; that code stays consumed and bob stays the bound
    // account, so bob scans the device's next code.
    const forgotten = peerOobToShow(await peerStore.load(), { config: peerConfig, now: clock.now(), random: systemRandom })!;
    expect((await deliverOobFromUrl(server.store, forgotten.text, 'bob', { clock: clock.now })).ok).toBe(true);
    expect(await run()).toMatchObject({ result: 'failure', exchange: 'completion', peerError: 2003 });
    expect(await server.store.get(rec!.peerId)).toMatchObject({ state: 1, account: 'bob', accountBound: true });
    expect(await deliverOobFromUrl(server.store, forgotten.text, 'bob', { clock: clock.now })).toMatchObject({ ok: false, reason: 'consumed' });

    const shown = peerOobToShow(await peerStore.load(), { config: peerConfig, now: clock.now(), random: systemRandom })!;
    await peerStore.save(shown.state);
    expect((await deliverOobFromUrl(server.store, shown.text, 'bob', { clock: clock.now })).ok).toBe(true);
    expect(await deliverOobFromUrl(server.store, shown.text, 'mallory', { clock: clock.now })).toMatchObject({ ok: false, reason: 'already-received' });
    expect((await run()).result).toBe('success');
    expect(await deliverOobFromUrl(server.store, shown.text, 'mallory', { clock: clock.now })).toMatchObject({ ok: false, reason: 'registered' });
  });
});

describe('server-to-peer OOB', () => {
  it('Initial → issue code → device reads it → restart → Completion (types 5, 6) binds the issuing account', async () => {
    const { clock, transport, peerStore, peerConfig, run } = setup({}, { preferredDirection: 2 });
    const initial = await run();
    expect(initial.state.ephemeral?.dirp).toBe(2);
    expect(initial.state.ephemeral?.sleepTime).toBe(3600);
    const peerId = initial.state.ephemeral!.peerId;

    const issued = await issueServerToPeerOob({ store: server.store, config: server.method.config, clock: clock.now }, peerId, { account: 'carol' });
    if (!issued.ok) throw new Error(issued.detail);
    const accepted = acceptServerOob(await peerStore.load(), issued.url, { config: peerConfig, now: clock.now() });
    expect(accepted.ok).toBe(true);
    await peerStore.save(accepted.state);

    server.restart();
    const completion = await run();
    expect(completion).toMatchObject({ result: 'success', exchange: 'completion', mppe: 'match' });
    expect(transport.grants.at(-1)).toMatchObject({ identity: peerId, account: 'carol' });
    expect(await server.store.get(peerId)).toMatchObject({ state: 4, account: 'carol' });

    server.restart();
    expect((await run()).result).toBe('success');
  });

  it('an expired server-to-peer Noob is refused with 2003 and the peer returns to state 1', async () => {
    const { clock, peerStore, peerConfig, run } = setup({ noobTimeout: 600 }, { preferredDirection: 2 });
    const peerId = (await run()).state.ephemeral!.peerId;
    const issued = await issueServerToPeerOob({ store: server.store, config: server.method.config, clock: clock.now }, peerId);
    if (!issued.ok) throw new Error(issued.detail);
    await peerStore.save(acceptServerOob(await peerStore.load(), issued.url, { config: peerConfig, now: clock.now() }).state);
    clock.advance(601);
    const late = await run();
    expect(late).toMatchObject({ result: 'failure', exchange: 'completion', serverError: 2003 });
    expect(late.state.state).toBe(1);
    expect(late.state.ephemeral?.receivedOob).toBeUndefined();
    expect((await server.store.get(peerId))?.state).toBe(1);
  });
});

describe('per-code expiry (stored with the code; the Completion Exchange enforces it)', () => {
  /** Initial Exchange, then a code issued under `issueConfig` that the device reads at once. */
  async function issuedAndRead(issueConfig: Partial<NoobConfig>, lifetime?: number) {
    const s = setup(issueConfig, { preferredDirection: 2 });
    const peerId = (await s.run()).state.ephemeral!.peerId;
    const issued = await issueServerToPeerOob({ store: server.store, config: server.method.config, clock: s.clock.now }, peerId, lifetime !== undefined ? { lifetime } : {});
    if (!issued.ok) throw new Error(issued.detail);
    await s.peerStore.save(acceptServerOob(await s.peerStore.load(), issued.url, { config: s.peerConfig, now: s.clock.now() }).state);
    return { ...s, peerId, issued };
  }

  it('a code issued with a short lifetime is refused with 2003 after it, through the SQLite store and the method', async () => {
    const { clock, run, peerId, issued, conversationLog } = await issuedAndRead({ noobTimeout: 3600 }, 120);
    expect(issued.expiresAt.getTime() - clock.now().getTime()).toBe(120_000);
    expect((await server.store.get(peerId))?.oobs).toMatchObject([{ direction: 2, expiresAt: issued.expiresAt }]);
    server.restart();
    clock.advance(121);
    const late = await run();
    expect(late).toMatchObject({ result: 'failure', exchange: 'completion', serverError: 2003 });
    expect(late.state.state).toBe(1);
    expect(conversationLog.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'eap-noob: server-to-peer code refused; it expired', obj: expect.objectContaining({ peerId, expiredAt: issued.expiresAt.toISOString() }) }),
    );
    expect((await server.store.get(peerId))?.state).toBe(1);
  });

  it('a code used within its lifetime (up to its last second) completes', async () => {
    const { clock, run, transport, peerId } = await issuedAndRead({ noobTimeout: 3600 }, 120);
    server.restart();
    clock.advance(120);
    expect(await run()).toMatchObject({ result: 'success', exchange: 'completion', mppe: 'match' });
    expect(transport.grants.at(-1)).toMatchObject({ identity: peerId });
  });

  it('lowering noobTimeout after issue does not cut short a code already issued', async () => {
    const { clock, run, peerId } = await issuedAndRead({ noobTimeout: 600 });
    server.restart({ ...BASE, noobTimeout: 60 });
    clock.advance(300);
    expect(await run()).toMatchObject({ result: 'success', exchange: 'completion' });
    expect((await server.store.get(peerId))?.state).toBe(4);
  });

  it('raising noobTimeout after issue does not revive a code past the expiry it was issued with', async () => {
    const { clock, run, peerId } = await issuedAndRead({ noobTimeout: 60 });
    server.restart({ ...BASE, noobTimeout: 3600 });
    clock.advance(61);
    expect(await run()).toMatchObject({ result: 'failure', exchange: 'completion', serverError: 2003 });
    expect((await server.store.get(peerId))?.state).toBe(1);
  });

  it('a lifetime longer than noobTimeout (or not a whole number of seconds) is refused and nothing is stored', async () => {
    const { clock, run } = setup({ noobTimeout: 600 }, { preferredDirection: 2 });
    const peerId = (await run()).state.ephemeral!.peerId;
    const deps = { store: server.store, config: server.method.config, clock: clock.now };
    for (const lifetime of [601, 0, 1.5]) {
      expect(await issueServerToPeerOob(deps, peerId, { lifetime })).toMatchObject({ ok: false, reason: 'lifetime' });
    }
    expect((await server.store.get(peerId))?.oobs).toEqual([]);
    expect(await issueServerToPeerOob(deps, peerId, { lifetime: 600 })).toMatchObject({ ok: true });
  });
});

describe('rollover: the final response of an upgrade is lost', () => {
  it('the peer keeps KzPrev, the server the old Kz; the next Reconnect rolls back and upgrades again', async () => {
    const { clock, transport, peerStore, peerConfig, run } = setup({}, { preferredDirection: 1 });
    await run();
    const shown = peerOobToShow(await peerStore.load(), { config: peerConfig, now: clock.now(), random: systemRandom })!;
    await peerStore.save(shown.state);
    await deliverOobFromUrl(server.store, shown.text, undefined, { clock: clock.now });
    expect((await run()).result).toBe('success');
    const peerId = (await peerStore.load()).association!.peerId;
    const oldKz = (await server.store.get(peerId))!.association!.kz;

    const upgradeConfig = { ...peerConfig, cryptosuites: [2, 1] as (1 | 2)[] };
    // Drop the type-9 response: the peer has committed the upgrade, the server never learns of it.
    let rounds = 0;
    const lossy = {
      sendEap: async (eap: Uint8Array) => {
        if (eap[4] === 56 && eap.length > 5 && Buffer.from(eap.subarray(5)).toString().startsWith('{"Type":9')) {
          rounds++;
          transport.dropNextResponse = true;
        }
        return transport.sendEap(eap);
      },
    };
    await expect(runNoobPeer({ transport: lossy, store: peerStore, config: upgradeConfig, log: new MemoryLog(), clock: clock.now })).rejects.toThrow('response lost');
    expect(rounds).toBe(1);
    expect((await peerStore.load()).association).toMatchObject({ cryptosuite: 2, cryptosuitePrev: 1 });
    expect((await server.store.get(peerId))?.association).toMatchObject({ cryptosuite: 1, kz: oldKz });

    server.restart();
    const again = await runNoobPeer({ transport, store: peerStore, config: upgradeConfig, log: new MemoryLog(), clock: clock.now });
    expect(again).toMatchObject({ result: 'success', exchange: 'reconnect', mppe: 'match' });
    const s = await server.store.get(peerId);
    const p = await peerStore.load();
    expect(s?.association?.cryptosuite).toBe(2);
    expect(p.association?.kz).toBe(Buffer.from(s!.association!.kz).toString('base64url'));
  });
});

describe.each([
  ['rfc_literal switches', { kdfSuppPrivLengthByte: true, noobIdForm: 'json', reconnectMacNai: 'nai' }],
  ['authors’ script NAI slot', { reconnectMacNai: 'empty' }],
  ['vogeltak compatibility', { compat: 'vogeltak' }],
] as const)('both sides with %s', (_name, switches) => {
  it.each([1, 2] as const)('register with Dirp %d and reconnect', async (dirp) => {
    const { clock, peerStore, peerConfig, run } = setup({ ...switches }, { ...switches, preferredDirection: dirp });
    const initial = await run();
    expect(initial.result).toBe('failure');
    const peerId = initial.state.ephemeral!.peerId;
    if (dirp === 1) {
      const shown = peerOobToShow(await peerStore.load(), { config: peerConfig, now: clock.now(), random: systemRandom })!;
      await peerStore.save(shown.state);
      expect((await deliverOobFromUrl(server.store, shown.text, 'dave', { clock: clock.now })).ok).toBe(true);
    } else {
      const issued = await issueServerToPeerOob({ store: server.store, config: server.method.config, clock: clock.now }, peerId, { account: 'dave' });
      if (!issued.ok) throw new Error(issued.detail);
      const acc = acceptServerOob(await peerStore.load(), issued.url, { config: peerConfig, now: clock.now() });
      expect(acc.ok).toBe(true);
      await peerStore.save(acc.state);
    }
    server.restart();
    expect(await run()).toMatchObject({ result: 'success', exchange: 'completion', mppe: 'match' });
    server.restart();
    expect(await run()).toMatchObject({ result: 'success', exchange: 'reconnect', mppe: 'match' });
  });
});

/**
 * The vogeltak profile on the wire (docs/eap-noob.md): every request's JSON is followed by one
 * 0x00 octet, and every Type 7 carries ServerInfo, even when it did not change. The default
 * profile sends neither.
 */
describe.each([
  ['vogeltak', { compat: 'vogeltak' }, true],
  ['default', {}, false],
] as const)('requests on the wire, %s profile', (_name, switches, vogeltak) => {
  it('terminator and ServerInfo in Type 7 through Initial, Completion and Reconnect', async () => {
    const { clock, transport, peerStore, peerConfig, run } = setup({ ...switches }, { ...switches, preferredDirection: 1 });
    // Record the Type-Data of every EAP-Request the server sends.
    const requests: Uint8Array[] = [];
    const send = transport.sendEap.bind(transport);
    transport.sendEap = async (eap) => {
      const reply = await send(eap);
      if (reply.code === 'challenge' && reply.eap) requests.push(reply.eap.subarray(5));
      return reply;
    };
    await run();
    const shown = peerOobToShow(await peerStore.load(), { config: peerConfig, now: clock.now(), random: systemRandom })!;
    await peerStore.save(shown.state);
    expect((await deliverOobFromUrl(server.store, shown.text, 'dave', { clock: clock.now })).ok).toBe(true);
    server.restart();
    expect(await run()).toMatchObject({ result: 'success', exchange: 'completion', mppe: 'match' });
    server.restart();
    expect(await run()).toMatchObject({ result: 'success', exchange: 'reconnect', mppe: 'match' });

    const types = requests.map((r) => (JSON.parse(Buffer.from(r[r.length - 1] === 0 ? r.subarray(0, -1) : r).toString('utf8')) as { Type: number }).Type);
    expect(types).toEqual([1, 2, 3, 1, 6, 1, 7, 8, 9]);
    for (const r of requests) {
      expect(r[r.length - 1] === 0).toBe(vogeltak);
      // Exactly one terminator, and no other NUL.
      expect(r.subarray(0, -1).includes(0)).toBe(false);
    }
    const type7 = JSON.parse(Buffer.from(requests[6]!.subarray(0, vogeltak ? -1 : undefined)).toString('utf8')) as Record<string, unknown>;
    // ServerInfo did not change since the registration: only the vogeltak profile repeats it.
    expect('ServerInfo' in type7).toBe(vogeltak);
  });
});
