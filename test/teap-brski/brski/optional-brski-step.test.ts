/**
 * The real TEAP-BRSKI method as an optional Phase-2 step in front of a person's password: what a
 * peer that does not speak BRSKI, and one that reports a fatal error inside it, make of the
 * conversation. The registrar is a stand-in that identifies every chain as one pledge.
 */
import { Phase2Server, type Phase2Output } from '../../../src/teap-brski/teap/phase2-server.js';
import { Phase2Peer } from '../../../src/peer/teap/phase2-peer.js';
import { tls12KeySchedule } from '../../../src/teap-brski/teap/key-schedule.js';
import { CompoundKeyChain } from '../../../src/teap-brski/teap/compound-key-chain.js';
import { DEFAULT_TEAP_COMPAT, DEFAULT_TEAP_PEER_COMPAT, resolveTeapCompat } from '../../../src/teap-brski/teap/compat.js';
import { resolveTeapPolicy } from '../../../src/teap-brski/teap/policy.js';
import { ResultStatus, encodeTeapTlvs, tlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import type { CryptoBindingContext } from '../../../src/teap-brski/teap/crypto-binding.js';
import type { TlvMethod } from '../../../src/teap-brski/teap/tlv-method.js';
import { createBrskiTlvMethods, type RegistrarTlvOptions } from '../../../src/teap-brski/brski/registrar-tlv-method.js';
import { BrskiTlvCodec } from '../../../src/teap-brski/brski/tlvs.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { ALICE_PASSWORD } from '../../helpers/test-secrets.js';
import { MemoryUserStore, bytes, userWithPassword } from '../helpers.js';

const SEED = bytes('c1b51d35aef46bdf4d558f5ccd81c3bc1990d4eb6aaadc72578c89811378cd97faa9eef563a11895');
const OUTER = bytes('00010010101112131415161718191a1b1c1d1e1f');
const compat = resolveTeapCompat({});
const ks = tls12KeySchedule('sha384', (n) => SEED.slice(0, n));
const cb: CryptoBindingContext = { ks, versionSent: 1, versionReceived: 1, serverOuterTlvs: OUTER, peerOuterTlvs: new Uint8Array(0) };
const registrar = {
  identify: () => ({ deviceId: 'acme:SN-1', manufacturer: { name: 'acme' }, serialNumber: 'SN-1', masaUrl: 'https://masa.example' }),
  enrolmentTooSoon: async () => undefined,
  refuseAtVoucherStart: async () => undefined,
  recordDeviceRefusal: (_: string, errors: readonly number[]) => { refusals.push([...errors]); },
  reenrolmentStanding: async () => ({ deviceId: 'acme:SN-1' }),
  csrAttributes: () => Uint8Array.of(0x30, 0x00),
} as unknown as RegistrarTlvOptions['registrar'];
let refusals: number[][] = [];
beforeEach(() => { refusals = []; });
const summary = (o: Phase2Output): string[] => (o.kind === 'send' ? o.tlvs.map((t) => (t.kind === 'error' ? `error(${t.code})` : t.kind)) : [o.kind]);

async function conversation(method: 'brski' | 'brski-reenroll' = 'brski') {
  const users = new MemoryUserStore();
  await userWithPassword(users, 'alice', ALICE_PASSWORD);
  const tlvMethods = new Map(createBrskiTlvMethods({ registrar, tlvs: new BrskiTlvCodec() }).map((m): [string, TlvMethod] => [m.name, m]));
  const server = new Phase2Server(
    {
      policy: resolveTeapPolicy({ sequence: [{ identityType: 'machine', methods: [method], optional: true }, { identityType: 'user', methods: ['basic-password'] }] }, ['brski', 'brski-reenroll'], compat),
      compat, users, innerMethods: new Map(), tlvMethods, log: new MemoryLog(), conversationId: 't', nas: { clientName: 't' },
    },
    { chain: new CompoundKeyChain(ks, SEED, DEFAULT_TEAP_COMPAT), cb, certificateOnly: false, tunnel: { serverCertificate: new Uint8Array(1), protocol: 'TLSv1.2', peerCertificateChain: [{}], peerCertificate: { raw: Buffer.from([0x30, 0x00]) } } as never },
  );
  const peer = new Phase2Peer(new CompoundKeyChain(ks, SEED, DEFAULT_TEAP_PEER_COMPAT), cb, { user: { identity: 'alice', password: ALICE_PASSWORD }, compat: resolveTeapCompat({}, DEFAULT_TEAP_PEER_COMPAT), log: new MemoryLog() });
  return { server, peer };
}

// FAILS at a1733c4: the method's Unexpected TLVs (2002) ended the conversation.
test('a peer that answers the BRSKI Request-Action with nothing (hostapd 2.10): the optional step is skipped with 1001 and the password step succeeds', async () => {
  const { server, peer } = await conversation();
  expect(summary(await server.begin())).toEqual(['identity-type', 'request-action']);
  let out = await server.handle(new Uint8Array(0));
  expect(summary(out)).toEqual(['intermediate-result', 'error(1001)']);
  for (let i = 0; i < 10 && out.kind === 'send'; i++) out = await server.handle(encodeTeapTlvs((await peer.process(encodeTeapTlvs(out.tlvs))).tlvs));
  expect(out.kind).toBe('success');
});

// FAILS at d04c5e3: the peer's Tunnel Compromise was skipped as an Inner Method Error, and the conversation succeeded.
test('a peer that reports a fatal error (Tunnel Compromise) inside the optional BRSKI step: the conversation ends there', async () => {
  const { server } = await conversation();
  await server.begin();
  const out = await server.handle(encodeTeapTlvs([tlv.error(2001)]));
  expect(summary(out)).toContain('result');
  expect(out.kind === 'send' && out.tlvs.find((t) => t.kind === 'result')).toMatchObject({ status: ResultStatus.Failure });
  expect(summary(out)).toContain('error(2001)');
});

// FAIL at 647e486: only the first Error was read (a fatal second one passed), flow C read none, and
// the refusal was not recorded. Flow C's refusal was logged only, not audited, at fbf4bcc.
test.each([
  ['brski', [1001, 2001]],
  ['brski-reenroll', [2001]],
  ['brski-reenroll', [1001, 2002]],
] as const)('%s: a peer whose Errors include a fatal one (%j) ends the conversation, optional step or not', async (method, codes) => {
  const { server } = await conversation(method);
  await server.begin();
  const out = await server.handle(encodeTeapTlvs(codes.map((c) => tlv.error(c))));
  expect(out.kind === 'send' && out.tlvs.find((t) => t.kind === 'result')).toMatchObject({ status: ResultStatus.Failure });
  expect(refusals).toEqual([[...codes]]);
});


// FAILS at 05c902c: flow C recorded a refusal only from its step, and a peer refusing with
// Result=Failure (as our own peer does, and RFC 9930's Status lets any) never reached it.
test.each(['brski', 'brski-reenroll'] as const)('%s: a peer refusing with an Error and Result=Failure is recorded once, under the device', async (method) => {
  const { server } = await conversation(method);
  await server.begin();
  const out = await server.handle(encodeTeapTlvs([tlv.error(1001), tlv.result(ResultStatus.Failure)]));
  expect(out.kind).toBe('failure');
  expect(refusals).toEqual([[1001]]);
});
