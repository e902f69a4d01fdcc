import { vectors, type TeapVector } from '../../teap-brski/teap/vectors.js';
import { Phase2Peer } from '../../../src/peer/teap/phase2-peer.js';
import { tls12KeySchedule } from '../../../src/teap-brski/teap/key-schedule.js';
import { CompoundKeyChain } from '../../../src/teap-brski/teap/compound-key-chain.js';
import { DEFAULT_TEAP_PEER_COMPAT, resolveTeapCompat, type TeapCompat } from '../../../src/teap-brski/teap/compat.js';
import { IdentityType, RequestActionAction, ResultStatus, decodeTeapTlvs, encodeTeapTlvs, tlv, tlvTypeOf, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import { buildCryptoBindingRequest, type CryptoBindingContext } from '../../../src/teap-brski/teap/crypto-binding.js';
import type { TeapPeerCredentials } from '../../../src/peer/teap/inner-methods.js';
import type { PeerTlvHandler, PeerTlvStep } from '../../../src/peer/teap/tlv-handler.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { bytes, hex } from '../../teap-brski/helpers.js';

const AUTHORITY_ID_TLV = bytes('00010010101112131415161718191a1b1c1d1e1f');

function setup(v: TeapVector, creds: { user?: TeapPeerCredentials; machine?: TeapPeerCredentials }, compat: Partial<TeapCompat> = {}, tlvHandler?: PeerTlvHandler) {
  const seed = bytes(v.hostapd['session_key_seed = S-IMCK[0] (40)'] as string);
  const ks = tls12KeySchedule('sha384', (n) => seed.slice(0, n));
  const c = resolveTeapCompat(compat, DEFAULT_TEAP_PEER_COMPAT);
  const cb: CryptoBindingContext = { ks, versionSent: 1, versionReceived: 1, serverOuterTlvs: AUTHORITY_ID_TLV, peerOuterTlvs: new Uint8Array(0) };
  // The vector's PeerChallenges, in order, stand in for the random source.
  const challenges = Object.entries(v.hostapd).filter(([k]) => /PeerChallenge/.test(k)).map(([, x]) => bytes(x as string));
  const log = new MemoryLog();
  const peer = new Phase2Peer(new CompoundKeyChain(ks, seed, c), cb, { ...creds, compat: c, log, random: () => challenges.shift()!, ...(tlvHandler ? { tlvHandler } : {}) });
  return { peer, ks, cb, log, serverChain: new CompoundKeyChain(ks, seed, c) };
}

/** TLVs with M bits cleared and sorted by type: hostapd's peer sends some TLVs with M=0 and in another order. */
function normalize(h: string): string {
  const tlvs = decodeTeapTlvs(bytes(h)).map((t) => ({ ...t, mandatory: false }) as TeapTlv);
  tlvs.sort((a, b) => tlvTypeOf(a) - tlvTypeOf(b));
  return hex(encodeTeapTlvs(tlvs));
}

async function replay(v: TeapVector, creds: { user?: TeapPeerCredentials; machine?: TeapPeerCredentials }, exact: boolean): Promise<{ msk?: string; peer: Phase2Peer }> {
  const { peer } = setup(v, creds);
  let msk: string | undefined;
  const lines = v.phase2;
  for (let i = 0; i < lines.length; i += 2) {
    const [dirS, server] = lines[i]!;
    const [dirP, expected] = lines[i + 1]!;
    expect([dirS, dirP]).toEqual(['S', 'P']);
    const out = await peer.process(bytes(server));
    const got = hex(encodeTeapTlvs(out.tlvs));
    if (exact) expect(got).toBe(expected);
    else expect(normalize(got)).toBe(normalize(expected));
    if (out.kind === 'success') msk = hex(out.msk);
    else expect(out.kind).toBe('send');
  }
  return msk !== undefined ? { msk, peer } : { peer };
}

const FINAL_MSK = 'hostapd 2.10 final MSK = PRF(S-IMCK_MSK[n], "Session Key Generating Function", "", 64)';

describe('Phase2Peer replays hostapd 2.10 transcripts', () => {
  test.each(['V1', 'V5'])('%s: every peer message byte for byte, final MSK', async (name) => {
    const v = vectors[name]!;
    const { msk, peer } = await replay(v, { user: { identity: 'alice', password: 'password' } }, true);
    expect(msk).toBe(v.hostapd[FINAL_MSK]);
    expect(peer.detectedMschapV2Order).toBe('hostapd-2.10');
  });

  test('V6: user then machine (hostapd sends Identity-Type with M=0 after the EAP-Payload)', async () => {
    const v = vectors.V6!;
    const { msk } = await replay(v, { user: { identity: 'alice', password: 'password' }, machine: { identity: 'host/machine1', password: 'machinepw' } }, false);
    expect(msk).toBe(v.hostapd[FINAL_MSK]);
  });

  test('V3: Basic-Password-Auth (hostapd sends M=0 TLVs and an empty prompt)', async () => {
    const v = vectors.V3!;
    const { msk } = await replay(v, { user: { identity: 'alice', password: 'password' } }, false);
    expect(msk).toBe(v.hostapd[FINAL_MSK]);
  });

  test('V4: certificate-only: {Result, Crypto-Binding} without Intermediate-Result', async () => {
    const v = vectors.V4!;
    const { msk } = await replay(v, {}, true);
    expect(msk).toBe(v.hostapd[FINAL_MSK]);
  });
});

describe('Phase2Peer refuses bad server input with Result=Failure + Error', () => {
  const v = vectors.V1!;
  const creds = { user: { identity: 'alice', password: 'password' } };
  const errorOf = (tlvs: TeapTlv[]): number | undefined => tlvs.find((t) => t.kind === 'error')?.kind === 'error' ? (tlvs.find((t) => t.kind === 'error') as { code: number }).code : undefined;

  test('a Crypto-Binding that does not verify: 2006 (tunnel compromise)', async () => {
    const { peer } = setup(v, creds);
    const lines = v.phase2;
    for (let i = 0; i < 6; i += 2) await peer.process(bytes(lines[i]![1]));
    const tampered = bytes(lines[6]![1]);
    tampered[tampered.length - 1]! ^= 1;
    const out = await peer.process(tampered);
    expect(out.kind).toBe('failure');
    expect(errorOf(out.tlvs)).toBe(2006);
    expect(out.tlvs.some((t) => t.kind === 'result' && t.status === 2)).toBe(true);
  });

  // FAILS at ff14e2a: the handler's exception replaced the server's reasons with the peer's own 2002.
  test('the server\'s Result=Failure: its TLVs go to the TLV handler, and a handler that throws changes nothing of the answer', async () => {
    const seen: TeapTlv[][] = [];
    const handler: PeerTlvHandler = {
      name: 'thrower', acceptsRequestAction: () => false, claims: () => false,
      handle: async (): Promise<PeerTlvStep> => ({ kind: 'send', tlvs: [] }), finish: () => ({ ok: true }), dispose: () => {},
      serverFailed: (tlvs) => {
        seen.push([...tlvs]);
        throw new Error('cannot read that');
      },
    };
    const { peer, log } = setup(v, creds, {}, handler);
    const out = await peer.process(encodeTeapTlvs([tlv.error(2906), tlv.result(2)]));
    expect(out).toMatchObject({ kind: 'failure', reason: 'server sent Result=Failure (Error(2906))' });
    expect(out.tlvs.map((t) => t.kind)).toEqual(['result']);
    expect(seen.map((m) => m.map((t) => t.kind))).toEqual([['error', 'result']]);
    expect(log.lines.some((l) => l.msg === 'TEAP peer: the TLV handler could not read the server\'s failure')).toBe(true);
  });

  test('Intermediate-Result=Success without Crypto-Binding: 2001', async () => {
    const { peer } = setup(v, creds);
    const out = await peer.process(encodeTeapTlvs([tlv.intermediateResult(1)]));
    expect(errorOf(out.tlvs)).toBe(2001);
  });

  test('Result=Success without any Crypto-Binding: 2001', async () => {
    const { peer } = setup(v, creds);
    const out = await peer.process(encodeTeapTlvs([tlv.result(1)]));
    expect(out.kind).toBe('failure');
    expect(errorOf(out.tlvs)).toBe(2001);
  });

  test('Crypto-Binding with a wrong Received-Ver: 2003', async () => {
    const { peer, cb } = setup(v, creds);
    const req = buildCryptoBindingRequest({ ...cb, versionReceived: 0 }, { msk: new Uint8Array(20) }, { emskMac: false });
    const out = await peer.process(encodeTeapTlvs([tlv.intermediateResult(1), req]));
    expect(errorOf(out.tlvs)).toBe(2003);
  });

  test('malformed TLVs (length overruns the message): 2002', async () => {
    const { peer } = setup(v, creds);
    const out = await peer.process(bytes('800300ff0001'));
    expect(out.kind).toBe('failure');
    expect(errorOf(out.tlvs)).toBe(2002);
  });

  test('unknown mandatory TLV: NAK with its type, rest ignored; unknown optional: ignored', async () => {
    const { peer } = setup(v, creds);
    const out = await peer.process(bytes('bfff0000' + v.phase2[0]![1]));
    expect(out.kind).toBe('send');
    expect(out.tlvs).toEqual([{ kind: 'nak', mandatory: true, vendorId: 0, nakType: 0x3fff, tlvs: [] }]);
    const out2 = await peer.process(bytes('3fff0002abcd' + v.phase2[0]![1]));
    expect(hex(encodeTeapTlvs(out2.tlvs))).toBe(v.phase2[1]![1]);
  });

  test('server Result=Failure (+Error): answer Result=Failure only', async () => {
    const { peer } = setup(v, creds);
    const out = await peer.process(bytes('80050004000007d1' + '800300020002'));
    expect(out.kind).toBe('failure');
    expect(hex(encodeTeapTlvs(out.tlvs))).toBe('800300020002');
  });
});

describe('Phase2Peer with a TLV handler (the TEAP-BRSKI pledge\'s hook)', () => {
  const v = vectors.V1!;

  /** A handler that answers the Request-Action with one TLV and then takes a PKCS#7. */
  class FakeHandler implements PeerTlvHandler {
    readonly name = 'fake';
    readonly seen: { ra: boolean; kinds: string[] }[] = [];
    next: PeerTlvStep = { kind: 'send', tlvs: [{ kind: 'pkcs10', mandatory: false, der: Uint8Array.of(0x30, 0x00) }] };
    verdict: ReturnType<PeerTlvHandler['finish']> = { ok: true };
    acceptsRequestAction(ra: Extract<TeapTlv, { kind: 'request-action' }>): boolean {
      return ra.tlvs.some((t) => t.kind === 'pkcs10');
    }
    claims(t: TeapTlv): boolean {
      return t.kind === 'pkcs7';
    }
    async handle(input: { requestAction?: Extract<TeapTlv, { kind: 'request-action' }>; tlvs: readonly TeapTlv[] }): Promise<PeerTlvStep> {
      this.seen.push({ ra: input.requestAction !== undefined, kinds: input.tlvs.map((t) => t.kind) });
      const out = this.next;
      this.next = { kind: 'send', tlvs: [] };
      return out;
    }
    finish(): ReturnType<PeerTlvHandler['finish']> {
      return this.verdict;
    }
    dispose(): void {}
  }
  const startRa = tlv.requestAction(ResultStatus.Failure, RequestActionAction.ProcessTlv, [{ kind: 'pkcs10', mandatory: false, der: new Uint8Array(0) }]);
  const pkcs7: TeapTlv = { kind: 'pkcs7', mandatory: false, der: Uint8Array.of(0x30, 0x00) };

  function world() {
    const handler = new FakeHandler();
    const s = setup(v, {}, {}, handler);
    // The server's side of the binding: the handler's exchange counts as one inner method, zero IMSK.
    s.serverChain.addInnerMethod({});
    const cbReq = buildCryptoBindingRequest(s.cb, s.serverChain.cmk(), { emskMac: false });
    return { ...s, handler, cbReq };
  }

  test('takes on the Request-Action, echoes the Identity-Type, binds with a zero IMSK and agrees to Result=Success', async () => {
    const { peer, handler, cbReq, serverChain } = world();
    const first = await peer.process(encodeTeapTlvs([tlv.identityType(IdentityType.Machine), startRa]));
    expect(first.kind).toBe('send');
    expect(first.tlvs.map((t) => t.kind)).toEqual(['pkcs10', 'identity-type']);
    expect(first.tlvs[1]).toMatchObject({ identityType: IdentityType.Machine });
    const last = await peer.process(encodeTeapTlvs([pkcs7, tlv.intermediateResult(ResultStatus.Success), tlv.result(ResultStatus.Success), cbReq]));
    expect(last.kind).toBe('success');
    expect(last.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'result', 'crypto-binding']);
    expect(handler.seen).toEqual([{ ra: true, kinds: [] }, { ra: false, kinds: ['pkcs7'] }]);
    if (last.kind === 'success') expect(hex(last.msk)).toBe(hex(serverChain.finalKeys(false).msk));
  });

  test('a handler failure ends Phase 2 with its Error code and Result=Failure', async () => {
    const { peer, handler } = world();
    handler.next = { kind: 'failure', code: 2903, reason: 'bad voucher' };
    const out = await peer.process(encodeTeapTlvs([startRa]));
    expect(out.kind).toBe('failure');
    expect(out.tlvs).toEqual([tlv.error(2903), tlv.result(ResultStatus.Failure)]);
  });

  test('a handler that is not done turns the server\'s Result=Success into Result=Failure', async () => {
    const { peer, handler, cbReq } = world();
    await peer.process(encodeTeapTlvs([startRa]));
    handler.verdict = { ok: false, code: 2002, reason: 'no LDevID yet' };
    const out = await peer.process(encodeTeapTlvs([tlv.intermediateResult(ResultStatus.Success), tlv.result(ResultStatus.Success), cbReq]));
    expect(out.kind).toBe('failure');
    expect(out.tlvs).toEqual([tlv.error(2002), tlv.result(ResultStatus.Failure)]);
  });

  test('a Request-Action the handler does not accept is declined as before', async () => {
    const { peer, handler } = world();
    const out = await peer.process(encodeTeapTlvs([tlv.requestAction(ResultStatus.Failure, RequestActionAction.ProcessTlv, [])]));
    expect(out.kind).toBe('failure');
    expect(out.tlvs).toEqual([tlv.result(ResultStatus.Failure)]);
    expect(handler.seen).toEqual([]);
  });
});

describe('Phase2Peer: inner EAP Requests it has answered already (found by npm run fuzz, teap-phase2)', () => {
  const V1 = vectors.V1!;
  const server = (i: number): Uint8Array => bytes(V1.phase2[2 * i]![1]);

  test('a retransmitted Success-Request gets the same Response, and the conversation still completes', async () => {
    const { peer } = setup(V1, { user: { identity: 'alice', password: 'password' } });
    for (let i = 0; i < 3; i++) await peer.process(server(i));
    // The server re-sends its outstanding Request when our Response was lost or stale (it was a replay).
    const again = await peer.process(server(2));
    expect(again.kind).toBe('send');
    expect(hex(encodeTeapTlvs(again.tlvs))).toBe(V1.phase2[5]![1]);
    const last = await peer.process(server(3));
    expect(last.kind).toBe('success');
    if (last.kind === 'success') expect(hex(last.msk)).toBe(V1.hostapd[FINAL_MSK]);
  });

  test('a new MSCHAPv2 Request after the method finished fails the method with a Failure ack, not an exception', async () => {
    const { peer } = setup(V1, { user: { identity: 'alice', password: 'password' } });
    for (let i = 0; i < 3; i++) await peer.process(server(i));
    // The Success-Request again, under another EAP Identifier: not a retransmission.
    const other = bytes(V1.phase2[4]![1]);
    other[5] = 0x05;
    const out = await peer.process(other);
    expect(out.kind).toBe('send');
    const payload = out.tlvs.find((t) => t.kind === 'eap-payload');
    expect(payload && payload.kind === 'eap-payload' ? hex(payload.eap) : undefined).toBe('020500061a04');
  });
});
