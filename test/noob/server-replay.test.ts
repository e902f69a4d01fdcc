/**
 * The vector conversations replayed through the server method with the vectors' randomness: every
 * request must come out byte for byte, and success must carry the vectors' MSK/EMSK/Session-Id.
 */
import type { EapMethodSession, Step } from '../../src/eap-methods/method.js';
import type { NoobConfig } from '../../src/noob/config.js';
import { createNoobMethod } from '../../src/noob/method.js';
import { issueServerToPeerOob } from '../../src/noob/oob.js';
import { MemoryNoobPeerStore } from '../../src/store/noob-peers.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { ScriptedRandom, SERVER_INFO, TestClock, vectorServerRandom } from './helpers.js';
import { hex, PROFILES, RECONNECT_CASES, text, toHex, utf8, V, type Profile } from './vectors.js';

const I = V.inputs;

function vectorConfig(profile: Profile, extra: Partial<NoobConfig> = {}): NoobConfig {
  return {
    oobUrl: 'https://noob.example.org/sendOOB',
    serverInfo: SERVER_INFO,
    newNai: I.NewNAI,
    cryptosuites: [1, 2],
    dirs: 3,
    sleepTime: I.SleepTime,
    sleepTimeServerToPeer: I.SleepTime,
    kdfSuppPrivLengthByte: profile === 'rfc_literal',
    noobIdForm: profile === 'rfc_literal' ? 'json' : 'concat',
    ...extra,
  };
}

function session(method: ReturnType<typeof createNoobMethod>, identity: string): EapMethodSession {
  return method.createSession({ identity, conversationId: 'x', maxEapPacket: 1400, nas: { clientName: 't' }, log: new MemoryLog() });
}

function requestText(s: Step): string {
  if (s.kind !== 'request') throw new Error(`expected a request, got ${s.kind}: ${'reason' in s ? s.reason : ''}`);
  return text(s.data);
}

describe.each(['cs1', 'cs2'] as const)('Initial, Waiting, server-to-peer OOB and Completion, %s', (cs) => {
  const c = V.initial_waiting_completion[cs];
  it.each(PROFILES)('profile %s', async (profile) => {
    const p = c.profiles[profile];
    const store = new MemoryNoobPeerStore();
    const clock = new TestClock();
    const random = vectorServerRandom();
    const method = createNoobMethod({ store, config: vectorConfig(profile), clock: clock.now, log: new MemoryLog(), random });

    // Initial Exchange with the provisioning identity.
    const s1 = session(method, I.IdentityNAI_initial);
    expect(requestText(await s1.start())).toBe(c.messages.req1);
    expect(requestText(await s1.step(utf8(c.messages.rsp1)))).toBe(c.messages.req2);
    expect(requestText(await s1.step(utf8(c.messages.rsp2)))).toBe(c.messages.req3);
    expect(await s1.step(utf8(c.messages.rsp3))).toMatchObject({ kind: 'failure' });
    const rec = await store.get(I.PeerId);
    expect(rec).toMatchObject({ state: 1, peerInfo: I.PeerInfo_json, ephemeral: { identity: I.IdentityNAI_initial, newNai: I.NewNAI, cryptosuite: c.cryptosuite, dirp: 2 } });
    expect(toHex(rec!.ephemeral!.z)).toBe((cs === 'cs1' ? V.keys.cs1 : V.keys.cs2).Z_hex);

    // Waiting Exchange with the NewNAI.
    clock.advance(60);
    const s2 = session(method, I.NewNAI);
    expect(requestText(await s2.start())).toBe(c.messages.req1);
    expect(requestText(await s2.step(utf8(c.messages.waiting_rsp1)))).toBe(c.messages.req4);
    expect(await s2.step(utf8(c.messages.rsp4))).toMatchObject({ kind: 'failure' });

    // Server-to-peer OOB message with the vectors' Noob.
    const issued = await issueServerToPeerOob({ store, config: method.config, clock: clock.now, random }, I.PeerId);
    if (!issued.ok) throw new Error(issued.detail);
    expect(issued.message).toEqual({ peerId: I.PeerId, noob: I.Noob_b64, hoob: c.Hoob_b64 });
    expect(issued.url).toBe(`https://noob.example.org/sendOOB?${c.oob_query}`);
    expect(issued.noobId).toBe(p.NoobId_b64);

    // Completion Exchange (types 5 and 6).
    const s3 = session(method, I.NewNAI);
    expect(requestText(await s3.start())).toBe(c.messages.req1);
    expect(requestText(await s3.step(utf8(c.messages.completion_rsp1)))).toBe(c.messages.req5);
    expect(requestText(await s3.step(utf8(p.messages.rsp5)))).toBe(p.messages.req6);
    const done = await s3.step(utf8(p.messages.rsp6));
    if (done.kind !== 'success') throw new Error(`expected success, got ${done.kind}`);
    expect(toHex(done.msk)).toBe(p.MSK_hex);
    expect(toHex(done.emsk!)).toBe(p.EMSK_hex);
    expect(toHex(done.sessionId!)).toBe(p.SessionId_hex);
    const after = await store.get(I.PeerId);
    // No account chose this device; the grant carries the PeerInfo its registration now holds.
    expect(done.grant).toEqual({ identity: I.PeerId, method: 'eap-noob', deviceId: I.PeerId, peerInfo: after?.peerInfo });
    expect(after?.peerInfo).toBe(I.PeerInfo_json);
    expect(after).toMatchObject({ state: 4, association: { cryptosuite: c.cryptosuite, nai: I.NewNAI, serverInfo: SERVER_INFO, verp: 1 } });
    expect(toHex(after!.association!.kz)).toBe(p.Kz_hex);
  });

  it('NoobId in the other spelling is still recognised (D2: accept both)', async () => {
    const store = new MemoryNoobPeerStore();
    const random = vectorServerRandom();
    const method = createNoobMethod({ store, config: vectorConfig('aalto'), log: new MemoryLog(), random });
    const s1 = session(method, I.IdentityNAI_initial);
    await s1.start();
    await s1.step(utf8(c.messages.rsp1));
    await s1.step(utf8(c.messages.rsp2));
    await s1.step(utf8(c.messages.rsp3));
    await issueServerToPeerOob({ store, config: method.config, random }, I.PeerId);
    const s3 = session(method, I.NewNAI);
    await s3.start();
    await s3.step(utf8(c.messages.completion_rsp1));
    // The peer uses the RFC-literal NoobId; we echo it and the MACs do not depend on it.
    const req6 = requestText(await s3.step(utf8(c.profiles.rfc_literal.messages.rsp5)));
    expect(JSON.parse(req6)).toMatchObject({ NoobId: c.profiles.rfc_literal.NoobId_b64, MACs: c.profiles.aalto.MACs_b64 });
  });
});

describe.each(RECONNECT_CASES)('Reconnect %s', (name) => {
  const c = V.reconnect[name];
  it.each([
    ['aalto', 'nai'],
    ['aalto', 'empty'],
    ['rfc_literal', 'nai'],
    ['rfc_literal', 'empty'],
  ] as const)('profile %s, NAI slot %s', async (profile, naiSlot) => {
    const p = c.profiles[profile];
    const store = new MemoryNoobPeerStore();
    const now = new Date('2026-02-01T00:00:00Z');
    const initial = V.initial_waiting_completion[c.cryptosuite_initial === 1 ? 'cs1' : 'cs2'].profiles[profile];
    await store.transition(I.PeerId, null, {
      peerId: I.PeerId,
      state: 4,
      createdAt: now,
      updatedAt: now,
      accountBound: true,
      association: { verp: 1, cryptosuite: c.cryptosuite_initial, nai: I.NewNAI, kz: hex(initial.Kz_hex), serverInfo: SERVER_INFO },
      oobs: [],
      consumedOobs: [],
    });
    const random = new ScriptedRandom('server');
    random.nonces.push(hex(I.Ns2_hex));
    const method = createNoobMethod({
      store,
      config: vectorConfig(profile, { reconnectKeyingMode: c.KeyingMode === 3 ? 2 : c.KeyingMode, reconnectMacNai: naiSlot }),
      clock: () => now,
      log: new MemoryLog(),
      random,
    });
    const s = session(method, I.NewNAI);
    expect(requestText(await s.start())).toBe('{"Type":1}');
    expect(requestText(await s.step(utf8(c.messages.rsp1)))).toBe(c.messages.req7);
    expect(requestText(await s.step(utf8(c.messages.rsp7)))).toBe(c.messages.req8);
    const macs2 = naiSlot === 'nai' ? p.MACs2_b64_rfc : p.MACs2_b64_aalto_script;
    const macp2 = naiSlot === 'nai' ? p.MACp2_b64_rfc : p.MACp2_b64_aalto_script;
    expect(requestText(await s.step(utf8(c.messages.rsp8)))).toBe(`{"Type":9,"PeerId":"${I.PeerId}","MACs2":"${macs2}"}`);
    const done = await s.step(utf8(`{"Type":9,"PeerId":"${I.PeerId}","MACp2":"${macp2}"}`));
    if (done.kind !== 'success') throw new Error(`expected success, got ${done.kind}`);
    expect(toHex(done.msk)).toBe(p.MSK_hex);
    expect(toHex(done.emsk!)).toBe(p.EMSK_hex);
    expect(toHex(done.sessionId!)).toBe(p.SessionId_hex);
    const after = await store.get(I.PeerId);
    expect(after?.association?.cryptosuite).toBe(c.cryptosuite_reconnect);
    expect(toHex(after!.association!.kz)).toBe(c.KeyingMode === 3 ? p.new_Kz_hex : initial.Kz_hex);
  });
});

describe('live Vogeltak transcript through the server in compatibility mode', () => {
  const L = V.live_interop_transcript_vogeltak;
  const wire = (i: number) => L.wire[i]![1];
  /** Our requests in this profile: the transcript's JSON and the 0x00 the authors' peer needs. */
  const terminated = (i: number) => `${wire(i)}\u0000`;

  it('accepts the peer-to-server OOB, then sends the transcript’s type 6 and accepts its MACp', async () => {
    const { decodeRequest, decodeResponse } = await import('../../src/noob/message-codec.js');
    const { deliverOobFromUrl } = await import('../../src/noob/oob.js');
    const opts = { compat: 'vogeltak' as const };
    const req2 = decodeRequest(utf8(wire(2)), opts);
    const rsp2 = decodeResponse(utf8(wire(3)), opts);
    const req3 = decodeRequest(utf8(wire(4)), opts);
    const rsp3 = decodeResponse(utf8(wire(5)), opts);
    const peerId = 'lM3XpYq6xqp7FlTP7qigen';
    const store = new MemoryNoobPeerStore();
    const now = new Date('2026-03-01T00:00:00Z');
    // The Initial Exchange as the Aalto server recorded it (its private key is not published, Z is).
    await store.transition(peerId, null, {
      peerId,
      state: 1,
      createdAt: now,
      updatedAt: now,
      peerInfo: rsp2.raw.get('PeerInfo')!,
      ephemeral: {
        transcript: {
          vers: req2.raw.get('Vers')!,
          verp: rsp2.raw.get('Verp')!,
          peerId: req2.raw.get('PeerId')!,
          cryptosuites: req2.raw.get('Cryptosuites')!,
          dirs: req2.raw.get('Dirs')!,
          serverInfo: req2.raw.get('ServerInfo')!,
          cryptosuitep: rsp2.raw.get('Cryptosuitep')!,
          dirp: rsp2.raw.get('Dirp')!,
          nai: '"eap-noob.net"',
          peerInfo: rsp2.raw.get('PeerInfo')!,
          pks: req3.raw.get('PKs')!,
          ns: req3.raw.get('Ns')!,
          pkp: rsp3.raw.get('PKp')!,
          np: rsp3.raw.get('Np')!,
        },
        identity: L.identity,
        cryptosuite: 1,
        dirp: 1,
        z: hex(L.Z_hex),
        waitingExchanges: 0,
        oobRejections: 0,
      },
      accountBound: false,
      oobs: [],
      consumedOobs: [],
    });
    expect(await deliverOobFromUrl(store, `https://127.0.0.1/sendoob?${wire(7)}`, 'erin', { clock: () => now })).toMatchObject({ ok: true });
    const method = createNoobMethod({
      store,
      config: { oobUrl: 'https://127.0.0.1/sendoob', serverInfo: req2.raw.get('ServerInfo')!, cryptosuites: [1], compat: 'vogeltak' },
      clock: () => now,
      log: new MemoryLog(),
    });
    const s = session(method, L.identity);
    expect(requestText(await s.start())).toBe(terminated(8));
    expect(requestText(await s.step(utf8(wire(9))))).toBe(terminated(10));
    const done = await s.step(utf8(wire(11)));
    if (done.kind !== 'success') throw new Error('expected success');
    expect(toHex(done.msk)).toBe(L.MSK_hex);
    expect(toHex(done.sessionId!)).toBe(L.SessionId_hex);
    expect(done.grant.account).toBe('erin');
  });

  it('sends the transcript’s type-2 request with "Realm" and kty EC', async () => {
    const store = new MemoryNoobPeerStore();
    const random = new ScriptedRandom();
    random.peerIds.push('lM3XpYq6xqp7FlTP7qigen');
    const method = createNoobMethod({
      store,
      config: { oobUrl: 'https://127.0.0.1/sendoob', serverInfo: '{"Name":"Example","Url":"https://127.0.0.1/sendoob"}', cryptosuites: [1], compat: 'vogeltak' },
      log: new MemoryLog(),
      random,
    });
    const s = session(method, L.identity);
    await s.start();
    expect(requestText(await s.step(utf8(wire(1))))).toBe(terminated(2));
    const req3 = JSON.parse(requestText(await s.step(utf8(wire(3)))).replace(/\u0000$/, '')) as { PKs: { kty: string; crv: string } };
    expect(req3.PKs).toMatchObject({ kty: 'EC', crv: 'X25519' });
  });
});
