/**
 * The vector conversations replayed through our peer state machine with the vectors' randomness:
 * every response byte for byte, and the keys of the Completion and Reconnect Exchanges.
 */
import { b64urlEncode } from '../../../src/noob/base64url.js';
import { encodeResponse } from '../../../src/noob/message-codec.js';
import { resolvePeerConfig, type NoobPeerConfig } from '../../../src/peer/noob/config.js';
import { acceptServerOob } from '../../../src/peer/noob/oob.js';
import { peerStep, startPeerConversation, type PeerConversation } from '../../../src/peer/noob/peer-state-machine.js';
import { INITIAL_PEER_STATE, type NoobPeerState } from '../../../src/peer/noob/state.js';
import { ScriptedRandom, vectorPeerRandom } from '../../noob/helpers.js';
import { hex, PROFILES, RECONNECT_CASES, text, toHex, utf8, V, type Profile } from '../../noob/vectors.js';

const I = V.inputs;
const NOW = new Date('2026-01-01T00:00:00Z');

class Driver {
  conv: PeerConversation;
  constructor(
    public state: NoobPeerState,
    readonly config: ReturnType<typeof resolvePeerConfig>,
    readonly random: ScriptedRandom,
    identity: string,
  ) {
    this.conv = startPeerConversation(identity);
  }
  /** Feeds one request, applies the commit, returns the response text. */
  step(request: string): string {
    const r = peerStep(this.conv, this.state, utf8(request), { config: this.config, now: NOW, random: this.random });
    this.conv = r.conv;
    if (r.save) this.state = r.save;
    return text(encodeResponse(r.response));
  }
}

function config(profile: Profile, extra: Partial<NoobPeerConfig> = {}) {
  return resolvePeerConfig({
    identity: I.IdentityNAI_initial,
    peerInfo: I.PeerInfo_json,
    preferredDirection: 2,
    kdfSuppPrivLengthByte: profile === 'rfc_literal',
    noobIdForm: profile === 'rfc_literal' ? 'json' : 'concat',
    ...extra,
  });
}

describe.each(['cs1', 'cs2'] as const)('Initial, Waiting, OOB input and Completion, %s', (cs) => {
  const c = V.initial_waiting_completion[cs];
  it.each(PROFILES)('profile %s', (profile) => {
    const p = c.profiles[profile];
    const cfg = config(profile, { cryptosuites: c.cryptosuite === 1 ? [1, 2] : [2, 1] });
    const random = vectorPeerRandom();
    const d = new Driver(structuredClone(INITIAL_PEER_STATE), cfg, random, I.IdentityNAI_initial);
    expect(d.step(c.messages.req1)).toBe(c.messages.rsp1);
    expect(d.step(c.messages.req2)).toBe(c.messages.rsp2);
    expect(d.step(c.messages.req3)).toBe(c.messages.rsp3);
    expect(d.state).toMatchObject({ state: 1, ephemeral: { peerId: I.PeerId, newNai: I.NewNAI, identity: I.IdentityNAI_initial, dirp: 2, sleepTime: 60 } });
    expect(toHex(Buffer.from(d.state.ephemeral!.z, 'base64url'))).toBe((cs === 'cs1' ? V.keys.cs1 : V.keys.cs2).Z_hex);

    const w = new Driver(d.state, cfg, random, I.NewNAI);
    expect(w.step(c.messages.req1)).toBe(c.messages.waiting_rsp1);
    expect(w.step(c.messages.req4)).toBe(c.messages.rsp4);

    const accepted = acceptServerOob(w.state, `https://noob.example.org/sendOOB?${c.oob_query}`, { config: cfg, now: NOW });
    if (!accepted.ok) throw new Error(accepted.detail);
    expect(accepted.state.state).toBe(2);

    const k = new Driver(accepted.state, cfg, random, I.NewNAI);
    expect(k.step(c.messages.req1)).toBe(c.messages.completion_rsp1);
    expect(k.step(c.messages.req5)).toBe(p.messages.rsp5);
    expect(k.step(p.messages.req6)).toBe(p.messages.rsp6);
    expect(k.state).toMatchObject({ state: 4, association: { peerId: I.PeerId, cryptosuite: c.cryptosuite, nai: I.NewNAI, verp: 1 } });
    expect(toHex(Buffer.from(k.state.association!.kz, 'base64url'))).toBe(p.Kz_hex);
    expect(toHex(k.conv.keys!.msk)).toBe(p.MSK_hex);
    expect(toHex(k.conv.keys!.emsk)).toBe(p.EMSK_hex);
    expect(toHex(k.conv.keys!.sessionId)).toBe(p.SessionId_hex);
  });
});

describe.each(RECONNECT_CASES)('Reconnect %s', (name) => {
  const c = V.reconnect[name];
  it.each([
    ['aalto', 'nai'],
    ['aalto', 'empty'],
    ['rfc_literal', 'nai'],
    ['rfc_literal', 'empty'],
  ] as const)('profile %s, NAI slot %s', (profile, naiSlot) => {
    const p = c.profiles[profile];
    const initial = V.initial_waiting_completion[c.cryptosuite_initial === 1 ? 'cs1' : 'cs2'].profiles[profile];
    const cfg = config(profile, { cryptosuites: c.cryptosuite_reconnect === 1 ? [1, 2] : [2, 1], reconnectMacNai: naiSlot });
    const random = new ScriptedRandom('peer');
    random.nonces.push(hex(I.Np2_hex));
    const state: NoobPeerState = {
      format: 1,
      state: 3,
      association: {
        peerId: I.PeerId,
        verp: 1,
        cryptosuite: c.cryptosuite_initial,
        nai: I.NewNAI,
        kz: b64urlEncode(hex(initial.Kz_hex)),
        serverInfo: I.ServerInfo_json,
        peerInfo: I.PeerInfo_json,
      },
    };
    const d = new Driver(state, cfg, random, I.NewNAI);
    expect(d.step('{"Type":1}')).toBe(c.messages.rsp1);
    expect(d.step(c.messages.req7)).toBe(c.messages.rsp7);
    expect(d.step(c.messages.req8)).toBe(c.messages.rsp8);
    const macs2 = naiSlot === 'nai' ? p.MACs2_b64_rfc : p.MACs2_b64_aalto_script;
    const macp2 = naiSlot === 'nai' ? p.MACp2_b64_rfc : p.MACp2_b64_aalto_script;
    expect(d.step(`{"Type":9,"PeerId":"${I.PeerId}","MACs2":"${macs2}"}`)).toBe(`{"Type":9,"PeerId":"${I.PeerId}","MACp2":"${macp2}"}`);
    expect(toHex(d.conv.keys!.msk)).toBe(p.MSK_hex);
    expect(d.state.state).toBe(4);
    expect(d.state.association!.cryptosuite).toBe(c.cryptosuite_reconnect);
    if (c.KeyingMode === 3) {
      expect(toHex(Buffer.from(d.state.association!.kz, 'base64url'))).toBe(p.new_Kz_hex);
      expect(d.state.association).toMatchObject({ cryptosuitePrev: c.cryptosuite_initial, kzPrev: b64urlEncode(hex(initial.Kz_hex)) });
    } else {
      expect(d.state.association!.kz).toBe(b64urlEncode(hex(initial.Kz_hex)));
      expect(d.state.association!.kzPrev).toBeUndefined();
    }
  });
});

describe('live Vogeltak transcript through our peer in compatibility mode', () => {
  it('answers types 1 and 6 as eapol_test did, given the transcript’s Initial Exchange state', () => {
    // The peer side of the transcript cannot be replayed from type 2 (the peer's private key is not
    // published); the Completion it can: build the state from the wire and check MACs/MACp.
    const L = V.live_interop_transcript_vogeltak;
    const cfg = resolvePeerConfig({ peerInfo: '{"Make":"Acme","Type":"None","Serial":"DU-9999","SSID":"test","BSSID":"0:0:0:0:0:0"}', compat: 'vogeltak' });
    const wire = (i: number) => L.wire[i]![1];
    const pick = (json: string, key: string) => {
      const m = new RegExp(`"${key}":(\\{[^}]*\\}|"[^"]*"|\\[[^\\]]*\\]|\\d+)`).exec(json);
      return m![1]!;
    };
    const noob = b64urlEncode(hex(L.Noob_hex));
    const state: NoobPeerState = {
      format: 1,
      state: 1,
      ephemeral: {
        peerId: 'lM3XpYq6xqp7FlTP7qigen',
        transcript: {
          vers: pick(wire(2), 'Vers'),
          verp: pick(wire(3), 'Verp'),
          peerId: pick(wire(2), 'PeerId'),
          cryptosuites: pick(wire(2), 'Cryptosuites'),
          dirs: pick(wire(2), 'Dirs'),
          serverInfo: pick(wire(2), 'ServerInfo'),
          cryptosuitep: pick(wire(3), 'Cryptosuitep'),
          dirp: pick(wire(3), 'Dirp'),
          nai: '"eap-noob.net"',
          peerInfo: pick(wire(3), 'PeerInfo'),
          pks: pick(wire(4), 'PKs'),
          ns: pick(wire(4), 'Ns'),
          pkp: pick(wire(5), 'PKp'),
          np: pick(wire(5), 'Np'),
        },
        cryptosuite: 1,
        dirp: 1,
        identity: L.identity,
        serverInfo: pick(wire(2), 'ServerInfo'),
        z: b64urlEncode(hex(L.Z_hex)),
        sentOobs: [{ noob, hoob: L.Hoob_b64, at: NOW.toISOString() }],
        oobRejections: 0,
      },
    };
    const d = new Driver(state, cfg, new ScriptedRandom(), L.identity);
    expect(d.step(wire(8))).toBe(wire(9));
    expect(d.step(wire(10))).toBe(wire(11));
    expect(toHex(d.conv.keys!.msk)).toBe(L.MSK_hex);
  });
});
