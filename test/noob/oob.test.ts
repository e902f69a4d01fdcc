import { resolveNoobConfig } from '../../src/noob/config.js';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { createNoobMethod } from '../../src/noob/method.js';
import { deliverOob, deliverOobFromUrl, formatOobUrl, issueServerToPeerOob, MAX_CONSUMED_OOBS, parseOobMessage, purgeExpiredRegistrations } from '../../src/noob/oob.js';
import { resolvePeerConfig } from '../../src/peer/noob/config.js';
import { peerOobToShow } from '../../src/peer/noob/oob.js';
import { runNoobPeer } from '../../src/peer/noob/runner.js';
import { MemoryPeerStateStore } from '../../src/peer/noob/state.js';
import { MemoryNoobPeerStore } from '../../src/store/noob-peers.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { loopback, PEER_INFO, TestClock } from './helpers.js';

const CONFIG = resolveNoobConfig({ oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org', noobTimeout: 600, maxIssuedOobs: 2 });

async function waitingPeer(dirp: 1 | 2 | 3 = 1) {
  const store = new MemoryNoobPeerStore();
  const clock = new TestClock();
  const log = new MemoryLog();
  const method = createNoobMethod({ store, config: CONFIG, clock: clock.now, log });
  const peerStore = new MemoryPeerStateStore();
  const peerConfig = resolvePeerConfig({ peerInfo: PEER_INFO, directions: dirp, preferredDirection: dirp === 2 ? 2 : 1 });
  await runNoobPeer({ transport: loopback(() => method), store: peerStore, config: peerConfig, log: new MemoryLog(), clock: clock.now });
  const state = await peerStore.load();
  const shown = peerOobToShow(state, { config: peerConfig, now: clock.now(), random: systemRandom });
  return { store, clock, log, peerId: state.ephemeral!.peerId, shown };
}

describe('OOB message format (RFC 9140 Appendix D)', () => {
  const m = { peerId: '07KRU6OgqX0HIeRFldnbSW', noob: 'x3JlolaPciK4Wa6XlMJxtQ', hoob: 'rV8zK-OEvqJ2MywCKjwAsg' };
  it('parses URLs and bare queries, parameters in any order', () => {
    expect(parseOobMessage(formatOobUrl('https://a.example/x', m))).toEqual(m);
    expect(parseOobMessage(`H=${m.hoob}&P=${m.peerId}&N=${m.noob}`)).toEqual(m);
    expect(parseOobMessage(` https://a.example/x?P=${m.peerId}&N=${m.noob}&H=${m.hoob}#frag `)).toEqual(m);
    expect(formatOobUrl('https://a.example/x?lang=en', m)).toBe(`https://a.example/x?lang=en&P=${m.peerId}&N=${m.noob}&H=${m.hoob}`);
  });
  it.each([
    ['missing H', `P=${m.peerId}&N=${m.noob}`],
    ['a duplicate', `P=${m.peerId}&N=${m.noob}&H=${m.hoob}&H=${m.hoob}`],
    ['an extra parameter', `P=${m.peerId}&N=${m.noob}&H=${m.hoob}&X=1`],
    ['a short Noob', `P=${m.peerId}&N=${m.noob.slice(1)}&H=${m.hoob}`],
    ['a non-canonical Noob', `P=${m.peerId}&N=${m.noob.slice(0, -1)}R&H=${m.hoob}`],
    ['a bad PeerId', `P=a%40b&N=${m.noob}&H=${m.hoob}`],
    ['no query', 'https://a.example/x'],
    ['too long', `P=${'a'.repeat(3000)}`],
  ])('rejects %s', (_w, text) => {
    expect(() => parseOobMessage(text)).toThrow();
  });
});

describe('deliverOob (peer-to-server)', () => {
  it('checks Hoob, records the Noob, moves to state 2 and binds the account, in one transition', async () => {
    const { store, clock, peerId, shown } = await waitingPeer();
    const before = await store.get(peerId);
    const r = await deliverOobFromUrl(store, shown!.text, 'alice', { clock: clock.now });
    expect(r).toEqual({ ok: true, peerId, peerInfo: PEER_INFO, account: 'alice' });
    const after = await store.get(peerId);
    expect(after).toMatchObject({ state: 2, account: 'alice', version: before!.version + 1, oobs: [{ direction: 1, noob: shown!.message.noob, hoob: shown!.message.hoob, account: 'alice' }] });
  });

  it('the consumed list is bounded: past MAX_CONSUMED_OOBS rolled-back deliveries the registration is dropped', async () => {
    const { store, clock, peerId, shown } = await waitingPeer();
    const rec = (await store.get(peerId))!;
    const consumedOobs = Array.from({ length: MAX_CONSUMED_OOBS }, (_, i) => ({ direction: 1 as const, hoob: `${String(i).padStart(2, '0')}${'A'.repeat(20)}`, consumedAt: clock.now() }));
    await store.transition(peerId, rec.version, { ...rec, consumedOobs });
    expect(await deliverOob({ store, clock: clock.now }, shown!.message, { account: 'alice' })).toMatchObject({ ok: false, reason: 'retries-exhausted' });
    expect(await store.get(peerId)).toBeUndefined();
  });

  it('a wrong Hoob is counted; after OobRetries the registration is dropped', async () => {
    const { store, clock, peerId, shown } = await waitingPeer();
    const forged = { ...shown!.message, hoob: 'AAAAAAAAAAAAAAAAAAAAAA' };
    for (let i = 1; i <= 4; i++) {
      expect(await deliverOob({ store, clock: clock.now }, forged)).toMatchObject({ ok: false, reason: 'hoob-mismatch' });
      expect((await store.get(peerId))?.ephemeral?.oobRejections).toBe(i);
      expect((await store.get(peerId))?.state).toBe(1);
    }
    expect(await deliverOob({ store, clock: clock.now }, forged)).toMatchObject({ ok: false, reason: 'retries-exhausted' });
    expect(await store.get(peerId)).toBeUndefined();
    expect(await deliverOob({ store, clock: clock.now }, shown!.message)).toMatchObject({ ok: false, reason: 'unknown-peer' });
  });

  it('a Noob from another registration does not verify (Hoob binds the whole Initial Exchange)', async () => {
    const a = await waitingPeer();
    const b = await waitingPeer();
    await a.store.transition(b.peerId, null, { ...(await b.store.get(b.peerId))!, oobs: [] });
    expect(await deliverOob({ store: a.store, clock: a.clock.now }, { ...a.shown!.message, peerId: b.peerId })).toMatchObject({ ok: false, reason: 'hoob-mismatch' });
  });

  it('refuses unknown PeerIds, expired registrations, a replay, and a device that chose server-to-peer', async () => {
    const { store, clock, peerId, shown } = await waitingPeer();
    expect(await deliverOob({ store, clock: clock.now }, { ...shown!.message, peerId: 'NobodyNobodyNobodyNob' })).toMatchObject({ ok: false, reason: 'unknown-peer' });
    expect((await deliverOob({ store, clock: clock.now }, shown!.message)).ok).toBe(true);
    expect(await deliverOob({ store, clock: clock.now }, shown!.message)).toMatchObject({ ok: false, reason: 'already-received' });

    const other = await waitingPeer();
    other.clock.advance(86400 + 1);
    expect(await deliverOob({ store: other.store, clock: other.clock.now }, other.shown!.message)).toMatchObject({ ok: false, reason: 'unknown-peer' });

    const s2p = await waitingPeer(2);
    expect(s2p.shown).toBeUndefined();
    const rec = await s2p.store.get(s2p.peerId);
    expect(await deliverOob({ store: s2p.store, clock: s2p.clock.now }, { peerId: s2p.peerId, noob: 'x3JlolaPciK4Wa6XlMJxtQ', hoob: 'AAAAAAAAAAAAAAAAAAAAAA' })).toMatchObject({ ok: false, reason: 'direction-not-negotiated' });
    expect(await s2p.store.get(s2p.peerId)).toEqual(rec);
    expect(peerId).toBeDefined();
  });

  it('a malformed URL is reported, not thrown', async () => {
    const store = new MemoryNoobPeerStore();
    expect(await deliverOobFromUrl(store, 'https://example.org/nothing')).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('retries when the record changes concurrently, and gives up after three conflicts', async () => {
    const { store, clock, shown } = await waitingPeer();
    let conflicts = 0;
    const flaky = Object.assign(Object.create(store) as MemoryNoobPeerStore, {
      transition: async (...a: Parameters<MemoryNoobPeerStore['transition']>) => (conflicts++ < 2 ? false : store.transition(...a)),
    });
    expect((await deliverOob({ store: flaky, clock: clock.now }, shown!.message)).ok).toBe(true);
    const fresh = await waitingPeer();
    const always = Object.assign(Object.create(fresh.store) as MemoryNoobPeerStore, { transition: async () => false });
    expect(await deliverOob({ store: always, clock: fresh.clock.now }, fresh.shown!.message)).toMatchObject({ ok: false, reason: 'busy' });
  });
});

describe('issueServerToPeerOob', () => {
  it('needs Dirp 2 or 3 and keeps at most maxIssuedOobs unexpired messages', async () => {
    const p2s = await waitingPeer(1);
    expect(await issueServerToPeerOob({ store: p2s.store, config: CONFIG, clock: p2s.clock.now }, p2s.peerId)).toMatchObject({ ok: false, reason: 'direction-not-negotiated' });
    expect(await issueServerToPeerOob({ store: p2s.store, config: CONFIG }, 'NobodyNobodyNobodyNob')).toMatchObject({ ok: false, reason: 'unknown-peer' });

    const { store, clock, peerId } = await waitingPeer(2);
    const a = await issueServerToPeerOob({ store, config: CONFIG, clock: clock.now }, peerId, { account: 'a' });
    const b = await issueServerToPeerOob({ store, config: CONFIG, clock: clock.now }, peerId, { account: 'b' });
    const c = await issueServerToPeerOob({ store, config: CONFIG, clock: clock.now }, peerId, { account: 'c' });
    if (!a.ok || !b.ok || !c.ok) throw new Error('issue failed');
    expect(a.url).toMatch(/^https:\/\/gangway\.example\.org\/noob\?P=/);
    expect(a.expiresAt.getTime() - clock.now().getTime()).toBe(600_000);
    expect((await store.get(peerId))?.oobs.map((o) => o.account)).toEqual(['b', 'c']);
    clock.advance(601);
    const d = await issueServerToPeerOob({ store, config: CONFIG, clock: clock.now }, peerId);
    expect(d.ok).toBe(true);
    expect((await store.get(peerId))?.oobs).toHaveLength(1);
  });
});

describe('housekeeping', () => {
  it('purges expired registrations only, never registered peers', async () => {
    const { store, clock, peerId } = await waitingPeer();
    const now = clock.now();
    await store.transition('RegisteredPeerRegister', null, {
      peerId: 'RegisteredPeerRegister',
      state: 4,
      createdAt: new Date(0),
      updatedAt: new Date(0),
      accountBound: false,
      association: { verp: 1, cryptosuite: 1, nai: 'noob@x.org', kz: new Uint8Array(32), serverInfo: '{}' },
      oobs: [],
      consumedOobs: [],
    });
    expect(await purgeExpiredRegistrations(store, CONFIG, now)).toBe(0);
    expect(await purgeExpiredRegistrations(store, CONFIG, new Date(now.getTime() + (86400 + 601) * 1000))).toBe(1);
    expect(await store.get(peerId)).toBeUndefined();
    expect(await store.get('RegisteredPeerRegister')).toBeDefined();
  });
});
