import { randomBytes } from 'node:crypto';
import { encodeEap, decodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import { AttributeType, RadiusCode, getAttribute, joinEapMessage, type RadiusPacket } from '../../src/radius/index.js';
import { TeapPeer } from '../../src/peer/teap/teap-peer.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { userWithPassword } from '../teap-brski/helpers.js';
import { UdpNas } from '../helpers/udp-nas.js';
import { readFileSync } from 'node:fs';
import { eapTls12 } from '../../src/bench/method-eap-tls.js';

/**
 * A peer that sends fragment after fragment of a TLS message it never finishes proves nothing: each
 * is answered by an ACK, and such rounds must not earn the conversation a place that never gives
 * way. Found by a hostile review: ten such fragments made a conversation "established", so a
 * flood of them held a whole NAS's share of the table, and kept it with a fragment every 30 s.
 */
const EAP_TLS_LENGTH_INCLUDED = 0x80;
const EAP_TLS_MORE_FRAGMENTS = 0x40;

function requestOf(reply: RadiusPacket): { identifier: number; state: Uint8Array } {
  const eap = joinEapMessage(reply);
  if (!eap) throw new Error('reply without EAP-Message');
  return { identifier: decodeEap(eap).identifier, state: getAttribute(reply, AttributeType.State)! };
}

const TEAP_VERSION_1 = 0x01;

/**
 * One fragment of a 65,536-octet TLS message, 1,000 random octets of it: EAP-TLS, or TEAP (the same
 * L and M flags, with its version in the low bits).
 */
function junkFragment(identifier: number, type: number): Uint8Array {
  const data = new Uint8Array(1 + 4 + 1000);
  data[0] = EAP_TLS_LENGTH_INCLUDED | EAP_TLS_MORE_FRAGMENTS | (type === EapType.Teap ? TEAP_VERSION_1 : 0);
  new DataView(data.buffer).setUint32(1, 65536);
  data.set(randomBytes(1000), 5);
  return encodeEap({ code: 2, identifier, type, data });
}

/** A server whose table holds three conversations, all of one NAS if need be; `g()` once started. */
function smallTable(): () => TestGangway {
  let g: TestGangway;
  beforeAll(async () => {
    g = await startTestGangway({
      configure: (doc) => {
        (doc.eap as Record<string, unknown>) = { ...(doc.eap as Record<string, unknown>), maxSessions: 3, clientShare: 1, protectAfterRounds: 10 };
      },
    });
  });
  afterAll(async () => {
    await g.close();
  });
  return () => g;
}

/** `rounds` junk fragments of a message that never ends, each answered by the server; its last reply. */
async function junkRounds(nas: UdpNas, station: { userName: string; callingStationId: string }, reply: RadiusPacket, type: number, rounds: number): Promise<RadiusPacket> {
  for (let k = 0; k < rounds; k++) {
    expect(reply.code).toBe(RadiusCode.AccessChallenge);
    const { identifier, state } = requestOf(reply);
    ({ reply } = await nas.send(station, junkFragment(identifier, type), state));
  }
  expect(reply.code).toBe(RadiusCode.AccessChallenge);
  return reply;
}

describe.each([
  ['EAP-TLS', EapType.Tls],
  ['TEAP', EapType.Teap],
])('%s fragments that never end a TLS message earn no protected place', (_name, type) => {
  const server = smallTable();

  test('a full table of conversations past protectAfterRounds fragments stays progressing, and a real EAP-TLS peer still gets in', async () => {
    const g = server();
    const nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    try {
      for (let i = 0; i < 3; i++) {
        const station = { userName: `frag-${i}`, callingStationId: `02-00-00-00-20-0${i}` };
        let { reply } = await nas.send(station, encodeEap({ code: 2, identifier: 1, type: EapType.Identity, data: Buffer.from(`frag-${i}`) }), undefined);
        if (type !== EapType.Tls) {
          // The server proposes EAP-TLS first; a Nak asks for the other method.
          const { identifier, state } = requestOf(reply);
          ({ reply } = await nas.send(station, encodeEap({ code: 2, identifier, type: EapType.Nak, data: Uint8Array.of(type) }), state));
        }
        await junkRounds(nas, station, reply, type, 14);
      }
    } finally {
      nas.close();
    }
    // Fifteen Responses or more each, past protectAfterRounds (10), and none established.
    await expectRoomForARealPeer(g);
  });
});

/** The table full of the flood's three conversations, none protected: a real EAP-TLS peer gets in. */
async function expectRoomForARealPeer(g: TestGangway): Promise<void> {
  expect(g.running.admission()).toMatchObject({ conversations: 3, progressing: 3, established: 0 });
  const outcome = await realEapTlsPeer(g);
  expect(outcome.reason).toBeUndefined();
  expect(outcome.ok).toBe(true);
  expect(refusedForRoom(g)).toBe(0);
}

/** Newcomers the bridge dropped because nothing in the table could give way. */
function refusedForRoom(g: TestGangway): number {
  return g.log.lines.filter((l) => l.msg === 'Access-Request dropped' && /none of which may give way/.test(String((l.obj as { reason?: unknown }).reason))).length;
}

async function realEapTlsPeer(g: TestGangway): Promise<{ ok: boolean; reason?: string }> {
  const files = g.init.files;
  const driver = await eapTls12.prepare({
    target: { kind: 'gangway', host: '127.0.0.1', port: g.port, secret: g.secret, version: 'under test', stop: async () => undefined, tail: () => '' },
    credentials: {
      caPem: readFileSync(files.caCert),
      serverName: 'radius.test.example',
      tls: { certPem: readFileSync(files.clientCert), keyPem: readFileSync(files.clientKey), identity: 'demo-client' },
      teapOuterIdentity: 'anonymous', peapOuterIdentity: 'anonymous',
    },
    concurrency: 1,
  });
  try {
    return await driver.run(0, 0);
  } finally {
    await driver.close();
  }
}

// FAILS at 8a6e92b (a hostile review): TEAP said established on every Phase-2 Request, and anyone
// reaches Phase 2 with an anonymous handshake; junk Phase-2 fragments then held the place.
describe('TEAP: a tunnel reached without a credential, then Phase-2 fragments that never end', () => {
  const server = smallTable();

  test('such conversations stay progressing, and a real EAP-TLS peer still gets in', async () => {
    const g = server();
    const nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    try {
      for (let i = 0; i < 3; i++) {
        const station = { userName: 'anonymous', callingStationId: `02-00-00-00-40-0${i}` };
        const peer = new TeapPeer({ outerIdentity: 'anonymous', user: { identity: 'nobody', password: 'not-a-password' }, tls: { ca: readFileSync(g.init.files.caCert), servername: 'radius.test.example', maxVersion: 'TLSv1.2' } });
        try {
          let { reply } = await nas.send(station, peer.identityResponse(1), undefined);
          // Through the anonymous handshake, up to the server's first Phase-2 message.
          while (peer.phase2Requests === 0) {
            expect(reply.code).toBe(RadiusCode.AccessChallenge);
            const action = await peer.receive(joinEapMessage(reply)!);
            if (action.kind !== 'send') throw new Error(`peer stopped: ${action.kind}`);
            if (peer.phase2Requests > 0) break;
            ({ reply } = await nas.send(station, action.eap, getAttribute(reply, AttributeType.State)));
          }
          await junkRounds(nas, station, reply, EapType.Teap, 20);
        } finally {
          peer.dispose();
        }
      }
    } finally {
      nas.close();
    }
    await expectRoomForARealPeer(g);
  });
});

// A review found no test that a TEAP conversation does become established: a TEAP that never said
// so would have passed every test above.
describe('TEAP: a conversation is established once its peer proved something in the tunnel', () => {
  let g: TestGangway;
  beforeAll(async () => {
    g = await startTestGangway();
    await userWithPassword(g.running.stores.users, 'alice', 'alice-password');
  });
  afterAll(async () => {
    await g.close();
  });

  /** Steps one TEAP conversation over RADIUS: the final code, and `established` at the first Phase-2 message and at its most. */
  async function drive(password: string, station: string): Promise<{ final: number; atPhase2: number; most: number }> {
    const peer = new TeapPeer({ outerIdentity: 'anonymous', user: { identity: 'alice', password }, tls: { ca: readFileSync(g.init.files.caCert), servername: 'radius.test.example', maxVersion: 'TLSv1.2' } });
    const nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    const st = { userName: 'anonymous', callingStationId: station };
    let atPhase2 = -1;
    let most = 0;
    try {
      let { reply } = await nas.send(st, peer.identityResponse(1), undefined);
      for (;;) {
        const established = g.running.admission().established;
        most = Math.max(most, established);
        if (reply.code !== RadiusCode.AccessChallenge) return { final: reply.code, atPhase2, most };
        const action = await peer.receive(joinEapMessage(reply)!);
        if (atPhase2 < 0 && peer.phase2Requests > 0) atPhase2 = established;
        if (action.kind !== 'send') throw new Error(`peer stopped: ${action.kind}`);
        ({ reply } = await nas.send(st, action.eap, getAttribute(reply, AttributeType.State)));
      }
    } finally {
      peer.dispose();
      nas.close();
    }
  }

  test('the right inner password: not at the tunnel, then established, then accepted; a wrong one never', async () => {
    expect(await drive('alice-password', '02-00-00-00-50-01')).toEqual({ final: RadiusCode.AccessAccept, atPhase2: 0, most: 1 });
    expect(await drive('not-alice-password', '02-00-00-00-50-02')).toEqual({ final: RadiusCode.AccessReject, atPhase2: 0, most: 0 });
  });
});
