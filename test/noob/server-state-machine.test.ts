/**
 * Server behaviour for each (server state, incoming message) pair, including every error path:
 * the error message sent, EAP-Failure after it, a log line, and what is (not) written.
 */
import fc from 'fast-check';

import type { EapMethodSession, Step } from '../../src/eap-methods/method.js';
import type { NoobConfig } from '../../src/noob/config.js';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { encodeResponse } from '../../src/noob/message-codec.js';
import type { NoobRequest } from '../../src/noob/messages.js';
import { createNoobMethod, type NoobMethod } from '../../src/noob/method.js';
import { deliverOob, issueServerToPeerOob } from '../../src/noob/oob.js';
import { resolvePeerConfig, type NoobPeerConfig } from '../../src/peer/noob/config.js';
import { acceptServerOob, peerOobToShow } from '../../src/peer/noob/oob.js';
import { peerStep, startPeerConversation, type PeerConversation } from '../../src/peer/noob/peer-state-machine.js';
import { runNoobPeer } from '../../src/peer/noob/runner.js';
import { MemoryPeerStateStore, type NoobPeerState } from '../../src/peer/noob/state.js';
import { MemoryNoobPeerStore, type NoobPeerRecord, type NoobPeerStore, type NoobPeerWrite } from '../../src/store/noob-peers.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { loopback, PEER_INFO, TestClock } from './helpers.js';
import { text, utf8 } from './vectors.js';

const BASE: NoobConfig = { oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org' };

class Harness {
  readonly clock = new TestClock();
  readonly log = new MemoryLog();
  store: NoobPeerStore;
  method: NoobMethod;
  readonly peerStore = new MemoryPeerStateStore();
  readonly peerConfig: ReturnType<typeof resolvePeerConfig>;

  constructor(config: Partial<NoobConfig> = {}, peer: Partial<NoobPeerConfig> = {}, store: NoobPeerStore = new MemoryNoobPeerStore()) {
    this.store = store;
    this.method = createNoobMethod({ store, config: { ...BASE, ...config }, clock: this.clock.now, log: this.log });
    this.peerConfig = resolvePeerConfig({ peerInfo: PEER_INFO, ...peer });
  }

  /** Runs our peer through the loopback until the server is in `target` for this peer. */
  async reach(target: 1 | 2 | 3 | 4, dirp: 1 | 2 = 1, account?: string): Promise<{ peerId: string; state: NoobPeerState }> {
    const t = loopback(() => this.method, this.log);
    const cfg = { ...this.peerConfig, preferredDirection: dirp };
    const run = () => runNoobPeer({ transport: t, store: this.peerStore, config: cfg, log: new MemoryLog(), clock: this.clock.now });
    await run();
    let s = await this.peerStore.load();
    const peerId = s.ephemeral!.peerId;
    if (target === 1) return { peerId, state: s };
    if (dirp === 1) {
      const shown = peerOobToShow(s, { config: cfg, now: this.clock.now(), random: systemRandom })!;
      await this.peerStore.save(shown.state);
      const r = await deliverOob({ store: this.store, clock: this.clock.now }, shown.message, account !== undefined ? { account } : {});
      if (!r.ok) throw new Error(r.detail);
    } else {
      const issued = await issueServerToPeerOob({ store: this.store, config: this.method.config, clock: this.clock.now }, peerId, account !== undefined ? { account } : {});
      if (!issued.ok) throw new Error(issued.detail);
      const acc = acceptServerOob(s, issued.url, { config: cfg, now: this.clock.now() });
      if (!acc.ok) throw new Error(acc.detail);
      await this.peerStore.save(acc.state);
    }
    s = await this.peerStore.load();
    if (target === 2) return { peerId, state: s };
    const done = await run();
    if (done.result !== 'success') throw new Error(`completion failed: ${done.reason}`);
    if (target === 3) {
      const rec = (await this.store.get(peerId))!;
      await this.store.transition(peerId, rec.version, { ...rec, state: 3 });
    }
    return { peerId, state: await this.peerStore.load() };
  }

  open(identity = '@noob.eap.arpa'): EapMethodSession {
    return this.method.createSession({ identity, conversationId: 't', maxEapPacket: 1400, nas: { clientName: 'nas' }, log: this.log });
  }
}

function req(s: Step): NoobRequest {
  if (s.kind !== 'request') throw new Error(`expected a request, got ${s.kind} (${'reason' in s ? s.reason : ''})`);
  return JSON.parse(text(s.data)) as NoobRequest;
}

/** Drives a session with our peer's legitimate answers until the server sends `stopAt` (which is returned). */
async function driveTo(
  session: EapMethodSession,
  h: Harness,
  peerState: NoobPeerState,
  stopAt: number,
  peer: Partial<ReturnType<typeof resolvePeerConfig>> = {},
): Promise<{ request: NoobRequest; conv: PeerConversation; state: NoobPeerState }> {
  let conv = startPeerConversation('@noob.eap.arpa');
  let state = peerState.state === 4 ? { ...peerState, state: 3 as const } : peerState;
  let step = await session.start();
  for (;;) {
    const r = req(step);
    if (r.Type === stopAt) return { request: r, conv, state };
    const out = peerStep(conv, state, utf8(JSON.stringify(r)), { config: { ...h.peerConfig, ...peer }, now: h.clock.now(), random: systemRandom });
    conv = out.conv;
    if (out.save) state = out.save;
    step = await session.step(encodeResponse(out.response));
  }
}

async function expectError(session: EapMethodSession, response: string, code: number): Promise<void> {
  const r = req(await session.step(utf8(response)));
  expect(r).toMatchObject({ Type: 0, ErrorCode: code });
  // Whatever the peer answers to our error, the conversation ends in EAP-Failure.
  expect((await session.step(utf8(`{"Type":0,"ErrorCode":${code}}`))).kind).toBe('failure');
}

function snapshot(r: NoobPeerRecord | undefined): unknown {
  return r === undefined ? undefined : { ...r, ephemeral: r.ephemeral && { ...r.ephemeral, z: Buffer.from(r.ephemeral.z).toString('hex') } };
}

// ---------------------------------------------------------------------------------------------

type ServerCase = 'none' | 'expired' | 1 | 2 | 3 | 4;

/** RFC 9140 Table 1 (§3.2.1): the request that follows type 1, or the 2002 error. */
const TABLE: Record<0 | 1 | 2 | 3, Record<string, number | 'E2002'>> = {
  0: { none: 2, expired: 2, 1: 2, 2: 2, 3: 'E2002', 4: 'E2002' },
  1: { none: 2, expired: 2, 1: 4, 2: 6, 3: 'E2002', 4: 'E2002' },
  2: { none: 2, expired: 2, 1: 5, 2: 5, 3: 'E2002', 4: 'E2002' },
  3: { none: 'E2002', expired: 'E2002', 1: 'E2002', 2: 'E2002', 3: 7, 4: 7 },
};

describe('type 1: exchange selection for every (peer state, server state)', () => {
  const cases: [0 | 1 | 2 | 3, ServerCase][] = [];
  for (const p of [0, 1, 2, 3] as const) for (const s of ['none', 'expired', 1, 2, 3, 4] as const) cases.push([p, s]);

  it.each(cases)('peer %d, server %s', async (p, s) => {
    const h = new Harness();
    let peerId = 'UnknownPeerIdUnknownPe';
    if (s !== 'none') {
      const got = await h.reach(s === 'expired' ? 1 : s, p === 2 && s === 1 ? 1 : 1);
      peerId = got.peerId;
      if (s === 1 && p === 2) {
        // Server in 1 with a pending server-to-peer message the peer claims to have read.
        await h.store.transition(peerId, (await h.store.get(peerId))!.version, { ...(await h.store.get(peerId))!, ephemeral: { ...(await h.store.get(peerId))!.ephemeral!, dirp: 3 } });
      }
      if (s === 'expired') h.clock.advance(86400 + 1);
    }
    const before = snapshot(await h.store.get(peerId));
    const session = h.open();
    expect(req(await session.start())).toEqual({ Type: 1 });
    const rsp1 = p === 0 ? `{"Type":1,"PeerId":"${peerId}","PeerState":0}` : `{"Type":1,"PeerId":"${peerId}","PeerState":${p}}`;
    const expected = TABLE[p][String(s)]!;
    const out = req(await session.step(utf8(rsp1)));
    if (expected === 'E2002') {
      expect(out).toMatchObject({ Type: 0, ErrorCode: 2002, PeerId: peerId });
      expect((await session.step(utf8('{"Type":0,"ErrorCode":2002}'))).kind).toBe('failure');
      expect(h.log.lines.some((l) => l.level === 'warn' && (l.obj as { errorCode?: number }).errorCode === 2002)).toBe(true);
    } else {
      expect(out.Type).toBe(expected);
      // A new Initial Exchange always gets a fresh PeerId; it never reuses or resets the old record.
      if (expected === 2) expect((out as { PeerId: string }).PeerId).not.toBe(peerId);
    }
    expect(snapshot(await h.store.get(peerId))).toEqual(before);
  });

  it('a peer in state 0 without PeerId gets the Initial Exchange', async () => {
    const h = new Harness();
    const s = h.open();
    await s.start();
    expect(req(await s.step(utf8('{"Type":1,"PeerState":0}'))).Type).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------

interface Phase {
  name: string;
  /** Server state to set up, Dirp, and the request type at which the bad message is injected. */
  setup: (h: Harness) => Promise<{ session: EapMethodSession; peerId?: string; request: NoobRequest }>;
  /** A well-formed response of a type other than the expected one. */
  wrongType: (peerId: string) => string;
  /** A well-formed response of the expected type but with another PeerId (undefined for type 1). */
  otherPeerId?: string;
  expectedType: number;
  reconnect?: boolean;
}

const OTHER = 'OtherPeerIdOtherPeerId';
const N32 = 'PYO7NVd9Af3BxEri1MI6hL8Ck49YxwCjSRPqlC1SPbw';
const N16 = 'x3JlolaPciK4Wa6XlMJxtQ';

async function at(h: Harness, target: 0 | 1 | 2 | 3 | 4, dirp: 1 | 2, stopAt: number) {
  const got = target === 0 ? { peerId: undefined, state: { format: 1 as const, state: 0 as const } } : await h.reach(target, dirp);
  const session = h.open();
  const { request } = await driveTo(session, h, got.state, stopAt);
  return { session, peerId: got.peerId ?? (request as { PeerId?: string }).PeerId, request };
}

const PHASES: Phase[] = [
  {
    name: 'await-1',
    setup: async (h) => {
      const session = h.open();
      return { session, request: req(await session.start()) };
    }, wrongType: (p) => `{"Type":4,"PeerId":"${p}"}`, expectedType: 1 },
  { name: 'await-2 (Initial)', setup: (h) => at(h, 0, 1, 2), wrongType: (p) => `{"Type":3,"PeerId":"${p}","PKp":${'{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}'},"Np":"${N32}"}`, otherPeerId: `{"Type":2,"Verp":1,"PeerId":"${OTHER}","Cryptosuitep":1,"Dirp":1,"PeerInfo":{}}`, expectedType: 2 },
  { name: 'await-3 (Initial)', setup: (h) => at(h, 0, 1, 3), wrongType: (p) => `{"Type":4,"PeerId":"${p}"}`, otherPeerId: `{"Type":3,"PeerId":"${OTHER}","PKp":{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"},"Np":"${N32}"}`, expectedType: 3 },
  { name: 'await-4 (Waiting)', setup: (h) => at(h, 1, 1, 4), wrongType: (p) => `{"Type":5,"PeerId":"${p}","NoobId":"${N16}"}`, otherPeerId: `{"Type":4,"PeerId":"${OTHER}"}`, expectedType: 4 },
  { name: 'await-5 (Completion)', setup: (h) => at(h, 2, 2, 5), wrongType: (p) => `{"Type":6,"PeerId":"${p}","MACp":"${N32}"}`, otherPeerId: `{"Type":5,"PeerId":"${OTHER}","NoobId":"${N16}"}`, expectedType: 5 },
  { name: 'await-6 (Completion)', setup: (h) => at(h, 2, 1, 6), wrongType: (p) => `{"Type":5,"PeerId":"${p}","NoobId":"${N16}"}`, otherPeerId: `{"Type":6,"PeerId":"${OTHER}","MACp":"${N32}"}`, expectedType: 6 },
  { name: 'await-7 (Reconnect)', setup: (h) => at(h, 4, 1, 7), wrongType: (p) => `{"Type":9,"PeerId":"${p}","MACp2":"${N32}"}`, otherPeerId: `{"Type":7,"Verp":1,"PeerId":"${OTHER}","Cryptosuitep":1}`, expectedType: 7, reconnect: true },
  { name: 'await-8 (Reconnect)', setup: (h) => at(h, 4, 1, 8), wrongType: (p) => `{"Type":7,"Verp":1,"PeerId":"${p}","Cryptosuitep":1}`, otherPeerId: `{"Type":8,"PeerId":"${OTHER}","Np2":"${N32}"}`, expectedType: 8, reconnect: true },
  { name: 'await-9 (Reconnect)', setup: (h) => at(h, 4, 1, 9), wrongType: (p) => `{"Type":8,"PeerId":"${p}","Np2":"${N32}"}`, otherPeerId: `{"Type":9,"PeerId":"${OTHER}","MACp2":"${N32}"}`, expectedType: 9, reconnect: true },
];

describe.each(PHASES)('$name', (phase) => {
  async function prepared() {
    const h = new Harness();
    const { session, peerId, request } = await phase.setup(h);
    const before = peerId ? snapshot(await h.store.get(peerId)) : undefined;
    const count = await h.store.countEphemeral();
    return { h, session, peerId: peerId ?? (request as { PeerId?: string }).PeerId ?? 'x', before, count };
  }
  /** Stored state after an error: unchanged, except a failed Reconnect which leaves state 3. */
  async function unchanged(h: Harness, peerId: string, before: unknown, count: number) {
    const now = snapshot(await h.store.get(peerId));
    if (phase.reconnect) expect(now).toMatchObject({ ...(before as object), state: 3, version: (before as { version: number }).version + 1, updatedAt: expect.anything() });
    else expect(now).toEqual(before);
    expect(await h.store.countEphemeral()).toBe(count);
  }

  it('a message of another type → 1004', async () => {
    const { h, session, peerId, before, count } = await prepared();
    await expectError(session, phase.wrongType(peerId), 1004);
    await unchanged(h, peerId, before, count);
  });

  it('malformed JSON → 1002', async () => {
    const { h, session, peerId, before, count } = await prepared();
    await expectError(session, `{"Type":${phase.expectedType},`, 1002);
    await unchanged(h, peerId, before, count);
  });

  it('an unknown member → 1002', async () => {
    const { h, session, peerId, before, count } = await prepared();
    await expectError(session, `{"Type":${phase.expectedType},"PeerId":"${peerId}","PeerState":1,"Bogus":1}`, 1002);
    await unchanged(h, peerId, before, count);
  });

  if (phase.otherPeerId) {
    it('another PeerId → 2004', async () => {
      const { h, session, peerId, before, count } = await prepared();
      await expectError(session, phase.otherPeerId!, 2004);
      await unchanged(h, peerId, before, count);
    });
  }

  it('an error from the peer → EAP-Failure, logged', async () => {
    const { h, session, peerId, before, count } = await prepared();
    expect((await session.step(utf8(`{"Type":0,"PeerId":"${peerId}","ErrorCode":5001,"ErrorInfo":"oops"}`))).kind).toBe('failure');
    expect(h.log.lines.some((l) => (l.obj as { errorCode?: number }).errorCode === 5001)).toBe(true);
    await unchanged(h, peerId, before, count);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Initial Exchange errors', () => {
  async function at2(config: Partial<NoobConfig> = {}) {
    const h = new Harness(config);
    const s = h.open();
    await s.start();
    const r2 = req(await s.step(utf8('{"Type":1,"PeerState":0}'))) as { PeerId: string };
    return { h, s, p: r2.PeerId };
  }
  const rsp2 = (p: string, o: { Verp?: number; Cryptosuitep?: number; Dirp?: number; PeerInfo?: string } = {}) =>
    `{"Type":2,"Verp":${o.Verp ?? 1},"PeerId":"${p}","Cryptosuitep":${o.Cryptosuitep ?? 1},"Dirp":${o.Dirp ?? 1},"PeerInfo":${o.PeerInfo ?? '{}'}}`;

  it('Verp not offered → 1003', async () => {
    const { s, p } = await at2();
    await expectError(s, rsp2(p, { Verp: 2 }), 1003);
  });
  it('Cryptosuitep not offered → 1003', async () => {
    const { s, p } = await at2({ cryptosuites: [1] });
    await expectError(s, rsp2(p, { Cryptosuitep: 2 }), 1003);
  });
  it('Dirp not offered → 1003', async () => {
    const { s, p } = await at2({ dirs: 1 });
    await expectError(s, rsp2(p, { Dirp: 2 }), 1003);
  });
  it('PeerInfo over 500 bytes → 5004', async () => {
    const { s, p } = await at2();
    await expectError(s, rsp2(p, { PeerInfo: `{"a":"${'x'.repeat(493)}"}` }), 5004);
  });
  it.each([
    ['a P-256 key for suite 1', '{"kty":"EC","crv":"P-256","x":"0S37UonI1PgSCLcCcDmMNCKWlwoLzLdMc2_HVUSUv2M","y":"VvvzyjZswj6BV4VME8WNaqwj8Eatow-DU-dPMwOYcqs"}'],
    ['a low-order X25519 point', `{"kty":"OKP","crv":"X25519","x":"${'A'.repeat(43)}"}`],
    ['kty EC for X25519 without compatibility', '{"kty":"EC","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}'],
  ])('PKp %s → 1005, nothing stored', async (_w, pkp) => {
    const { h, s, p } = await at2();
    await s.step(utf8(rsp2(p)));
    await expectError(s, `{"Type":3,"PeerId":"${p}","PKp":${pkp},"Np":"${N32}"}`, 1005);
    expect(await h.store.get(p)).toBeUndefined();
  });
  it('an invalid identity → 1001; a malformed eap.arpa identity → plain EAP-Failure', async () => {
    const h = new Harness();
    const bad = h.open('not an nai@');
    expect(req(await bad.start())).toMatchObject({ Type: 0, ErrorCode: 1001 });
    expect((await bad.step(utf8('{"Type":1,"PeerState":0}'))).kind).toBe('failure');
    expect((await h.open('a b@noob.eap.arpa').start()).kind).toBe('failure');
  });
  it('the ephemeral table is bounded: a full table refuses new registrations, logged', async () => {
    const h = new Harness({ maxEphemeralPeers: 1 });
    await h.reach(1);
    const h2 = new Harness({ maxEphemeralPeers: 1 }, {}, h.store);
    const t = loopback(() => h2.method, h2.log);
    const out = await runNoobPeer({ transport: t, store: new MemoryPeerStateStore(), config: h2.peerConfig, log: new MemoryLog() });
    expect(out.result).toBe('failure');
    expect(await h.store.countEphemeral()).toBe(1);
    expect(h2.log.lines.some((l) => l.msg?.includes('too many unfinished registrations'))).toBe(true);
  });
});

describe('Waiting Exchange', () => {
  it('counts exchanges and answers 2001 after maxWaitingExchanges, without touching the record', async () => {
    const h = new Harness({ maxWaitingExchanges: 2 });
    const { peerId, state } = await h.reach(1);
    for (let i = 1; i <= 2; i++) {
      const s = h.open();
      const { request } = await driveTo(s, h, state, 4);
      expect(request).toMatchObject({ Type: 4, PeerId: peerId, SleepTime: 60 });
      expect((await s.step(utf8(`{"Type":4,"PeerId":"${peerId}"}`))).kind).toBe('failure');
      expect((await h.store.get(peerId))?.ephemeral?.waitingExchanges).toBe(i);
    }
    const before = snapshot(await h.store.get(peerId));
    const s = h.open();
    await s.start();
    expect(req(await s.step(utf8(`{"Type":1,"PeerId":"${peerId}","PeerState":1}`)))).toMatchObject({ Type: 0, ErrorCode: 2001 });
    expect(snapshot(await h.store.get(peerId))).toEqual(before);
  });
});

describe('Completion Exchange errors', () => {
  it('an unknown NoobId → 2003, server stays in 1', async () => {
    const h = new Harness();
    const { peerId } = await h.reach(2, 2);
    const before = snapshot(await h.store.get(peerId));
    const s = h.open();
    await s.start();
    await s.step(utf8(`{"Type":1,"PeerId":"${peerId}","PeerState":2}`));
    await expectError(s, `{"Type":5,"PeerId":"${peerId}","NoobId":"${N16}"}`, 2003);
    expect(snapshot(await h.store.get(peerId))).toEqual(before);
  });

  it('a MACp that does not verify → 4001, nothing written, the registration survives', async () => {
    for (const dirp of [1, 2] as const) {
      const h = new Harness();
      const { peerId, state } = await h.reach(2, dirp);
      const before = snapshot(await h.store.get(peerId));
      const s = h.open();
      await driveTo(s, h, state, 6);
      await expectError(s, `{"Type":6,"PeerId":"${peerId}","MACp":"${N32}"}`, 4001);
      expect(snapshot(await h.store.get(peerId))).toEqual(before);
      expect(h.log.lines.some((l) => (l.obj as { errorCode?: number }).errorCode === 4001)).toBe(true);
    }
  });

  it('peer answers type 6 with 2003 (peer-to-server case) → server back to 1, OOB dropped', async () => {
    const h = new Harness();
    const { peerId, state } = await h.reach(2, 1);
    const s = h.open();
    await driveTo(s, h, state, 6);
    expect((await s.step(utf8(`{"Type":0,"PeerId":"${peerId}","ErrorCode":2003}`))).kind).toBe('failure');
    expect(await h.store.get(peerId)).toMatchObject({ state: 1, oobs: [] });
  });

  it('the registration is removed during the conversation → 2002 instead of success', async () => {
    const h = new Harness();
    const { peerId, state } = await h.reach(2, 1);
    const s = h.open();
    const { conv, state: ps } = await driveTo(s, h, state, 6);
    const req6 = await (async () => {
      // our peer's real answer
      const one = h.open();
      const d = await driveTo(one, h, state, 6);
      return d.request;
    })();
    await h.store.remove(peerId);
    const out = peerStep(conv, ps, utf8(JSON.stringify(req6)), { config: h.peerConfig, now: h.clock.now(), random: systemRandom });
    await expectError(s, text(encodeResponse(out.response)), 2002);
    expect(await h.store.get(peerId)).toBeUndefined();
  });

  it('a success is only reported after the transition committed', async () => {
    const inner = new MemoryNoobPeerStore();
    let refuse = false;
    const flaky: NoobPeerStore = Object.assign(Object.create(inner) as NoobPeerStore, {
      transition: async (id: string, v: number | null, n: NoobPeerWrite | null) => (refuse ? false : inner.transition(id, v, n)),
    });
    const h = new Harness({}, {}, flaky);
    const { peerId, state } = await h.reach(2, 1);
    const s = h.open();
    const d = await driveTo(s, h, state, 6);
    const out = peerStep(d.conv, d.state, utf8(JSON.stringify(d.request)), { config: h.peerConfig, now: h.clock.now(), random: systemRandom });
    refuse = true;
    expect(await s.step(encodeResponse(out.response))).toMatchObject({ kind: 'failure', reason: 'eap-noob state could not be stored' });
    expect((await inner.get(peerId))?.state).toBe(2);
  });

  it('a store that throws ends the conversation in failure, logged', async () => {
    const inner = new MemoryNoobPeerStore();
    const fail = async (): Promise<never> => {
      throw new Error('disk full');
    };
    const broken: NoobPeerStore = Object.assign(Object.create(inner) as NoobPeerStore, { transition: fail, createRegistration: fail });
    const h = new Harness({}, {}, broken);
    const t = loopback(() => h.method, h.log);
    const out = await runNoobPeer({ transport: t, store: new MemoryPeerStateStore(), config: h.peerConfig, log: new MemoryLog() });
    expect(out.result).toBe('failure');
    expect(h.log.lines.some((l) => l.level === 'error' && l.msg?.includes('store write failed'))).toBe(true);
  });
});

describe('Reconnect Exchange', () => {
  /** A store that counts full reads. */
  function counting(): { store: NoobPeerStore; inner: MemoryNoobPeerStore; gets: () => number } {
    const inner = new MemoryNoobPeerStore();
    let n = 0;
    const store: NoobPeerStore = Object.assign(Object.create(inner) as NoobPeerStore, {
      get: async (id: string) => {
        n++;
        return inner.get(id);
      },
    });
    return { store, inner, gets: () => n };
  }

  it('reads the full record once while it stays unchanged, and only its version at the later steps', async () => {
    const c = counting();
    const h = new Harness({}, {}, c.store);
    const { peerId } = await h.reach(4);
    const before = c.gets();
    const t = loopback(() => h.method, h.log);
    const out = await runNoobPeer({ transport: t, store: h.peerStore, config: h.peerConfig, log: new MemoryLog(), clock: h.clock.now });
    expect({ result: out.result, exchange: out.exchange }).toEqual({ result: 'success', exchange: 'reconnect' });
    expect(c.gets() - before).toBe(1);
    expect((await c.inner.get(peerId))?.state).toBe(4);
  });

  it('a record changed between two steps is read again, and the exchange sees the change', async () => {
    const c = counting();
    const h = new Harness({}, {}, c.store);
    const { peerId, state } = await h.reach(4);
    const s = h.open();
    const d = await driveTo(s, h, state, 8);
    const reads = c.gets();
    // Someone else writes the record (same content, new version) while the Reconnect is at type 8.
    const rec = (await c.inner.get(peerId))!;
    expect(await c.inner.transition(peerId, rec.version, rec)).toBe(true);
    const out = peerStep(d.conv, d.state, utf8(JSON.stringify(d.request)), { config: h.peerConfig, now: h.clock.now(), random: systemRandom });
    const step = await s.step(encodeResponse(out.response));
    expect(c.gets()).toBe(reads + 1);
    expect(step.kind).not.toBe('success');
    if (step.kind === 'request') expect(req(step).Type).toBe(0);
    expect((await c.inner.get(peerId))?.version).toBe(rec.version + 1);
  });

  it('Cryptosuitep not offered → 1003 and state 3; Verp not offered → 1003', async () => {
    const h = new Harness({ cryptosuites: [1] });
    const { peerId, state } = await h.reach(4);
    let s = h.open();
    await driveTo(s, h, state, 7);
    await expectError(s, `{"Type":7,"Verp":1,"PeerId":"${peerId}","Cryptosuitep":2}`, 1003);
    expect((await h.store.get(peerId))?.state).toBe(3);
    s = h.open();
    await driveTo(s, h, state, 7);
    await expectError(s, `{"Type":7,"Verp":2,"PeerId":"${peerId}","Cryptosuitep":1}`, 1003);
  });

  it('PKp2 must be present exactly in KeyingMode 2/3 → 1002', async () => {
    for (const mode of [1, 2] as const) {
      const h = new Harness({ reconnectKeyingMode: mode });
      const { peerId, state } = await h.reach(4);
      const s = h.open();
      await driveTo(s, h, state, 8);
      const body = mode === 1 ? `{"Type":8,"PeerId":"${peerId}","PKp2":{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"},"Np2":"${N32}"}` : `{"Type":8,"PeerId":"${peerId}","Np2":"${N32}"}`;
      await expectError(s, body, 1002);
    }
  });

  it('MACp2 that does not verify → 4001, association kept, state 3', async () => {
    const h = new Harness();
    const { peerId, state } = await h.reach(4);
    const kz = (await h.store.get(peerId))!.association!.kz;
    const s = h.open();
    await driveTo(s, h, state, 9);
    await expectError(s, `{"Type":9,"PeerId":"${peerId}","MACp2":"${N32}"}`, 4001);
    expect(await h.store.get(peerId)).toMatchObject({ state: 3, association: { kz } });
  });

  it('downgrade protection: only suites at least as strong as the registered one are offered', async () => {
    const h = new Harness({ cryptosuiteRank: { 1: 1, 2: 2 } }, { cryptosuites: [2, 1] });
    const { state } = await h.reach(4);
    expect(state.association?.cryptosuite).toBe(2);
    const s = h.open();
    const { request } = await driveTo(s, h, state, 7);
    expect(request).toMatchObject({ Type: 7, Cryptosuites: [2] });
  });

  it('NewNAI and ServerInfo are sent only when they changed, and stored on success', async () => {
    const h = new Harness();
    const { peerId } = await h.reach(4);
    let s = h.open();
    await s.start();
    let r7 = req(await s.step(utf8(`{"Type":1,"PeerId":"${peerId}","PeerState":3}`)));
    expect(r7).toEqual({ Type: 7, Vers: [1], PeerId: peerId, Cryptosuites: [1, 2] });

    const moved = createNoobMethod({ store: h.store, config: { ...BASE, newNai: 'noob@new.example.org', serverName: 'Renamed' }, clock: h.clock.now, log: h.log });
    s = moved.createSession({ identity: 'noob@devices.example.org', conversationId: 'm', maxEapPacket: 1400, nas: { clientName: 'n' }, log: h.log });
    await s.start();
    r7 = req(await s.step(utf8(`{"Type":1,"PeerId":"${peerId}","PeerState":3}`)));
    expect(r7).toMatchObject({ NewNAI: 'noob@new.example.org', ServerInfo: { ServerName: 'Renamed' } });

    h.method = moved;
    const t = loopback(() => moved, h.log);
    const out = await runNoobPeer({ transport: t, store: h.peerStore, config: h.peerConfig, log: new MemoryLog(), clock: h.clock.now });
    expect(out.result).toBe('success');
    expect((await h.store.get(peerId))?.association).toMatchObject({ nai: 'noob@new.example.org', serverInfo: moved.config.serverInfoText });
    expect((await h.peerStore.load()).association).toMatchObject({ nai: 'noob@new.example.org', serverInfo: moved.config.serverInfoText });
    expect(peerIdentityAfter(await h.peerStore.load())).toBe('noob@new.example.org');
  });

  it('an unknown PeerId in state 3 → 2002', async () => {
    const h = new Harness();
    const s = h.open('noob@devices.example.org');
    await s.start();
    await expectError(s, '{"Type":1,"PeerId":"NobodyNobodyNobodyNob","PeerState":3}', 2002);
  });
});

describe('after an error or the end of a conversation', () => {
  it('every further response ends in failure', async () => {
    const h = new Harness();
    const s = h.open();
    await s.start();
    expect(req(await s.step(utf8('{"Type":7}')))).toMatchObject({ Type: 0, ErrorCode: 1002 });
    expect((await s.step(utf8('{"Type":1,"PeerState":0}'))).kind).toBe('failure');
    expect((await s.step(utf8('{"Type":1,"PeerState":0}'))).kind).toBe('failure');
  });
  it('step before start fails', async () => {
    const h = new Harness();
    expect((await h.open().step(utf8('{"Type":1,"PeerState":0}'))).kind).toBe('failure');
  });
  it('a request larger than the link allows is refused (config error), logged', async () => {
    const h = new Harness({ serverInfo: { big: 'x'.repeat(480) } });
    const s = h.method.createSession({ identity: '@noob.eap.arpa', conversationId: 't', maxEapPacket: 300, nas: { clientName: 'n' }, log: h.log });
    await s.start();
    expect((await s.step(utf8('{"Type":1,"PeerState":0}'))).kind).toBe('failure');
    expect(h.log.lines.some((l) => l.level === 'error')).toBe(true);
  });
});

function peerIdentityAfter(s: NoobPeerState): string {
  return s.association!.nai;
}

describe('junk at any point of any exchange', () => {
  it('never throws: the answer is an error request or EAP-Failure, and registered peers stay registered', async () => {
    const h = new Harness();
    const { peerId, state } = await h.reach(4);
    const before = (await h.store.get(peerId))!.association;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1, 7, 8, 9), fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.jsonValue({ maxDepth: 3 }).map((v) => utf8(JSON.stringify(v) ?? 'null'))), async (stopAt, junk) => {
        const s = h.open();
        await driveTo(s, h, state, stopAt);
        const step = await s.step(junk);
        if (step.kind === 'request') expect(req(step).Type).toBe(0);
        else expect(step.kind).toBe('failure');
        expect((await h.store.get(peerId))!.association).toEqual(before);
      }),
      { numRuns: 60 },
    );
  });
});
