import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { decodeEap, encodeEap } from '../../../src/eap-methods/eap-packet.js';
import { noobId as noobIdOf } from '../../../src/noob/crypto/digests.js';
import { systemRandom } from '../../../src/noob/crypto/random.js';
import { createNoobMethod } from '../../../src/noob/method.js';
import { encodeResponse } from '../../../src/noob/message-codec.js';
import { issueServerToPeerOob } from '../../../src/noob/oob.js';
import { resolvePeerConfig } from '../../../src/peer/noob/config.js';
import { acceptServerOob, peerOobToShow } from '../../../src/peer/noob/oob.js';
import { peerStep, startPeerConversation } from '../../../src/peer/noob/peer-state-machine.js';
import { runNoobConversation, runNoobPeer, type EapTransport, type EapTransportReply } from '../../../src/peer/noob/runner.js';
import { PeerStateFile } from '../../../src/peer/noob/state-file.js';
import { MemoryPeerStateStore, peerIdentity, type NoobPeerState } from '../../../src/peer/noob/state.js';
import { MemoryNoobPeerStore } from '../../../src/store/noob-peers.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { loopback, PEER_INFO, TestClock } from '../../noob/helpers.js';
import { text, utf8, V } from '../../noob/vectors.js';

const CFG = resolvePeerConfig({ peerInfo: PEER_INFO });
const NOW = new Date('2026-01-01T00:00:00Z');
const env = { config: CFG, now: NOW, random: systemRandom };
const P = V.inputs.PeerId;
const c1 = V.initial_waiting_completion.cs1.messages;

function answer(state: NoobPeerState, requests: string[], config = CFG) {
  let conv = startPeerConversation('@noob.eap.arpa');
  let s = state;
  const out: { response: Record<string, unknown>; save?: NoobPeerState }[] = [];
  for (const r of requests) {
    const step = peerStep(conv, s, utf8(r), { ...env, config });
    conv = step.conv;
    if (step.save) s = step.save;
    out.push({ response: JSON.parse(text(encodeResponse(step.response))) as Record<string, unknown>, ...(step.save ? { save: step.save } : {}) });
  }
  return { out, conv, state: s };
}
const FRESH: NoobPeerState = { format: 1, state: 0 };
const last = (r: ReturnType<typeof answer>) => r.out[r.out.length - 1]!.response;

describe('peer error responses', () => {
  it('3001 / 3002 / 3003 / 5003 in the Initial Exchange', () => {
    const req2 = (o: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(c1.req2), ...o });
    expect(last(answer(FRESH, [c1.req1, req2({ Vers: [2] })]))).toMatchObject({ Type: 0, ErrorCode: 3001 });
    expect(last(answer(FRESH, [c1.req1, req2({ Cryptosuites: [7] })]))).toMatchObject({ Type: 0, ErrorCode: 3002 });
    expect(last(answer(FRESH, [c1.req1, req2({ Dirs: 2 })], resolvePeerConfig({ peerInfo: PEER_INFO, directions: 1 })))).toMatchObject({ Type: 0, ErrorCode: 3003 });
    expect(last(answer(FRESH, [c1.req1, req2({ ServerInfo: { ServerURL: 'ftp://x.example' } })]))).toMatchObject({ Type: 0, ErrorCode: 5003 });
    expect(last(answer(FRESH, [c1.req1, req2({ ServerInfo: { a: 'x'.repeat(500) } })]))).toMatchObject({ Type: 0, ErrorCode: 5002 });
  });

  it('1004 for a request out of order, 2004 for another PeerId, 1005 for a bad PKs; nothing saved', () => {
    expect(answer(FRESH, [c1.req1, c1.req3]).out[1]).toEqual({ response: expect.objectContaining({ ErrorCode: 1004 }) });
    expect(answer(FRESH, [c1.req1, c1.req4]).out[1]!.response).toMatchObject({ ErrorCode: 1004 });
    const otherId = c1.req3.replace(P, 'OtherPeerIdOtherPeerId');
    expect(answer(FRESH, [c1.req1, c1.req2, otherId]).out[2]).toEqual({ response: expect.objectContaining({ ErrorCode: 2004 }) });
    const badKey = c1.req3.replace('hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo', 'A'.repeat(43));
    expect(answer(FRESH, [c1.req1, c1.req2, badKey]).out[2]).toEqual({ response: expect.objectContaining({ ErrorCode: 1005 }) });
    expect(answer(FRESH, ['{"Type":1,"x":1}']).out[0]!.response).toMatchObject({ ErrorCode: 1002 });
  });

  it('answers a server error with a Type-0 response; 2001 makes the peer back off', () => {
    const r = answer(FRESH, ['{"Type":0,"ErrorCode":2001,"ErrorInfo":"go away"}']);
    expect(r.out[0]!.response).toEqual({ Type: 0, ErrorCode: 2001 });
    expect(Date.parse(r.state.unwantedUntil!)).toBe(NOW.getTime() + 3600_000);
  });

  it('Completion: unknown NoobId → 2003 (state kept), bad MACs → 4001 (state kept)', () => {
    const init = answer(FRESH, [c1.req1, c1.req2, c1.req3]);
    const s1 = init.state;
    const req6 = (noobId: string, macs: string) => `{"Type":6,"PeerId":"${s1.ephemeral!.peerId}","NoobId":"${noobId}","MACs":"${macs}"}`;
    const shown = peerOobToShow(s1, env)!;
    const r = answer(shown.state, [`{"Type":1}`, req6('AAAAAAAAAAAAAAAAAAAAAA', 'A'.repeat(43))]);
    expect(r.out[1]).toEqual({ response: expect.objectContaining({ ErrorCode: 2003 }) });
    const noobId = noobIdOf(1, shown.message.noob, 'concat');
    const bad = answer(shown.state, [`{"Type":1}`, req6(noobId, 'A'.repeat(43))]);
    expect(bad.out[1]).toEqual({ response: expect.objectContaining({ ErrorCode: 4001 }) });
  });

  it('a server 2003 after our type 5 sends us back to state 1', () => {
    const s2: NoobPeerState = { format: 1, state: 2, ephemeral: { ...answer(FRESH, [c1.req1, c1.req2, c1.req3]).state.ephemeral!, receivedOob: { noob: V.inputs.Noob_b64, hoob: 'x', at: NOW.toISOString() } } };
    const r = answer(s2, ['{"Type":1}', `{"Type":5,"PeerId":"${P}"}`, `{"Type":0,"PeerId":"${P}","ErrorCode":2003}`]);
    expect(r.state.state).toBe(1);
    expect(r.state.ephemeral?.receivedOob).toBeUndefined();
  });

  it('Reconnect: a new suite without KeyingMode 3 → 1003; a server error leaves state 3', () => {
    const s3: NoobPeerState = { format: 1, state: 3, association: { peerId: P, verp: 1, cryptosuite: 1, nai: 'noob@x.org', kz: 'A'.repeat(43), serverInfo: '{}', peerInfo: PEER_INFO } };
    const cfg2 = resolvePeerConfig({ peerInfo: PEER_INFO, cryptosuites: [2, 1] });
    const r = answer(s3, ['{"Type":1}', `{"Type":7,"Vers":[1],"PeerId":"${P}","Cryptosuites":[1,2]}`, `{"Type":8,"PeerId":"${P}","KeyingMode":1,"Ns2":"${'A'.repeat(43)}"}`], cfg2);
    expect(r.out[2]!.response).toMatchObject({ ErrorCode: 1003 });
    const s4: NoobPeerState = { ...s3, state: 4 };
    const e = answer(s4, ['{"Type":1}', `{"Type":0,"PeerId":"${P}","ErrorCode":4001}`]);
    expect(e.out[0]!.response).toMatchObject({ PeerState: 3 });
    expect(e.state.state).toBe(3);
  });
});

describe('peer OOB step', () => {
  const init = answer(FRESH, [c1.req1, c1.req2, c1.req3]).state; // Dirp 1 (preferred)

  it('shows a new Noob every NoobInterval, forgets them after NoobTimeout', () => {
    const a = peerOobToShow(init, env)!;
    expect(a.created).toBe(true);
    expect(a.text).toMatch(/^https:\/\/noob\.example\.org\/sendOOB\?P=07KRU6OgqX0HIeRFldnbSW&N=[\w-]{22}&H=[\w-]{22}$/);
    const again = peerOobToShow(a.state, { ...env, now: new Date(NOW.getTime() + 1000) })!;
    expect(again.created).toBe(false);
    expect(again.message).toEqual(a.message);
    const later = peerOobToShow(a.state, { ...env, now: new Date(NOW.getTime() + 1800_000) })!;
    expect(later.created).toBe(true);
    expect(later.state.ephemeral!.sentOobs).toHaveLength(2);
    const muchLater = peerOobToShow(later.state, { ...env, now: new Date(NOW.getTime() + 3601_000 + 1800_000) })!;
    expect(muchLater.state.ephemeral!.sentOobs).toHaveLength(1);
    expect(peerOobToShow({ ...init, state: 2 }, env)).toBeUndefined();
  });

  it('accepts a valid server-to-peer code once; counts bad ones; starts over after OobRetries', async () => {
    // A registration with Dirp 2 against a real server.
    const store = new MemoryNoobPeerStore();
    const clock = new TestClock();
    const method = createNoobMethod({ store, config: { oobUrl: 'https://g.example/noob' }, clock: clock.now, log: new MemoryLog() });
    const ps = new MemoryPeerStateStore();
    const cfg = resolvePeerConfig({ peerInfo: PEER_INFO, preferredDirection: 2, oobRetries: 3 });
    await runNoobPeer({ transport: loopback(() => method), store: ps, config: cfg, log: new MemoryLog(), clock: clock.now });
    const s = await ps.load();
    const issued = await issueServerToPeerOob({ store, config: method.config, clock: clock.now }, s.ephemeral!.peerId);
    if (!issued.ok) throw new Error();
    const e = { config: cfg, now: clock.now() };
    expect(acceptServerOob(s, 'garbage', e)).toMatchObject({ ok: false, reason: 'malformed' });
    const wrongPeer = acceptServerOob(s, issued.url.replace(/P=[^&]+/, 'P=OtherPeerIdOtherPeerId'), e);
    expect(wrongPeer).toMatchObject({ ok: false, reason: 'wrong-peer' });
    const wrongHoob = acceptServerOob(wrongPeer.state, issued.url.replace(/H=[^&]+/, 'H=AAAAAAAAAAAAAAAAAAAAAA'), e);
    expect(wrongHoob).toMatchObject({ ok: false, reason: 'hoob-mismatch' });
    expect(wrongHoob.state.ephemeral?.oobRejections).toBe(2);
    const ok = acceptServerOob(wrongHoob.state, issued.url, e);
    expect(ok).toMatchObject({ ok: true, state: { state: 2 } });
    expect(acceptServerOob(ok.state, issued.url, e)).toMatchObject({ ok: false, reason: 'not-waiting' });
    const exhausted = acceptServerOob(wrongHoob.state, issued.url.replace(/H=[^&]+/, 'H=AAAAAAAAAAAAAAAAAAAAAA'), e);
    expect(exhausted).toMatchObject({ ok: false, reason: 'retries-exhausted', state: { state: 0 } });
    expect(acceptServerOob(init, issued.url, { config: CFG, now: NOW })).toMatchObject({ ok: false, reason: 'direction-not-negotiated' });
  });
});

describe('peer identity (RFC 9140 §3.3.1, RFC 9965)', () => {
  const init = answer(FRESH, [c1.req1, c1.req2, c1.req3]).state;
  it('provisioning identity first, NewNAI once given, the association NAI once registered', () => {
    expect(peerIdentity(FRESH, CFG)).toBe('@noob.eap.arpa');
    expect(peerIdentity(FRESH, CFG, true)).toBe('noob@eap-noob.arpa');
    expect(peerIdentity(FRESH, resolvePeerConfig({ peerInfo: '{}', identity: 'dev@x.org' }))).toBe('dev@x.org');
    expect(peerIdentity(FRESH, resolvePeerConfig({ peerInfo: '{}', compat: 'vogeltak' }))).toBe('noob@eap-noob.net');
    expect(peerIdentity(init, CFG)).toBe('noob@example.org');
    const { newNai: _n, ...noNew } = init.ephemeral!;
    expect(peerIdentity({ ...init, ephemeral: noNew }, CFG)).toBe('@noob.eap.arpa');
    expect(peerIdentity({ format: 1, state: 4, association: { peerId: P, verp: 1, cryptosuite: 1, nai: 'noob@y.org', kz: '', serverInfo: '{}', peerInfo: '{}' } }, CFG)).toBe('noob@y.org');
  });
});

describe('state file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'noob-peer-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts empty, saves atomically with mode 0600, leaves no temporary files', async () => {
    const f = new PeerStateFile(join(dir, 'sub', 'peer.json'));
    expect(await f.load()).toEqual({ format: 1, state: 0 });
    const s = answer(FRESH, [c1.req1, c1.req2, c1.req3]).state;
    await f.save(s);
    expect(await f.load()).toEqual(s);
    expect(statSync(f.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['peer.json']);
    expect(readFileSync(f.path, 'utf8')).toContain('"state": 1');
  });

  it('refuses a file that is not a peer state', async () => {
    const path = join(dir, 'x.json');
    writeFileSync(path, '{"hello":1}');
    await expect(new PeerStateFile(path).load()).rejects.toThrow(/not an EAP-NOOB peer state/);
  });
});

describe('runner (EAP layer)', () => {
  function scripted(replies: ((eap: Uint8Array) => EapTransportReply)[]): EapTransport & { sent: Uint8Array[] } {
    const sent: Uint8Array[] = [];
    return {
      sent,
      async sendEap(eap) {
        sent.push(eap);
        const next = replies.shift();
        if (!next) throw new Error('no more replies');
        return next(eap);
      },
    };
  }
  const challenge = (id: number, type: number, data: Uint8Array = new Uint8Array(0)): EapTransportReply => ({ code: 'challenge', eap: encodeEap({ code: 1, identifier: id, type, data }) });

  it('answers Identity and Notification, Naks other methods with 56, and ignores a premature Success', async () => {
    const t = scripted([
      () => challenge(1, 1),
      () => challenge(2, 2, utf8('hello')),
      () => challenge(3, 13),
      () => ({ code: 'accept' }),
    ]);
    const out = await runNoobConversation({ transport: t, store: new MemoryPeerStateStore(), config: CFG, log: new MemoryLog() });
    expect(out).toMatchObject({ result: 'failure', reason: 'premature EAP-Success ignored', noobStarted: false });
    const sent = t.sent.map((b) => decodeEap(b));
    expect(sent.map((p) => ('type' in p ? p.type : p.code))).toEqual([1, 1, 2, 3]);
    expect(sent[3]).toMatchObject({ identifier: 3, data: Uint8Array.of(56) });
  });

  it('falls back to noob@eap-noob.arpa when the server never starts EAP-NOOB for @noob.eap.arpa', async () => {
    const identities: string[] = [];
    const t: EapTransport = {
      async sendEap(eap) {
        const p = decodeEap(eap);
        if (p.code === 2 && p.type === 1) identities.push(Buffer.from(p.data).toString());
        return { code: 'reject' };
      },
    };
    const out = await runNoobPeer({ transport: t, store: new MemoryPeerStateStore(), config: CFG, log: new MemoryLog() });
    expect(identities).toEqual(['@noob.eap.arpa', 'noob@eap-noob.arpa']);
    expect(out.identity).toBe('noob@eap-noob.arpa');
  });

  it('reports MPPE keys that do not match the MSK', async () => {
    const store = new MemoryNoobPeerStore();
    const clock = new TestClock();
    const method = createNoobMethod({ store, config: { oobUrl: 'https://g.example/noob' }, clock: clock.now, log: new MemoryLog() });
    const ps = new MemoryPeerStateStore();
    const lb = loopback(() => method);
    await runNoobPeer({ transport: lb, store: ps, config: CFG, log: new MemoryLog(), clock: clock.now });
    const shown = peerOobToShow(await ps.load(), { config: CFG, now: clock.now(), random: systemRandom })!;
    await ps.save(shown.state);
    const { deliverOob } = await import('../../../src/noob/oob.js');
    await deliverOob({ store, clock: clock.now }, shown.message);
    const tampering: EapTransport = {
      async sendEap(eap) {
        const r = await lb.sendEap(eap);
        return r.code === 'accept' ? { ...r, mppe: { recv: new Uint8Array(32), send: new Uint8Array(32) } } : r;
      },
    };
    const out = await runNoobPeer({ transport: tampering, store: ps, config: CFG, log: new MemoryLog(), clock: clock.now });
    expect(out).toMatchObject({ result: 'success', mppe: 'mismatch' });
  });

  it('moves a registered peer to state 3 before it starts', async () => {
    const ps = new MemoryPeerStateStore({ format: 1, state: 4, association: { peerId: P, verp: 1, cryptosuite: 1, nai: 'noob@y.org', kz: 'A'.repeat(43), serverInfo: '{}', peerInfo: '{}' } });
    const out = await runNoobConversation({ transport: { sendEap: async () => ({ code: 'reject' }) }, store: ps, config: CFG, log: new MemoryLog() });
    expect(out.identity).toBe('noob@y.org');
    expect((await ps.load()).state).toBe(3);
  });
});

describe('one transcript for both sides', () => {
  it.each([
    ['cryptosuite 1, NewNAI', {}, {}],
    ['cryptosuite 2, no NewNAI', { newNai: undefined }, { cryptosuites: [2, 1] as (1 | 2)[] }],
  ] as const)('%s: after the Initial Exchange the server and the peer hold the same slot texts', async (_n, server, peer) => {
    const store = new MemoryNoobPeerStore();
    const clock = new TestClock();
    const method = createNoobMethod({ store, config: { oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org', ...server }, clock: clock.now, log: new MemoryLog() });
    const peerStore = new MemoryPeerStateStore();
    await runNoobPeer({ transport: loopback(() => method), store: peerStore, config: resolvePeerConfig({ peerInfo: PEER_INFO, ...peer }), log: new MemoryLog(), clock: clock.now });
    const ps = await peerStore.load();
    const rec = await store.get(ps.ephemeral!.peerId);
    expect(rec?.ephemeral?.transcript).toEqual(ps.ephemeral!.transcript);
  });
});
