import { Phase2Server, type Phase2Output } from '../../../src/teap-brski/teap/phase2-server.js';
import { Phase2Peer } from '../../../src/peer/teap/phase2-peer.js';
import { tls12KeySchedule } from '../../../src/teap-brski/teap/key-schedule.js';
import { CompoundKeyChain } from '../../../src/teap-brski/teap/compound-key-chain.js';
import { DEFAULT_TEAP_COMPAT, DEFAULT_TEAP_PEER_COMPAT, resolveTeapCompat } from '../../../src/teap-brski/teap/compat.js';
import { resolveTeapPolicy, type TeapPolicy } from '../../../src/teap-brski/teap/policy.js';
import { decodeTeapTlvs, encodeTeapTlvs, tlv, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import type { CryptoBindingContext } from '../../../src/teap-brski/teap/crypto-binding.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import type { EapMethod } from '../../../src/eap-methods/method.js';
import type { TlvMethod } from '../../../src/teap-brski/teap/tlv-method.js';
import type { TeapPeerCredentials } from '../../../src/peer/teap/inner-methods.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore, bytes, hex, userWithPassword } from '../helpers.js';
import { ALICE_PASSWORD, WRONG_PASSWORD } from '../../helpers/test-secrets.js';

const SEED = bytes('c1b51d35aef46bdf4d558f5ccd81c3bc1990d4eb6aaadc72578c89811378cd97faa9eef563a11895');
const OUTER = bytes('00010010101112131415161718191a1b1c1d1e1f');

async function pair(policy: Partial<TeapPolicy>, creds: { user?: TeapPeerCredentials; machine?: TeapPeerCredentials } = { user: { identity: 'alice', password: ALICE_PASSWORD } }) {
  const users = new MemoryUserStore();
  await userWithPassword(users, 'alice', ALICE_PASSWORD);
  const mschap = createMschapV2Method({ users });
  const innerMethods = new Map<string, EapMethod>([[mschap.name, mschap]]);
  const ks = tls12KeySchedule('sha384', (n) => SEED.slice(0, n));
  const cb: CryptoBindingContext = { ks, versionSent: 1, versionReceived: 1, serverOuterTlvs: OUTER, peerOuterTlvs: new Uint8Array(0) };
  const log = new MemoryLog();
  const compat = resolveTeapCompat({});
  const server = new Phase2Server(
    { policy: resolveTeapPolicy(policy, [...innerMethods.keys()], compat), compat, users, innerMethods, log, conversationId: 't', nas: { clientName: 't' } },
    { chain: new CompoundKeyChain(ks, SEED, DEFAULT_TEAP_COMPAT), cb, certificateOnly: false },
  );
  const peer = new Phase2Peer(new CompoundKeyChain(ks, SEED, DEFAULT_TEAP_PEER_COMPAT), cb, { ...creds, compat: resolveTeapCompat({}, DEFAULT_TEAP_PEER_COMPAT), log: new MemoryLog() });
  return { server, peer, log };
}

const wire = (out: Phase2Output): Uint8Array => {
  if (out.kind !== 'send') throw new Error(`expected TLVs to send, got ${out.kind}: ${JSON.stringify(out)}`);
  return encodeTeapTlvs(out.tlvs);
};
const errorCode = (out: Phase2Output): number | undefined => {
  if (out.kind !== 'send') return undefined;
  const e = out.tlvs.find((t) => t.kind === 'error');
  return e && e.kind === 'error' ? e.code : undefined;
};
const isFailureResult = (out: Phase2Output): boolean => out.kind === 'send' && out.tlvs.some((t) => t.kind === 'result' && t.status === 2);
const logged = (log: MemoryLog, re: RegExp): boolean => log.lines.some((l) => re.test(`${l.msg ?? ''} ${Object.values(l.obj).map(String).join(' ')}`));

/** Runs server and peer until the server's message matching `until` is produced; returns it. */
async function runUntil(p: Awaited<ReturnType<typeof pair>>, until: (tlvs: TeapTlv[]) => boolean): Promise<Uint8Array> {
  let out = await p.server.begin();
  for (let i = 0; i < 20; i++) {
    const msg = wire(out);
    if (until(decodeTeapTlvs(msg))) return msg;
    const resp = await p.peer.process(msg);
    out = await p.server.handle(encodeTeapTlvs(resp.tlvs));
  }
  throw new Error('never reached');
}
const hasCb = (t: TeapTlv[]): boolean => t.some((x) => x.kind === 'crypto-binding');

describe('Phase2Server: the happy paths in memory (no TLS)', () => {
  test.each([
    ['EAP-MSCHAPv2', { sequence: [{ methods: ['eap-mschapv2'] }] }],
    ['Basic-Password-Auth', { sequence: [{ methods: ['basic-password'] }] }],
    ['user then machine', { sequence: [{ identityType: 'user' as const, methods: ['eap-mschapv2'] }, { identityType: 'machine' as const, methods: ['basic-password'] }] }],
  ])('%s ends with equal MSKs', async (_, policy) => {
    const p = await pair(policy, { user: { identity: 'alice', password: ALICE_PASSWORD }, machine: { identity: 'alice', password: ALICE_PASSWORD } });
    let out = await p.server.begin();
    let peerMsk: string | undefined;
    for (let i = 0; i < 20 && out.kind === 'send'; i++) {
      const resp = await p.peer.process(wire(out));
      if (resp.kind === 'success') peerMsk = hex(resp.msk);
      out = await p.server.handle(encodeTeapTlvs(resp.tlvs));
    }
    expect(out.kind).toBe('success');
    if (out.kind === 'success') expect(hex(out.msk)).toBe(peerMsk);
  });
});

describe('Phase2Server: bad peer input ends in Result=Failure + Error, then failure, with the cause logged', () => {
  const basic = { sequence: [{ methods: ['basic-password'] }] };

  async function expectFatal(p: Awaited<ReturnType<typeof pair>>, out: Phase2Output, code: number, cause: RegExp): Promise<void> {
    expect(isFailureResult(out)).toBe(true);
    expect(errorCode(out)).toBe(code);
    expect(logged(p.log, cause)).toBe(true);
    // Whatever the peer answers, the verdict is failure (RFC 9930 §3.9.3).
    const final = await p.server.handle(encodeTeapTlvs([tlv.result(2)]));
    expect(final.kind).toBe('failure');
    if (final.kind === 'failure') expect(final.reason).toMatch(cause);
  }

  test('malformed TLVs: a length that overruns the message → 2002', async () => {
    const p = await pair(basic);
    await p.server.begin();
    await expectFatal(p, await p.server.handle(bytes('000e00ff0161')), 2002, /overruns/);
  });

  test('a Result=Success the peer should not send (before the server\'s) → 2002', async () => {
    const p = await pair(basic);
    await p.server.begin();
    await expectFatal(p, await p.server.handle(encodeTeapTlvs([tlv.result(1)])), 2002, /Result=Success although the server sent no successful Result/);
  });

  test('an Intermediate-Result nobody asked for → 2002', async () => {
    const p = await pair(basic);
    await p.server.begin();
    await expectFatal(p, await p.server.handle(encodeTeapTlvs([tlv.intermediateResult(1)])), 2002, /Intermediate-Result/);
  });

  test('two EAP-Payload TLVs → 2002', async () => {
    const p = await pair({});
    await p.server.begin();
    const eap = tlv.eapPayload(bytes('0201000a01616c696365'.slice(0, 20)));
    await expectFatal(p, await p.server.handle(encodeTeapTlvs([eap, eap])), 2002, /2 eap-payload TLVs/);
  });

  test('a PAC TLV (deprecated) → 2002', async () => {
    const p = await pair(basic);
    await p.server.begin();
    await expectFatal(p, await p.server.handle(bytes('800b0000')), 2002, /PAC/);
  });

  test('a TLV only servers send (Basic-Password-Auth-Req) → 2002', async () => {
    const p = await pair(basic);
    await p.server.begin();
    await expectFatal(p, await p.server.handle(bytes('800d0000')), 2002, /only a server sends/);
  });

  test('unknown mandatory TLV → NAK (rest ignored); unknown optional → ignored', async () => {
    const p = await pair(basic);
    await p.server.begin();
    const resp = encodeTeapTlvs([tlv.basicPasswordAuthResp(bytes('616c696365'), new TextEncoder().encode(ALICE_PASSWORD))]);
    const nak = await p.server.handle(new Uint8Array([...bytes('80200000'), ...resp]));
    expect(nak).toEqual({ kind: 'send', tlvs: [{ kind: 'nak', mandatory: true, vendorId: 0, nakType: 0x20, tlvs: [] }] });
    const ok = await p.server.handle(new Uint8Array([...bytes('00200001ff'), ...resp]));
    expect(ok.kind === 'send' && ok.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'result', 'crypto-binding']);
  });

  test('unknown mandatory TLV together with a Result → Result=Failure + 2002, never a NAK', async () => {
    const p = await pair(basic);
    await runUntil(p, hasCb);
    await expectFatal(p, await p.server.handle(new Uint8Array([...bytes('80200000'), ...encodeTeapTlvs([tlv.result(1)])])), 2002, /together|with a Result/);
  });

  test('a peer that keeps sending unknown mandatory TLVs is stopped', async () => {
    const p = await pair(basic);
    await p.server.begin();
    let out: Phase2Output = { kind: 'send', tlvs: [] };
    for (let i = 0; i < 4; i++) out = await p.server.handle(bytes('80200000'));
    await expectFatal(p, out, 2002, /keeps sending unsupported mandatory TLVs/);
  });

  test('a Crypto-Binding that does not verify → 2006, logged', async () => {
    const p = await pair(basic);
    const msg = await runUntil(p, hasCb);
    const resp = await p.peer.process(msg);
    const tlvs = resp.tlvs.map((t) => (t.kind === 'crypto-binding' ? { ...t, mskCompoundMac: t.mskCompoundMac.map((b) => b ^ 0xff) } : t));
    await expectFatal(p, await p.server.handle(encodeTeapTlvs(tlvs)), 2006, /MSK Compound-MAC of the peer does not verify/);
  });

  test('a Crypto-Binding response with the wrong nonce → 2001 Tunnel Compromise', async () => {
    const p = await pair(basic);
    const msg = await runUntil(p, hasCb);
    const resp = await p.peer.process(msg);
    const tlvs = resp.tlvs.map((t) => (t.kind === 'crypto-binding' ? { ...t, nonce: t.nonce.map((b, i) => (i === 0 ? b ^ 1 : b)) } : t));
    await expectFatal(p, await p.server.handle(encodeTeapTlvs(tlvs)), 2001, /nonce/);
  });

  test('no Crypto-Binding in the answer to ours → 2001', async () => {
    const p = await pair(basic);
    await runUntil(p, hasCb);
    await expectFatal(p, await p.server.handle(encodeTeapTlvs([tlv.intermediateResult(1), tlv.result(1)])), 2001, /without the Crypto-Binding/);
  });

  test('a Crypto-Binding response claiming an EMSK MAC without an inner EMSK → 2009', async () => {
    const p = await pair(basic);
    const msg = await runUntil(p, hasCb);
    const resp = await p.peer.process(msg);
    const tlvs = resp.tlvs.map((t) => (t.kind === 'crypto-binding' ? { ...t, flags: 3 } : t));
    await expectFatal(p, await p.server.handle(encodeTeapTlvs(tlvs)), 2009, /EMSK Compound-MAC/);
  });

  test('Crypto-Binding with the request Sub-Type → 2003', async () => {
    const p = await pair(basic);
    const msg = await runUntil(p, hasCb);
    const resp = await p.peer.process(msg);
    const tlvs = resp.tlvs.map((t) => (t.kind === 'crypto-binding' ? { ...t, subType: 0 } : t));
    await expectFatal(p, await p.server.handle(encodeTeapTlvs(tlvs)), 2003, /Sub-Type/);
  });

  test('peer Result=Failure with a fatal Error ends at once (EAP-Failure)', async () => {
    const p = await pair(basic);
    await p.server.begin();
    const out = await p.server.handle(encodeTeapTlvs([tlv.error(2001), tlv.result(2)]));
    expect(out.kind).toBe('failure');
    if (out.kind === 'failure') expect(out.reason).toMatch(/TunnelCompromiseError\(2001\)/);
  });

  test('wrong Basic-Password → Intermediate-Result=Failure + 1001 + Result=Failure', async () => {
    const p = await pair(basic, { user: { identity: 'alice', password: WRONG_PASSWORD } });
    const msg = await runUntil(p, (t) => t.some((x) => x.kind === 'result'));
    const t = decodeTeapTlvs(msg);
    expect(t.map((x) => x.kind)).toEqual(['intermediate-result', 'error', 'result']);
    expect(logged(p.log, /wrong password for "alice"/)).toBe(true);
  });

  test('a peer that NAKs Basic-Password-Auth and has no other method → 1032', async () => {
    const p = await pair(basic, { user: { identity: 'alice', password: ALICE_PASSWORD, methods: ['eap-mschapv2'] } });
    const msg = await runUntil(p, (t) => t.some((x) => x.kind === 'result'));
    expect(decodeTeapTlvs(msg).find((x) => x.kind === 'error')).toMatchObject({ code: 1032 });
  });

  test('a peer answering an Identity-Type policy does not allow → Result=Failure (1004)', async () => {
    const p = await pair({ sequence: [{ identityType: 'user', methods: ['basic-password'] }] });
    await p.server.begin();
    const out = await p.server.handle(encodeTeapTlvs([tlv.identityType(2), tlv.basicPasswordAuthResp(bytes('61'), bytes('62'))]));
    expect(isFailureResult(out)).toBe(true);
    expect(errorCode(out)).toBe(1004);
  });

  test('a Request-Action instead of the final Result is declined with its Status (Failure)', async () => {
    const p = await pair(basic);
    const msg = await runUntil(p, hasCb);
    const resp = await p.peer.process(msg);
    const tlvs = resp.tlvs.filter((t) => t.kind !== 'result');
    tlvs.push(tlv.requestAction(2, 2));
    const out = await p.server.handle(encodeTeapTlvs(tlvs));
    expect(isFailureResult(out)).toBe(true);
  });

  test('too many Phase-2 rounds', async () => {
    const p = await pair({ ...basic, maxPhase2Rounds: 3, maxNaks: 100 });
    await p.server.begin();
    let out: Phase2Output = { kind: 'send', tlvs: [] };
    for (let i = 0; i < 4; i++) out = await p.server.handle(bytes('80200000'));
    expect(errorCode(out)).toBe(2002);
  });
});

describe('a TLV method\'s failure carries its own TLVs', () => {
  const ks = tls12KeySchedule('sha384', (n) => SEED.slice(0, n));
  const cb: CryptoBindingContext = { ks, versionSent: 1, versionReceived: 1, serverOuterTlvs: OUTER, peerOuterTlvs: new Uint8Array(0) };
  const compat = resolveTeapCompat({});
  const retryAfter: TeapTlv = { kind: 'unknown', mandatory: false, type: 16382, value: Uint8Array.of(0, 0, 0x0e, 0x10) };
  const refuserWith = (code: number): TlvMethod => ({
    name: 'refuser',
    createSession: () => ({
      start: async () => ({ kind: 'failure', code, reason: 'not yet', tlvs: [retryAfter] }),
      step: async () => ({ kind: 'failure', code, reason: 'not yet' }),
      dispose: () => {},
    }),
  });
  const serverFor = async (policy: Partial<TeapPolicy>, refuser = refuserWith(2906)) => {
    const users = new MemoryUserStore();
    await userWithPassword(users, 'alice', ALICE_PASSWORD);
    const log = new MemoryLog();
    const server = new Phase2Server(
      {
        policy: resolveTeapPolicy(policy, ['refuser'], compat), compat, users, innerMethods: new Map(),
        tlvMethods: new Map([[refuser.name, refuser]]), log, conversationId: 't', nas: { clientName: 't' },
      },
      // The tunnel's facts are the method's business; this one reads none.
      { chain: new CompoundKeyChain(ks, SEED, DEFAULT_TEAP_COMPAT), cb, certificateOnly: false, tunnel: {} as never },
    );
    const peer = new Phase2Peer(new CompoundKeyChain(ks, SEED, DEFAULT_TEAP_PEER_COMPAT), cb, {
      user: { identity: 'alice', password: ALICE_PASSWORD }, compat: resolveTeapCompat({}, DEFAULT_TEAP_PEER_COMPAT), log: new MemoryLog(),
    });
    return { server, peer, log };
  };

  test('they go out between the Error and Result=Failure (teap-brski.md: {Retry-After, Error(Retry-PKCS#10), Result=Failure}), and our peer ends with Result=Failure', async () => {
    const { server, peer } = await serverFor({ sequence: [{ methods: ['refuser'] }] });
    const out = await server.begin();
    expect(out.kind === 'send' && out.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'error', 'unknown', 'result']);
    expect(errorCode(out)).toBe(2906);
    expect(hex(wire(out))).toContain('3ffe000400000e10');
    expect(await peer.process(wire(out))).toMatchObject({ kind: 'failure', reason: expect.stringContaining('server sent Result=Failure') });
  });

  // FAILS at 46d89a8: Error(2906) and its Retry-After went out with Intermediate-Result=Failure and
  // no Result, a fatal code in a conversation that goes on (teap.md: fatal only with Result=Failure).
  test('in an optional step, a fatal code is sent as Inner Method Error (a warning) without the method\'s TLVs, and the next step runs to success', async () => {
    const { server, peer, log } = await serverFor({ sequence: [{ methods: ['refuser'], optional: true }, { methods: ['basic-password'] }] });
    let out = await server.begin();
    expect(out.kind === 'send' && out.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'error']);
    expect(errorCode(out)).toBe(1001);
    expect(logged(log, /optional step skipped; its fatal error is sent as Inner Method Error .*2906/)).toBe(true);
    for (let i = 0; i < 10 && out.kind === 'send'; i++) out = await server.handle(encodeTeapTlvs((await peer.process(wire(out))).tlvs));
    expect(out).toMatchObject({ kind: 'success' });
  });

  // FAIL at 1e2b391: the peer heard Inner Method Error (1001) and then a bare failure, never the real code.
  test('an optional step whose failure leaves no step that could succeed ends the conversation at once with its own code and TLVs', async () => {
    const { server } = await serverFor({ sequence: [{ methods: ['refuser'], optional: true }] });
    const out = await server.begin();
    expect(out.kind === 'send' && out.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'error', 'unknown', 'result']);
    expect(errorCode(out)).toBe(2906);
  });

  // FAILS at b2f50f6: a pending step that cannot run here (client-certificate, none accepted) counted as one that could succeed.
  test('the same when the only step left needs a Phase-1 certificate the peer did not give', async () => {
    const { server } = await serverFor({ clientCertificate: 'optional', sequence: [{ methods: ['refuser'], optional: true }, { methods: ['client-certificate'] }] });
    const out = await server.begin();
    expect(out.kind === 'send' && out.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'error', 'unknown', 'result']);
    expect(errorCode(out)).toBe(2906);
  });

  // FAILS at b2e6544 (the review's case): a peer already authenticated, only optional steps left
  // that cannot run here, was refused instead of succeeding.
  test('after an authentication, with only optional steps left that cannot run here: skipped, and the conversation succeeds', async () => {
    const { server, peer } = await serverFor({
      clientCertificate: 'optional',
      sequence: [{ methods: ['basic-password'] }, { methods: ['refuser'], optional: true }, { methods: ['client-certificate'], optional: true }],
    });
    let out = await server.begin();
    const kinds: string[][] = [];
    for (let i = 0; i < 10 && out.kind === 'send'; i++) {
      kinds.push(out.tlvs.map((t) => (t.kind === 'error' ? `error(${t.code})` : t.kind)));
      out = await server.handle(encodeTeapTlvs((await peer.process(wire(out))).tlvs));
    }
    expect(kinds).toContainEqual(['intermediate-result', 'error(1001)']);
    expect(out).toMatchObject({ kind: 'success' });
  });

  // The review's other case: a user and a machine step left, and room for only one more method.
  test('when the steps left need more inner methods than the policy still allows, the real code at once', async () => {
    const { server } = await serverFor({
      maxInnerMethods: 2,
      sequence: [{ methods: ['refuser'], optional: true }, { identityType: 'user', methods: ['basic-password'] }, { identityType: 'machine', methods: ['basic-password'] }],
    });
    const out = await server.begin();
    expect(out.kind === 'send' && out.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'error', 'unknown', 'result']);
    expect(errorCode(out)).toBe(2906);
  });

  // FAILS at a1733c4 (the review's case): a peer that does not speak an optional TLV method (hostapd
  // answers its Request-Action with nothing; the method says Unexpected TLVs) lost the whole conversation.
  test('an optional TLV method the peer does not speak (its Unexpected TLVs, 2002): skipped with 1001, and the next step runs to success', async () => {
    const { server, peer } = await serverFor({ sequence: [{ methods: ['refuser'], optional: true }, { methods: ['basic-password'] }] }, refuserWith(2002));
    let out = await server.begin();
    expect(out.kind === 'send' && out.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'error']);
    expect(errorCode(out)).toBe(1001);
    for (let i = 0; i < 10 && out.kind === 'send'; i++) out = await server.handle(encodeTeapTlvs((await peer.process(wire(out))).tlvs));
    expect(out).toMatchObject({ kind: 'success' });
  });

  // FAILS at a1733c4 (the review's case): the optional step left would still start, beyond maxInnerMethods.
  test('an optional step left that would start beyond maxInnerMethods: the real code at once, not 1001 and then 2002', async () => {
    const { server, peer } = await serverFor({
      maxInnerMethods: 2,
      sequence: [{ methods: ['basic-password'] }, { methods: ['refuser'], optional: true }, { methods: ['basic-password'], optional: true }],
    });
    let out = await server.begin();
    let last: Phase2Output = out;
    for (let i = 0; i < 10 && out.kind === 'send'; i++) {
      last = out;
      if (isFailureResult(out)) break;
      out = await server.handle(encodeTeapTlvs((await peer.process(wire(out))).tlvs));
    }
    expect(isFailureResult(last)).toBe(true);
    expect(errorCode(last)).toBe(2906);
  });

  test('an optional step failing with a warning code: that code, without the method\'s TLVs, and the next step runs', async () => {
    const { server, peer } = await serverFor({ sequence: [{ methods: ['refuser'], optional: true }, { methods: ['basic-password'] }] }, refuserWith(1902));
    let out = await server.begin();
    expect(out.kind === 'send' && out.tlvs.map((t) => t.kind)).toEqual(['intermediate-result', 'error']);
    expect(errorCode(out)).toBe(1902);
    for (let i = 0; i < 10 && out.kind === 'send'; i++) out = await server.handle(encodeTeapTlvs((await peer.process(wire(out))).tlvs));
    expect(out).toMatchObject({ kind: 'success' });
  });
});
