import { vectors, type TeapVector } from './vectors.js';
import {
  tls12KeySchedule,
  deriveImskFromEmsk,
  deriveImsk,
  deriveImck,
  deriveTeapMsk,
  deriveTeapEmsk,
  deriveTeapSessionId,
  compoundMac,
  type TeapKeySchedule,
} from '../../../src/teap-brski/teap/key-schedule.js';
import { CompoundKeyChain } from '../../../src/teap-brski/teap/compound-key-chain.js';
import { compoundMacBuffer, verifyCryptoBindingResponse, verifyCryptoBindingRequest, buildCryptoBindingResponse, buildCryptoBindingRequest, type CryptoBindingContext } from '../../../src/teap-brski/teap/crypto-binding.js';
import { decodeTeapTlvs, encodeTeapTlvs, type CryptoBindingTlv, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import { tlsPrf } from '../../../src/teap-brski/teap/tls-prf.js';
import { DEFAULT_TEAP_COMPAT, resolveTeapCompat, type TeapCompat } from '../../../src/teap-brski/teap/compat.js';
import { ntPasswordHash, hashNtPasswordHash, deriveMschapV2Keys, swapMskHalves } from '../../../src/eap-methods/mschapv2/ms-chap-v2.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const AUTHORITY_ID_TLV = bytes('00010010101112131415161718191a1b1c1d1e1f');

function val(v: TeapVector, table: 'hostapd' | 'alt', key: string): string {
  const x = v[table][key];
  if (typeof x !== 'string') throw new Error(`vector ${table}/${key} missing`);
  return x;
}
function pair(v: TeapVector, key: string): [string, string] {
  const x = val(v, 'hostapd', key).split(' / ');
  if (x.length !== 2) throw new Error(`vector pair ${key} missing`);
  return [x[0]!, x[1]!];
}

/** The session_key_seed is an input (the TLS master secret was not logged). */
function scheduleFor(v: TeapVector): TeapKeySchedule {
  const seed = bytes(val(v, 'hostapd', 'session_key_seed = S-IMCK[0] (40)'));
  return tls12KeySchedule('sha384', (len) => seed.slice(0, len));
}

function ctxFor(ks: TeapKeySchedule): CryptoBindingContext {
  return { ks, versionSent: 1, versionReceived: 1, serverOuterTlvs: AUTHORITY_ID_TLV, peerOuterTlvs: new Uint8Array(0) };
}

/** Crypto-Binding TLVs of the Phase-2 payloads, in order (server request, peer response, ...). */
function cryptoBindings(v: TeapVector): { request: CryptoBindingTlv; response: CryptoBindingTlv }[] {
  const cbs = v.phase2
    .filter(([, h]) => !h.includes('…'))
    .flatMap(([, h]) => decodeTeapTlvs(bytes(h)).filter((t): t is CryptoBindingTlv => t.kind === 'crypto-binding'));
  const out = [];
  for (let i = 0; i + 1 < cbs.length; i += 2) out.push({ request: cbs[i]!, response: cbs[i + 1]! });
  return out;
}

function chain(v: TeapVector, compat: Partial<TeapCompat> = {}): CompoundKeyChain {
  const ks = scheduleFor(v);
  return new CompoundKeyChain(ks, ks.sessionKeySeed(), resolveTeapCompat(compat));
}

function checkRound(v: TeapVector, round: number, c: CompoundKeyChain, macs: { req: string; resp: string; reqE?: string; respE?: string }, buffers?: { req: string; resp: string }): void {
  const ctx = ctxFor(c.keySchedule);
  const { request, response } = cryptoBindings(v)[round - 1]!;
  if (buffers) {
    expect(hex(compoundMacBuffer(request, ctx))).toBe(buffers.req);
    expect(hex(compoundMacBuffer(response, ctx))).toBe(buffers.resp);
  }
  const cmk = c.cmk();
  const rebuilt = buildCryptoBindingRequest(ctx, cmk, { emskMac: true, nonce: request.nonce });
  expect(hex(rebuilt.mskCompoundMac)).toBe(macs.req);
  if (macs.reqE) expect(hex(rebuilt.emskCompoundMac)).toBe(macs.reqE);
  // Both directions verify with our code, and the peer side rebuilds the response exactly.
  expect(verifyCryptoBindingRequest(ctx, request, cmk).emskMacVerified).toBe(macs.reqE !== undefined);
  const ours = buildCryptoBindingResponse(ctx, request, cmk);
  expect(hex(ours.mskCompoundMac)).toBe(macs.resp);
  if (macs.respE) expect(hex(ours.emskCompoundMac)).toBe(macs.respE);
  expect(verifyCryptoBindingResponse(ctx, request, response, cmk).emskMacVerified).toBe(macs.respE !== undefined);
}

function mschapRound(v: TeapVector, j: number, table: 'hostapd' = 'hostapd'): Uint8Array {
  const [user, password] = val(v, table, `[j=${j}] MSCHAPv2 user / password`).split(' / ') as [string, string];
  expect(user.length).toBeGreaterThan(0);
  const ph = ntPasswordHash(password);
  expect(hex(hashNtPasswordHash(ph))).toBe(val(v, table, `[j=${j}] PasswordHashHash (16)`));
  const keys = deriveMschapV2Keys(ph, bytes(val(v, table, `[j=${j}] NT-Response (24)`)));
  expect(hex(keys.masterKey)).toBe(val(v, table, `[j=${j}] MasterKey (16)`));
  expect(hex(keys.serverReceiveKey)).toBe(val(v, table, `[j=${j}] K(Magic2) = server MS-MPPE-Recv-Key (16)`));
  expect(hex(keys.serverSendKey)).toBe(val(v, table, `[j=${j}] K(Magic3) = server MS-MPPE-Send-Key (16)`));
  expect(hex(keys.msk)).toBe(val(v, table, `[j=${j}] inner MSK as logged`));
  return keys.msk;
}

function finalKeys(v: TeapVector, c: CompoundKeyChain, peerSentEmskMac = false): void {
  const { msk, emsk, chain: which } = c.finalKeys(peerSentEmskMac);
  expect(which).toBe('msk');
  expect(hex(msk)).toBe(val(v, 'hostapd', 'hostapd 2.10 final MSK = PRF(S-IMCK_MSK[n], "Session Key Generating Function", "", 64)'));
  expect(hex(emsk)).toBe(val(v, 'hostapd', 'hostapd 2.10 final EMSK = PRF(S-IMCK_MSK[n], "Extended Session Key Generating Function", "", 64)'));
  const [recv, send] = pair(v, 'RADIUS MS-MPPE-Recv-Key (MSK[0..31]) / Send-Key (MSK[32..63])');
  expect(hex(msk.subarray(0, 32))).toBe(recv);
  expect(hex(msk.subarray(32, 64))).toBe(send);
}

function sessionId(v: TeapVector, protocol: string): void {
  const logged = bytes(val(v, 'hostapd', 'Session-Id (0x37 ‖ tls-unique) as logged'));
  const id = deriveTeapSessionId(
    { protocol, clientFinished: logged.subarray(1), serverFinished: new Uint8Array(12), resumed: false, exporter: () => new Uint8Array(0) },
    DEFAULT_TEAP_COMPAT,
  );
  expect(hex(id)).toBe(hex(logged));
  expect(id.length).toBe(protocol === 'TLSv1.2' ? 13 : 49);
}

function phase2RoundTrips(v: TeapVector): void {
  for (const [, h] of v.phase2) {
    if (h.includes('…')) continue; // truncated in the vector file (long EAP-TLS flights)
    const tlvs: TeapTlv[] = decodeTeapTlvs(bytes(h));
    expect(hex(encodeTeapTlvs(tlvs))).toBe(h);
  }
}

describe('TLS 1.2 PRF / TEAP primitives', () => {
  it('P_SHA384 is prefix-stable as the digest notes (asking 64 then truncating = asking 32)', () => {
    const s = bytes('00112233');
    expect(hex(tlsPrf('sha384', s, 'x', new Uint8Array(0), 64).subarray(0, 32))).toBe(hex(tlsPrf('sha384', s, 'x', new Uint8Array(0), 32)));
  });
  it('V1: S-IMCK_MSK[1] = PRF(sks, IMCK label, IMSK, 60)[0..39] (the digest\'s check line)', () => {
    const v = vectors.V1!;
    const r = deriveImck('sha384', bytes(val(v, 'hostapd', 'session_key_seed = S-IMCK[0] (40)')), bytes(val(v, 'hostapd', '[j=1] IMSK_MSK (32)')));
    expect(hex(r.sImck)).toBe(val(v, 'hostapd', '[j=1] S-IMCK_MSK[1] (40)'));
    expect(hex(r.cmk)).toBe(val(v, 'hostapd', '[j=1] CMK_MSK[1] (20)'));
    expect(hex(deriveTeapMsk('sha384', r.sImck))).toBe(val(v, 'hostapd', 'hostapd 2.10 final MSK = PRF(S-IMCK_MSK[n], "Session Key Generating Function", "", 64)'));
    expect(hex(deriveTeapEmsk('sha384', r.sImck))).toBe(val(v, 'hostapd', 'hostapd 2.10 final EMSK = PRF(S-IMCK_MSK[n], "Extended Session Key Generating Function", "", 64)'));
    const buf = bytes(val(v, 'hostapd', 'CB round 1 request: BUFFER (101)'));
    expect(hex(compoundMac('sha384', r.cmk, buf))).toBe(val(v, 'hostapd', 'CB round 1 request: MSK Compound-MAC'));
  });
});

describe.each([
  ['V1', 'TLSv1.2'],
  ['V5', 'TLSv1.3'],
])('%s — inner EAP-MSCHAPv2 (%s)', (name, protocol) => {
  const v = vectors[name]!;

  it('hostapd 2.10 profile: keys, Compound-MACs, final MSK/EMSK, Session-Id', () => {
    const msk = mschapRound(v, 1);
    const c = chain(v);
    c.addInnerMethod({ msk });
    expect(hex(c.debugState().sImckMsk)).toBe(val(v, 'hostapd', '[j=1] S-IMCK_MSK[1] (40)'));
    expect(hex(c.cmk().msk)).toBe(val(v, 'hostapd', '[j=1] CMK_MSK[1] (20)'));
    checkRound(v, 1, c,
      { req: val(v, 'hostapd', 'CB round 1 request: MSK Compound-MAC'), resp: val(v, 'hostapd', 'CB round 1 response: MSK Compound-MAC') },
      { req: val(v, 'hostapd', 'CB round 1 request: BUFFER (101)'), resp: val(v, 'hostapd', 'CB round 1 response: BUFFER (101)') });
    finalKeys(v, c);
    sessionId(v, protocol);
  });

  it('RFC 9930 reading (swapped IMSK)', () => {
    const msk = mschapRound(v, 1);
    const imsk = swapMskHalves(msk);
    expect(hex(imsk)).toBe(val(v, 'alt', '[j=1] IMSK = K(Magic3)‖K(Magic2)'));
    const c = chain(v, { mschapv2ImskOrder: 'rfc9930' });
    c.addInnerMethod({ msk }, imsk);
    expect(hex(c.debugState().sImckMsk)).toBe(val(v, 'alt', '[j=1] S-IMCK_MSK'));
    expect(hex(c.cmk().msk)).toBe(val(v, 'alt', '[j=1] CMK_MSK'));
    const ctx = ctxFor(c.keySchedule);
    const { request } = cryptoBindings(v)[0]!;
    const req = buildCryptoBindingRequest(ctx, c.cmk(), { emskMac: true, nonce: request.nonce });
    expect(hex(req.mskCompoundMac)).toBe(val(v, 'alt', '[j=1] request MSK Compound-MAC (same BUFFER)'));
    expect(hex(buildCryptoBindingResponse(ctx, req, c.cmk()).mskCompoundMac)).toBe(val(v, 'alt', '[j=1] response MSK Compound-MAC (same BUFFER)'));
    const f = c.finalKeys(false);
    expect(hex(f.msk)).toBe(val(v, 'alt', 'final MSK'));
    expect(hex(f.emsk)).toBe(val(v, 'alt', 'final EMSK'));
    // hostapd's Crypto-Binding does not verify under this reading: the tunnel-compromise case.
    expect(() => verifyCryptoBindingRequest(ctx, request, c.cmk())).toThrow(/MSK Compound-MAC of the server does not verify/);
  });

  it('Phase-2 payloads decode and re-encode byte for byte', () => phase2RoundTrips(v));
});

describe('V2 — inner EAP-TLS with MSK and EMSK (Flags 3)', () => {
  const v = vectors.V2!;
  it('both chains, both Compound-MACs, hostapd and RFC 9930 final keys', () => {
    const msk = bytes(val(v, 'hostapd', '[j=1] inner MSK as logged'));
    const emsk = bytes(val(v, 'hostapd', '[j=1] inner EMSK (64)'));
    expect(hex(deriveImskFromEmsk('sha384', emsk))).toBe(val(v, 'hostapd', '[j=1] IMSK_EMSK = PRF(EMSK,"TEAPbindkey@ietf.org",00 00 40,64)[0..31]'));
    const both = deriveImsk('sha384', { msk, emsk });
    expect(hex(both.msk)).toBe(val(v, 'hostapd', '[j=1] IMSK_MSK (32)'));
    expect(hex(both.emsk!)).toBe(val(v, 'hostapd', '[j=1] IMSK_EMSK = PRF(EMSK,"TEAPbindkey@ietf.org",00 00 40,64)[0..31]'));
    expect(hex(deriveImsk('sha384', {}).msk)).toBe('00'.repeat(32));
    const c = chain(v);
    c.addInnerMethod({ msk, emsk });
    const st = c.debugState();
    expect(hex(st.sImckMsk)).toBe(val(v, 'hostapd', '[j=1] S-IMCK_MSK[1] (40)'));
    expect(hex(st.sImckEmsk)).toBe(val(v, 'hostapd', '[j=1] S-IMCK_EMSK[1] (40)'));
    expect(hex(c.cmk().msk)).toBe(val(v, 'hostapd', '[j=1] CMK_MSK[1] (20)'));
    expect(hex(c.cmk().emsk!)).toBe(val(v, 'hostapd', '[j=1] CMK_EMSK[1] (20)'));
    checkRound(v, 1, c, {
      req: val(v, 'hostapd', 'CB round 1 request: MSK Compound-MAC'),
      reqE: val(v, 'hostapd', 'CB round 1 request: EMSK Compound-MAC'),
      resp: val(v, 'hostapd', 'CB round 1 response: MSK Compound-MAC'),
      respE: val(v, 'hostapd', 'CB round 1 response: EMSK Compound-MAC'),
    }, { req: val(v, 'hostapd', 'CB round 1 request: BUFFER (101)'), resp: val(v, 'hostapd', 'CB round 1 response: BUFFER (101)') });
    // hostapd 2.10 always uses the MSK chain (compat finalKeyChain = 'msk-always') ...
    finalKeys(v, c, true);
    // ... RFC 9930 §6.4 uses the EMSK chain because the peer's Crypto-Binding had an EMSK MAC.
    const r = chain(v, { finalKeyChain: 'rfc9930' });
    r.addInnerMethod({ msk, emsk });
    const f = r.finalKeys(true);
    expect(f.chain).toBe('emsk');
    expect(hex(f.msk)).toBe(val(v, 'alt', 'final MSK from S-IMCK_EMSK[n] (peer sent EMSK MAC)'));
    expect(hex(f.emsk)).toBe(val(v, 'alt', 'final EMSK from S-IMCK_EMSK[n]'));
    sessionId(v, 'TLSv1.2');
  });
  it('complete Phase-2 payloads decode and re-encode byte for byte', () => phase2RoundTrips(v));
});

describe('V3 — Basic-Password-Auth (zero IMSK)', () => {
  const v = vectors.V3!;
  it('hostapd 2.10: CMK from S-IMCK[0], chain not advanced, MSK from S-IMCK[0]', () => {
    const c = chain(v, { zeroImskAdvancesChain: false });
    c.addInnerMethod({});
    expect(hex(c.cmk().msk)).toBe(val(v, 'hostapd', 'CMK (no inner EAP) = PRF(S-IMCK[0], IMCK label, 0^32, 60)[40..59]'));
    checkRound(v, 1, c,
      { req: val(v, 'hostapd', 'CB round 1 request: MSK Compound-MAC'), resp: val(v, 'hostapd', 'CB round 1 response: MSK Compound-MAC') },
      { req: val(v, 'hostapd', 'CB round 1 request: BUFFER (101)'), resp: val(v, 'hostapd', 'CB round 1 response: BUFFER (101)') });
    finalKeys(v, c);
    sessionId(v, 'TLSv1.2');
  });
  it('FreeRADIUS reading (zeroImskAdvancesChain): same CMK, MSK from S-IMCK[1]', () => {
    const c = chain(v, { zeroImskAdvancesChain: true });
    c.addInnerMethod({});
    expect(hex(c.cmk().msk)).toBe(val(v, 'alt', 'CMK[1] (identical to hostapd)'));
    expect(hex(c.debugState().sImckMsk)).toBe(val(v, 'alt', 'S-IMCK_MSK[1] if the zero-IMSK round advances the chain'));
    expect(hex(c.finalKeys(false).msk)).toBe(val(v, 'alt', 'final MSK from S-IMCK[1]'));
  });
  it('Phase-2 payloads decode and re-encode byte for byte', () => phase2RoundTrips(v));
});

describe('V4 — Phase-1 client certificate, no inner method', () => {
  const v = vectors.V4!;
  it('CMK and final keys from S-IMCK[0]', () => {
    const c = chain(v);
    expect(hex(c.cmk().msk)).toBe(val(v, 'hostapd', 'CMK (no inner EAP) = PRF(S-IMCK[0], IMCK label, 0^32, 60)[40..59]'));
    checkRound(v, 1, c,
      { req: val(v, 'hostapd', 'CB round 1 request: MSK Compound-MAC'), resp: val(v, 'hostapd', 'CB round 1 response: MSK Compound-MAC') },
      { req: val(v, 'hostapd', 'CB round 1 request: BUFFER (101)'), resp: val(v, 'hostapd', 'CB round 1 response: BUFFER (101)') });
    finalKeys(v, c);
    sessionId(v, 'TLSv1.2');
  });
  it('Phase-2 payloads decode and re-encode byte for byte', () => phase2RoundTrips(v));
});

describe('V6 — two inner EAP-MSCHAPv2 methods (user, then machine)', () => {
  const v = vectors.V6!;
  it('hostapd 2.10 profile, both rounds', () => {
    const msk1 = mschapRound(v, 1);
    const msk2 = mschapRound(v, 2);
    const c = chain(v);
    c.addInnerMethod({ msk: msk1 });
    expect(hex(c.debugState().sImckMsk)).toBe(val(v, 'hostapd', '[j=1] S-IMCK_MSK[1] (40)'));
    expect(hex(c.cmk().msk)).toBe(val(v, 'hostapd', '[j=1] CMK_MSK[1] (20)'));
    checkRound(v, 1, c,
      { req: val(v, 'hostapd', 'CB round 1 request: MSK Compound-MAC'), resp: val(v, 'hostapd', 'CB round 1 response: MSK Compound-MAC') },
      { req: val(v, 'hostapd', 'CB round 1 request: BUFFER (101)'), resp: val(v, 'hostapd', 'CB round 1 response: BUFFER (101)') });
    c.addInnerMethod({ msk: msk2 });
    expect(hex(c.debugState().sImckMsk)).toBe(val(v, 'hostapd', '[j=2] S-IMCK_MSK[2] (40)'));
    expect(hex(c.cmk().msk)).toBe(val(v, 'hostapd', '[j=2] CMK_MSK[2] (20)'));
    checkRound(v, 2, c,
      { req: val(v, 'hostapd', 'CB round 2 request: MSK Compound-MAC'), resp: val(v, 'hostapd', 'CB round 2 response: MSK Compound-MAC') },
      { req: val(v, 'hostapd', 'CB round 2 request: BUFFER (101)'), resp: val(v, 'hostapd', 'CB round 2 response: BUFFER (101)') });
    finalKeys(v, c);
    sessionId(v, 'TLSv1.2');
  });
  it('RFC 9930 reading, both rounds', () => {
    const msk1 = mschapRound(v, 1);
    const msk2 = mschapRound(v, 2);
    const c = chain(v, { mschapv2ImskOrder: 'rfc9930' });
    const ctx = ctxFor(c.keySchedule);
    const cbs = cryptoBindings(v);
    for (const [j, msk] of [[1, msk1], [2, msk2]] as const) {
      const imsk = swapMskHalves(msk);
      expect(hex(imsk)).toBe(val(v, 'alt', `[j=${j}] IMSK = K(Magic3)‖K(Magic2)`));
      c.addInnerMethod({ msk }, imsk);
      expect(hex(c.debugState().sImckMsk)).toBe(val(v, 'alt', `[j=${j}] S-IMCK_MSK`));
      expect(hex(c.cmk().msk)).toBe(val(v, 'alt', `[j=${j}] CMK_MSK`));
      const req = buildCryptoBindingRequest(ctx, c.cmk(), { emskMac: true, nonce: cbs[j - 1]!.request.nonce });
      expect(hex(req.mskCompoundMac)).toBe(val(v, 'alt', `[j=${j}] request MSK Compound-MAC (same BUFFER)`));
      expect(hex(buildCryptoBindingResponse(ctx, req, c.cmk()).mskCompoundMac)).toBe(val(v, 'alt', `[j=${j}] response MSK Compound-MAC (same BUFFER)`));
    }
    const f = c.finalKeys(false);
    expect(hex(f.msk)).toBe(val(v, 'alt', 'final MSK'));
    expect(hex(f.emsk)).toBe(val(v, 'alt', 'final EMSK'));
  });
  it('Phase-2 payloads decode and re-encode byte for byte', () => phase2RoundTrips(v));
});

describe('TLS 1.3 profiles (teap.md §6.9)', () => {
  function recordingExporter() {
    const calls: { length: number; label: string; context?: string }[] = [];
    const exporter = (length: number, label: string, context?: Uint8Array): Uint8Array => {
      calls.push({ length, label, ...(context !== undefined ? { context: hex(context) } : {}) });
      return new Uint8Array(length).fill(calls.length);
    };
    return { calls, exporter };
  }

  test('RFC 9427 §2.2: exporter labels, contexts and exact lengths', async () => {
    const { keyScheduleFor } = await import('../../../src/teap-brski/teap/key-schedule.js');
    const { calls, exporter } = recordingExporter();
    const ks = keyScheduleFor({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', exporter }, { tls13KeySchedule: 'rfc9427' });
    expect(ks.profile).toBe('rfc9427-tls13');
    const seed = ks.sessionKeySeed();
    const msk = new Uint8Array(32).fill(0xaa);
    const emsk = new Uint8Array(64).fill(0xbb);
    ks.imskFromMsk(msk);
    ks.imskFromEmsk(emsk);
    ks.imck(seed, new Uint8Array(32));
    ks.msk(seed);
    ks.emsk(seed);
    expect(calls).toEqual([
      { length: 40, label: 'EXPORTER: teap session key seed', context: '37' },
      { length: 32, label: 'TEAPbindkey@ietf.org', context: hex(msk) },
      { length: 32, label: 'TEAPbindkey@ietf.org', context: hex(emsk) },
      { length: 60, label: 'EXPORTER: Inner Methods Compound Keys', context: hex(seed) + '00'.repeat(32) },
      { length: 64, label: 'EXPORTER: Session Key Generating Function', context: hex(seed) },
      { length: 64, label: 'EXPORTER: Extended Session Key Generating Function', context: hex(seed) },
    ]);
    expect(hex(ks.zeroImsk())).toBe('00'.repeat(32));
    const sid = deriveTeapSessionId({ protocol: 'TLSv1.3', clientFinished: new Uint8Array(32), serverFinished: new Uint8Array(32), resumed: false, exporter }, { tls13KeySchedule: 'rfc9427' });
    expect(sid).toHaveLength(65);
    expect(calls[calls.length - 1]).toEqual({ length: 64, label: 'EXPORTER_EAP_TLS_Method-Id', context: '37' });
  });

  test('hostapd profile: exporter without context for the seed, P_hash with the suite hash for the rest', async () => {
    const { keyScheduleFor } = await import('../../../src/teap-brski/teap/key-schedule.js');
    const { calls, exporter } = recordingExporter();
    const ks = keyScheduleFor({ protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', exporter }, { tls13KeySchedule: 'hostapd' });
    expect([ks.profile, ks.hash]).toEqual(['hostapd-tls13', 'sha384']);
    ks.sessionKeySeed();
    ks.imck(new Uint8Array(40), new Uint8Array(32));
    expect(calls).toEqual([{ length: 40, label: 'EXPORTER: teap session key seed' }]);
    expect(keyScheduleFor({ protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', exporter }, { tls13KeySchedule: 'rfc9427' }).hash).toBe('sha256');
    expect(() => keyScheduleFor({ protocol: 'TLSv1.1', cipher: 'x', exporter }, { tls13KeySchedule: 'hostapd' })).toThrow(/TLS 1.2 or later/);
  });
});
