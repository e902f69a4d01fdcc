/**
 * Every value of eap-noob-vectors.json, recomputed from the private keys, nonces and Noob only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { b64urlDecodeExact, b64urlEncode } from '../../src/noob/base64url.js';
import { ecdhSharedSecret, importPublicJwk, keyPairFromPrivate } from '../../src/noob/crypto/cryptosuites.js';
import { hoob, mac, macInput, noobId, noobIdInput } from '../../src/noob/crypto/digests.js';
import { deriveCompletionKeys, deriveReconnectKeys, sessionId } from '../../src/noob/crypto/kdf.js';
import { mppeKeysFromMsk } from '../../src/noob/crypto/mppe.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, memberTexts } from '../../src/noob/message-codec.js';
import { encodeOobQuery, formatOobUrl, parseOobMessage } from '../../src/noob/oob.js';
import { completionExchange, exchangeMacs, initialSlots, initialTranscript, reconnectSlots, reconnectTranscript } from '../../src/noob/transcript.js';
import { noteSkip } from '../helpers/require-tool.js';
import { hex, keysOf, PROFILES, RECONNECT_CASES, text, toHex, utf8, V, type InitialCase, type Profile } from './vectors.js';

/** The project's protocol digests live beside the repository: ../shared/specs/. */
const SHARED = join(__dirname, '..', '..', '..', 'shared', 'specs', 'eap-noob-vectors.json');
if (!existsSync(SHARED)) noteSkip('../shared/specs/eap-noob-vectors.json', `not found at ${SHARED}; the fixture copy is not compared with it`);

describe('fixture', () => {
  (existsSync(SHARED) ? it : it.skip)('is identical to the shared spec copy', () => {
    expect(JSON.parse(readFileSync(join(__dirname, 'fixtures', 'eap-noob-vectors.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(SHARED, 'utf8')));
  });
});

describe.each([1, 2] as const)('cryptosuite %d keys', (suite) => {
  const k = keysOf(suite);
  it('derives both public JWKs byte for byte from the private keys', () => {
    expect(keyPairFromPrivate(suite, hex(k.server_private_hex)).publicJwk).toBe(k.PKs_jwk);
    expect(keyPairFromPrivate(suite, hex(k.peer_private_hex)).publicJwk).toBe(k.PKp_jwk);
  });
  it('computes Z from either side', () => {
    const s = keyPairFromPrivate(suite, hex(k.server_private_hex));
    const p = keyPairFromPrivate(suite, hex(k.peer_private_hex));
    expect(toHex(ecdhSharedSecret(s.privateKey, importPublicJwk(suite, k.PKp_jwk)))).toBe(k.Z_hex);
    expect(toHex(ecdhSharedSecret(p.privateKey, importPublicJwk(suite, k.PKs_jwk)))).toBe(k.Z_hex);
  });
});

it('RFC 9140 §5.1 JWK example is RFC 7748 Bob’s public key', () => {
  expect(V.rfc9140_literal_examples.jwk_cs1_example).toBe(V.keys.cs1.PKp_jwk);
  const m = parseOobMessage(V.rfc9140_literal_examples.oob_url_example);
  expect(m.peerId).toBe('mcm5BSCDZ45cYPlAr1ghNw');
});

/**
 * The Initial Exchange transcript, taken from the vector messages through the codec's raw texts by
 * the one module the server and the peer both use.
 */
function transcriptOf(c: InitialCase, nai: string) {
  return initialTranscript(
    {
      req2: decodeRequest(utf8(c.messages.req2)).raw,
      rsp2: decodeResponse(utf8(c.messages.rsp2)).raw,
      req3: decodeRequest(utf8(c.messages.req3)).raw,
      rsp3: decodeResponse(utf8(c.messages.rsp3)).raw,
    },
    JSON.stringify(nai),
  );
}

describe.each(['cs1', 'cs2'] as const)('Initial/Waiting/Completion %s', (name) => {
  const c = V.initial_waiting_completion[name];
  const suite = c.cryptosuite;
  const I = V.inputs;
  const t = transcriptOf(c, I.NewNAI);

  it('every request and response re-encodes to the same bytes', () => {
    for (const [key, json] of Object.entries(c.messages)) {
      const isReq = key.startsWith('req');
      const bytes = utf8(json);
      const again = isReq ? encodeRequest(decodeRequest(bytes).message) : encodeResponse(decodeResponse(bytes).message);
      expect(text(again)).toBe(json);
    }
  });

  it('builds the Hoob input and Hoob (Dir = 2), with and without NewNAI', () => {
    expect(macInput(2, initialSlots(t, I.Noob_b64))).toBe(c.hoob_input);
    expect(hoob(suite, 2, initialSlots(t, I.Noob_b64))).toBe(c.Hoob_b64);
    expect(toHex(b64urlDecodeExact(c.Hoob_b64, 16, 'Hoob'))).toBe(c.Hoob_hex);
    const t0 = transcriptOf(c, c.hoob_if_no_NewNAI.nai);
    expect(macInput(2, initialSlots(t0, I.Noob_b64))).toBe(c.hoob_if_no_NewNAI.hoob_input);
    expect(hoob(suite, 2, initialSlots(t0, I.Noob_b64))).toBe(c.hoob_if_no_NewNAI.Hoob);
  });

  it('encodes the OOB query', () => {
    const m = { peerId: I.PeerId, noob: I.Noob_b64, hoob: c.Hoob_b64 };
    expect(encodeOobQuery(m)).toBe(c.oob_query);
    expect(parseOobMessage(formatOobUrl('https://noob.example.org/sendOOB', m))).toEqual(m);
  });

  it('builds the MACs and MACp inputs', () => {
    expect(macInput(2, initialSlots(t, I.Noob_b64))).toBe(c.macs_input);
    expect(macInput(1, initialSlots(t, I.Noob_b64))).toBe(c.macp_input);
  });

  it.each(PROFILES)('profile %s: NoobId, KDF, keys, MACs, MACp and messages 5/6', (profile: Profile) => {
    const p = c.profiles[profile];
    const form = profile === 'aalto' ? 'concat' : 'json';
    expect(noobIdInput(I.Noob_b64, form)).toBe(p.noobid_hash_input);
    expect(noobId(suite, I.Noob_b64, form)).toBe(p.NoobId_b64);

    const keys = deriveCompletionKeys({
      suite,
      z: hex(keysOf(suite).Z_hex),
      np: hex(I.Np_hex),
      ns: hex(I.Ns_hex),
      noob: hex(I.Noob_hex),
      suppPrivLengthByte: profile === 'rfc_literal',
    });
    expect(toHex(keys.fixedInfo)).toBe(p.kdf_fixedinfo_hex);
    expect(toHex(keys.output)).toBe(p.kdf_output_hex);
    expect(toHex(keys.msk)).toBe(p.MSK_hex);
    expect(toHex(keys.emsk)).toBe(p.EMSK_hex);
    expect(toHex(keys.amsk)).toBe(p.AMSK_hex);
    expect(toHex(keys.methodId)).toBe(p.MethodId_hex);
    expect(toHex(keys.kms)).toBe(p.Kms_hex);
    expect(toHex(keys.kmp)).toBe(p.Kmp_hex);
    expect(toHex(keys.kz)).toBe(p.Kz_hex);
    expect(toHex(sessionId(keys.methodId))).toBe(p.SessionId_hex);

    const macs = mac(suite, keys.kms, c.macs_input);
    const macp = mac(suite, keys.kmp, c.macp_input);
    expect(macs).toBe(p.MACs_b64);
    expect(macp).toBe(p.MACp_b64);

    // The shared Completion computation (server and peer) gives the same keys and MACs.
    const both = completionExchange(t, suite, hex(keysOf(suite).Z_hex), I.Noob_b64, profile === 'rfc_literal');
    expect(toHex(both.keys.output)).toBe(p.kdf_output_hex);
    expect(both.macs).toBe(p.MACs_b64);
    expect(both.macp).toBe(p.MACp_b64);

    expect(text(encodeResponse({ Type: 5, PeerId: I.PeerId, NoobId: p.NoobId_b64 }))).toBe(p.messages.rsp5);
    expect(text(encodeRequest({ Type: 6, PeerId: I.PeerId, NoobId: p.NoobId_b64, MACs: macs }))).toBe(p.messages.req6);
    expect(text(encodeResponse({ Type: 6, PeerId: I.PeerId, MACp: macp }))).toBe(p.messages.rsp6);
  });
});

describe.each(RECONNECT_CASES)('Reconnect %s', (name) => {
  const c = V.reconnect[name];
  const I = V.inputs;
  const suite = c.cryptosuite_reconnect;
  const req7 = decodeRequest(utf8(c.messages.req7));
  const rsp7 = decodeResponse(utf8(c.messages.rsp7));
  const req8 = decodeRequest(utf8(c.messages.req8));
  const rsp8 = decodeResponse(utf8(c.messages.rsp8));
  const slots = (nai: string) => reconnectSlots(reconnectTranscript({ req7: req7.raw, rsp7: rsp7.raw, req8: req8.raw, rsp8: rsp8.raw }, nai));

  it('messages re-encode to the same bytes', () => {
    for (const [key, json] of Object.entries(c.messages)) {
      const bytes = utf8(json);
      const again = key.startsWith('req') ? encodeRequest(decodeRequest(bytes).message) : encodeResponse(decodeResponse(bytes).message);
      expect(text(again)).toBe(json);
    }
    expect(req8.message).toMatchObject({ Type: 8, KeyingMode: c.KeyingMode });
  });

  it('builds the MACs2/MACp2 inputs in the RFC form and the script form (D3)', () => {
    expect(macInput(2, slots(JSON.stringify(I.NewNAI)))).toBe(c.macs2_input_rfc);
    expect(macInput(1, slots(JSON.stringify(I.NewNAI)))).toBe(c.macp2_input_rfc);
    expect(macInput(2, slots('""'))).toBe(c.macs2_input_aalto_script);
    expect(macInput(1, slots('""'))).toBe(c.macp2_input_aalto_script);
  });

  it('computes Z2 with the reconnect suite keys', () => {
    if (c.Z2_hex === null) {
      expect(c.KeyingMode).toBe(1);
      return;
    }
    const s = keyPairFromPrivate(suite, hex(keysOf(suite).server_private_hex));
    expect(s.publicJwk).toBe(req8.raw.get('PKs2'));
    expect(toHex(ecdhSharedSecret(s.privateKey, importPublicJwk(suite, rsp8.raw.get('PKp2')!)))).toBe(c.Z2_hex);
  });

  it.each(PROFILES)('profile %s: KDF, keys, MACs2 and MACp2', (profile: Profile) => {
    const p = c.profiles[profile];
    const oldKz = hex(V.initial_waiting_completion[c.cryptosuite_initial === 1 ? 'cs1' : 'cs2'].profiles[profile].Kz_hex);
    const keys = deriveReconnectKeys({
      keyingMode: c.KeyingMode,
      suite,
      kz: oldKz,
      ...(c.Z2_hex !== null ? { z2: hex(c.Z2_hex) } : {}),
      np2: hex(I.Np2_hex),
      ns2: hex(I.Ns2_hex),
      suppPrivLengthByte: profile === 'rfc_literal',
    });
    expect(toHex(c.KeyingMode === 1 ? oldKz : hex(c.Z2_hex!))).toBe(p.kdf_Z_hex);
    expect(toHex(keys.fixedInfo)).toBe(p.kdf_fixedinfo_hex);
    expect(toHex(keys.output)).toBe(p.kdf_output_hex);
    expect(toHex(keys.msk)).toBe(p.MSK_hex);
    expect(toHex(keys.emsk)).toBe(p.EMSK_hex);
    expect(toHex(keys.amsk)).toBe(p.AMSK_hex);
    expect(toHex(keys.methodId)).toBe(p.MethodId_hex);
    expect(toHex(keys.kms2)).toBe(p.Kms2_hex);
    expect(toHex(keys.kmp2)).toBe(p.Kmp2_hex);
    if (c.KeyingMode === 3) expect(toHex(keys.kz!)).toBe(p.new_Kz_hex);
    else expect(keys.kz).toBeUndefined();
    expect(toHex(sessionId(keys.methodId))).toBe(p.SessionId_hex);
    expect(mac(suite, keys.kms2, c.macs2_input_rfc)).toBe(p.MACs2_b64_rfc);
    expect(mac(suite, keys.kmp2, c.macp2_input_rfc)).toBe(p.MACp2_b64_rfc);
    expect(mac(suite, keys.kms2, c.macs2_input_aalto_script)).toBe(p.MACs2_b64_aalto_script);
    expect(mac(suite, keys.kmp2, c.macp2_input_aalto_script)).toBe(p.MACp2_b64_aalto_script);
    expect(exchangeMacs(suite, keys.kms2, keys.kmp2, slots(JSON.stringify(I.NewNAI)))).toEqual({ server: p.MACs2_b64_rfc, peer: p.MACp2_b64_rfc });
  });
});

describe('live Vogeltak transcript (compatibility profile)', () => {
  const L = V.live_interop_transcript_vogeltak;
  const wire = (i: number) => utf8(L.wire[i]![1]);
  const opts = { compat: 'vogeltak' as const };
  const req2 = decodeRequest(wire(2), opts);
  const rsp2 = decodeResponse(wire(3), opts);
  const req3 = decodeRequest(wire(4), opts);
  const rsp3 = decodeResponse(wire(5), opts);
  const noob = b64urlEncode(hex(L.Noob_hex));
  const t = initialTranscript({ req2: req2.raw, rsp2: rsp2.raw, req3: req3.raw, rsp3: rsp3.raw }, JSON.stringify('eap-noob.net'));

  it('parses and re-encodes every wire message with "Realm" and kty EC', () => {
    expect(req2.message).toMatchObject({ Type: 2, NewNAI: '' });
    // Requests leave us with the 0x00 terminator the authors' peer needs (its strlen parsing); the
    // transcript records the JSON text.
    for (const i of [0, 2, 4, 10]) expect(text(encodeRequest(decodeRequest(wire(i), opts).message, opts))).toBe(`${L.wire[i]![1]}\u0000`);
    for (const i of [1, 3, 5, 9, 11]) expect(text(encodeResponse(decodeResponse(wire(i), opts).message, opts))).toBe(L.wire[i]![1]);
    expect(() => importPublicJwk(1, rsp3.raw.get('PKp')!)).toThrow(expect.objectContaining({ code: 1005 }));
    expect(() => importPublicJwk(1, rsp3.raw.get('PKp')!, { x25519KtyEc: true })).not.toThrow();
  });

  it('reproduces Hoob, NoobId, KDF, MACs, MACp, Session-Id and the MPPE keys', () => {
    expect(t.ns).toBe(JSON.stringify(b64urlEncode(hex(L.Ns_hex))));
    expect(t.np).toBe(JSON.stringify(b64urlEncode(hex(L.Np_hex))));
    expect(macInput(1, initialSlots(t, noob))).toBe(L.hoob_input);
    expect(hoob(1, 1, initialSlots(t, noob))).toBe(L.Hoob_b64);
    expect(parseOobMessage(L.wire[7]![1])).toEqual({ peerId: 'lM3XpYq6xqp7FlTP7qigen', noob, hoob: L.Hoob_b64 });
    expect(noobId(1, noob, 'concat')).toBe(L.NoobId_b64);
    const keys = deriveCompletionKeys({ suite: 1, z: hex(L.Z_hex), np: hex(L.Np_hex), ns: hex(L.Ns_hex), noob: hex(L.Noob_hex), suppPrivLengthByte: false });
    expect(toHex(keys.output)).toBe(L.kdf_output_hex);
    expect(toHex(keys.msk)).toBe(L.MSK_hex);
    expect(toHex(keys.methodId)).toBe(L.MethodId_hex);
    expect(toHex(sessionId(keys.methodId))).toBe(L.SessionId_hex);
    expect(toHex(keys.kz)).toBe(L.Kz_hex);
    expect(macInput(2, initialSlots(t, noob))).toBe(L.macs_input);
    expect(macInput(1, initialSlots(t, noob))).toBe(L.macp_input);
    expect(mac(1, keys.kms, L.macs_input)).toBe(L.MACs_b64);
    expect(mac(1, keys.kmp, L.macp_input)).toBe(L.MACp_b64);
    const mppe = mppeKeysFromMsk(keys.msk);
    expect(toHex(mppe.recv)).toBe(L.radius_mppe.MS_MPPE_Recv_Key_hex);
    expect(toHex(mppe.send)).toBe(L.radius_mppe.MS_MPPE_Send_Key_hex);
  });

  it('the type-6 wire messages carry exactly these values', () => {
    const req6 = decodeRequest(wire(10), opts).message;
    const rsp6 = decodeResponse(wire(11), opts).message;
    expect(req6).toEqual({ Type: 6, PeerId: 'lM3XpYq6xqp7FlTP7qigen', NoobId: L.NoobId_b64, MACs: L.MACs_b64 });
    expect(rsp6).toEqual({ Type: 6, PeerId: 'lM3XpYq6xqp7FlTP7qigen', MACp: L.MACp_b64 });
  });
});

it('memberTexts gives the texts the serializer emits', () => {
  const m = decodeRequest(utf8(V.initial_waiting_completion.cs1.messages.req2)).message;
  const texts = memberTexts(m, true);
  expect([...texts.keys()]).toEqual(['Type', 'Vers', 'PeerId', 'NewNAI', 'Cryptosuites', 'Dirs', 'ServerInfo']);
  expect(texts.get('ServerInfo')).toBe(V.inputs.ServerInfo_json);
});

it('the shared transcript refuses a message without a slot member (1002), instead of a silent "undefined" slot', () => {
  const c = V.initial_waiting_completion.cs1.messages;
  const req2 = new Map(decodeRequest(utf8(c.req2)).raw);
  req2.delete('Dirs');
  expect(() =>
    initialTranscript({ req2, rsp2: decodeResponse(utf8(c.rsp2)).raw, req3: decodeRequest(utf8(c.req3)).raw, rsp3: decodeResponse(utf8(c.rsp3)).raw }, '""'),
  ).toThrow(expect.objectContaining({ code: 1002 }));
});
