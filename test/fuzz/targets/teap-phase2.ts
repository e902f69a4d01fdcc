import { timingSafeEqual } from 'node:crypto';
import { encodeEap, decodeEap } from '../../../src/eap-methods/eap-packet.js';
import type { EapMethod, Step } from '../../../src/eap-methods/method.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import { generateDemoPki } from '../../../src/pki/demo-pki.js';
import type { TeapPeerCredentials } from '../../../src/peer/teap/inner-methods.js';
import { TeapPeer } from '../../../src/peer/teap/teap-peer.js';
import { createTeapMethod } from '../../../src/teap-brski/teap/method.js';
import type { TeapPolicy } from '../../../src/teap-brski/teap/policy.js';
import { decodeTeapTlvs, encodeTeapTlvs, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import { CHUNK_LAYOUT, joinChunks, splitChunks } from '../engine/chunks.js';
import { invariant, type FuzzTarget } from '../engine/target.js';
import { FuzzUsers, neverLocks } from './users.js';

/**
 * What one chunk does to our peer's next Phase-2 message (first octet of the chunk): 0 send it as
 * our peer wrote it; 1 send the chunk's rest instead (raw octets: TLVs or junk); 2 append the rest to
 * it; 3 put the rest before it; 4 flip bits (the rest: offset high, offset low, mask, ...); 5 drop its
 * TLV number rest[0]; 6 replay the peer's Phase-2 message number rest[0] of this conversation.
 * When the chunks run out our peer answers honestly, so a conversation always ends.
 */
const Mode = { Honest: 0, Replace: 1, Append: 2, Prepend: 3, Flip: 4, DropTlv: 5, Replay: 6 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/** Random passwords nothing in the corpus or the mutator can know. */
const UNKNOWABLE = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64');
/** Accounts whose passwords the harness (and so the input) may know. */
const KNOWN = new Set(['alice', 'host/m1']);

interface Scenario {
  name: string;
  policy: Partial<TeapPolicy>;
  accounts: () => Record<string, string>;
  user: TeapPeerCredentials;
  machine?: TeapPeerCredentials;
  /** Both a user and a machine step: a success must have run both (the grant has a device id). */
  twoSteps: boolean;
}

const TWO_STEPS: Partial<TeapPolicy> = {
  sequence: [{ identityType: 'user', methods: ['eap-mschapv2', 'basic-password'] }, { identityType: 'machine', methods: ['basic-password', 'eap-mschapv2'] }],
};

const SCENARIOS: readonly Scenario[] = [
  { name: 'one step, right password', policy: { sequence: [{ methods: ['eap-mschapv2', 'basic-password'] }] }, accounts: () => ({ alice: 'password', 'host/m1': 'machinepw' }), user: { identity: 'alice', password: 'password' }, twoSteps: false },
  { name: 'user and machine, right passwords', policy: TWO_STEPS, accounts: () => ({ alice: 'password', 'host/m1': 'machinepw' }), user: { identity: 'alice', password: 'password' }, machine: { identity: 'host/m1', password: 'machinepw' }, twoSteps: true },
  { name: 'user and machine, machine password unknown', policy: TWO_STEPS, accounts: () => ({ alice: 'password', 'host/m2': UNKNOWABLE() }), user: { identity: 'alice', password: 'password' }, machine: { identity: 'host/m2', password: 'machinepw' }, twoSteps: true },
  { name: 'Basic-Password, password unknown', policy: { sequence: [{ methods: ['basic-password'] }] }, accounts: () => ({ bob: UNKNOWABLE() }), user: { identity: 'bob', password: 'guess' }, twoSteps: false },
];

/**
 * TEAP Phase 2 inside a live tunnel: our TEAP server method and our TEAP peer complete a real TLS
 * handshake in memory (TLS 1.2 or 1.3, the server on its configured engine), then the input takes
 * over the peer's Phase-2 messages, which the peer encrypts in the tunnel as usual. The first octet
 * picks the scenario (policy, accounts, the peer's credentials) and the TLS version; the chunks
 * after it tamper with the peer's messages in turn.
 *
 * Invariants: the server answers each message with a TEAP request, a failure, or success (never a
 * throw); each request it sends decrypts to well-formed TLVs; and a success is only reported when the
 * policy was satisfied: our peer (which checks the server's Crypto-Binding) also reached Result=Success
 * with the same MSK, EMSK and Session-Id, the grant names only accounts whose passwords can be known,
 * a two-step policy's grant has both identities, and the scenario with no knowable password never
 * succeeds.
 */
export const teapPhase2: FuzzTarget = {
  name: 'teap-phase2',
  description: 'TEAP Phase-2 processing inside a live TLS tunnel (our server and peer), peer messages fuzzed',
  maxLength: 6000,
  timeoutMs: 15_000,
  expected: () => false,
  hints: {
    tlv: [{ ...CHUNK_LAYOUT, offset: 1 }, { offset: 4, typeOctets: 2, lengthOctets: 2, lengthIncludesHeader: false }],
    dictionary: [0x8003, 0x8004, 0x8005, 0x8008, 0x8009, 0x800a, 0x800c, 0x800e, 0x0002, 0x8002, 0x0013].map((t) => Uint8Array.of(t >> 8, t & 0xff)),
  },
  async setup() {
    const pki = await generateDemoPki('radius.fuzz.example', 'fuzz-client');
    const methods: { method: EapMethod; scenario: Scenario; tls: 'TLSv1.2' | 'TLSv1.3' }[] = [];
    for (const tls of ['TLSv1.2', 'TLSv1.3'] as const) {
      for (const scenario of SCENARIOS) {
        const users = await FuzzUsers.with(scenario.accounts());
        const lockout = neverLocks();
        const method = createTeapMethod({
          tls: { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: tls, maxVersion: tls },
          users,
          passwordLockout: lockout,
          innerMethods: [createMschapV2Method({ users, lockout })],
          policy: scenario.policy,
        });
        methods.push({ method, scenario, tls });
      }
    }
    return async (data) => {
      const { method, scenario, tls } = methods[(data[0] ?? 0) % methods.length]!;
      await converse(method, scenario, tls, pki.ca.certPem, splitChunks(data.subarray(1), 40));
    };
  },
};

async function converse(method: EapMethod, scenario: Scenario, tls: 'TLSv1.2' | 'TLSv1.3', ca: string, chunks: Uint8Array[]): Promise<void> {
  const sent: Uint8Array[] = [];
  let next = 0;
  const peer = new TeapPeer({
    outerIdentity: 'anonymous@fuzz.example',
    user: scenario.user,
    ...(scenario.machine ? { machine: scenario.machine } : {}),
    tls: { ca, servername: 'radius.fuzz.example', minVersion: tls, maxVersion: tls },
    phase2Interceptor: {
      outgoingPlaintext(plaintext) {
        const out = tamper(plaintext, chunks[next++], sent);
        sent.push(plaintext);
        return out;
      },
    },
  });
  const session = method.createSession({ identity: 'anonymous@fuzz.example', conversationId: 'fuzz', maxEapPacket: 1400, nas: { clientName: 'fuzz' }, log: quiet });
  let id = 1;
  peer.identityResponse(id);
  try {
    let step: Step = await session.start();
    for (let round = 0; round < 120 && (step.kind === 'request' || step.kind === 'discard'); round++) {
      if (step.kind === 'discard') {
        // Our peer frames every packet correctly, so nothing it sends may be ignored as malformed.
        throw new Error(`server discarded a response of our peer: ${step.reason}`);
      }
      id = (id + 1) & 0xff;
      const action = await peer.receive(encodeEap({ code: 1, identifier: id, type: 55, data: step.data }));
      if (action.kind !== 'send') return;
      const response = decodeEap(action.eap);
      if (response.code !== 2) return;
      step = await session.step(response.data);
    }
    invariant(step.kind === 'success' || step.kind === 'failure' || step.kind === 'request', `unknown step ${(step as { kind: string }).kind}`);
    if (step.kind !== 'success') {
      if (step.kind === 'failure') await peer.receive(encodeEap({ code: 4, identifier: id }));
      return;
    }
    const p = await peer.receive(encodeEap({ code: 3, identifier: id }));
    invariant(p.kind === 'success', `server succeeded while our peer did not reach Result=Success (${p.kind === 'failure' ? p.reason : p.kind})`);
    invariant(same(p.msk, step.msk) && same(p.emsk, step.emsk) && step.sessionId !== undefined && same(p.sessionId, step.sessionId), 'server and peer disagree on MSK, EMSK or Session-Id');
    invariant(KNOWN.has(step.grant.identity), `success for ${step.grant.identity}, whose password nothing knows`);
    if (step.grant.deviceId !== undefined) invariant(KNOWN.has(step.grant.deviceId), `success with device ${step.grant.deviceId}, whose password nothing knows`);
    if (scenario.twoSteps) invariant(step.grant.deviceId !== undefined, 'two-step policy succeeded without a second identity');
  } finally {
    session.dispose();
    peer.dispose();
  }
}

function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && timingSafeEqual(a, b);
}

function tamper(plaintext: Uint8Array, chunk: Uint8Array | undefined, sent: readonly Uint8Array[]): Uint8Array {
  if (!chunk || chunk.length === 0) return plaintext;
  const rest = chunk.subarray(1);
  switch ((chunk[0]! % 7) as Mode) {
    case Mode.Replace:
      return rest;
    case Mode.Append:
      return Uint8Array.from([...plaintext, ...rest]);
    case Mode.Prepend:
      return Uint8Array.from([...rest, ...plaintext]);
    case Mode.Flip: {
      const out = new Uint8Array(plaintext);
      for (let i = 0; i + 2 < rest.length && out.length > 0; i += 3) out[((rest[i]! << 8) | rest[i + 1]!) % out.length]! ^= rest[i + 2]!;
      return out;
    }
    case Mode.DropTlv: {
      let tlvs: TeapTlv[];
      try {
        tlvs = decodeTeapTlvs(plaintext);
      } catch {
        return plaintext;
      }
      tlvs.splice((rest[0] ?? 0) % Math.max(1, tlvs.length), 1);
      return encodeTeapTlvs(tlvs);
    }
    case Mode.Replay:
      return sent.length > 0 ? sent[(rest[0] ?? 0) % sent.length]! : plaintext;
    default:
      return plaintext;
  }
}

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } };

teapPhase2.makeSeeds = async () => {
  const { tlv } = await import('../../../src/teap-brski/teap/tlv-codec.js');
  const c = (mode: Mode, ...rest: number[]): Uint8Array => Uint8Array.of(mode, ...rest);
  const bytes = (...tlvs: TeapTlv[]): number[] => [...encodeTeapTlvs(tlvs)];
  const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
  const seeds: { name: string; data: Uint8Array; comment: string }[] = [];
  for (let s = 0; s < SCENARIOS.length * 2; s++) {
    const scenario = SCENARIOS[s % SCENARIOS.length]!;
    const tls = s < SCENARIOS.length ? 'tls12' : 'tls13';
    seeds.push({ name: `honest-${s}-${tls}`, data: Uint8Array.of(s), comment: `${scenario.name}, ${tls}: our peer answers every Phase-2 message honestly` });
  }
  seeds.push(
    { name: 'basic-password-raw', data: Uint8Array.of(0, ...joinChunks([c(Mode.Replace, ...bytes(tlv.basicPasswordAuthResp(utf8('alice'), utf8('password'))))])), comment: 'one step: a Basic-Password-Auth-Resp of our own in place of the MSCHAPv2 answer' },
    { name: 'result-success-early', data: Uint8Array.of(1, ...joinChunks([c(Mode.Replace, ...bytes(tlv.result(1), tlv.intermediateResult(1)))])), comment: 'two steps: Result=Success and Intermediate-Result=Success before any inner method' },
    { name: 'request-action-skip', data: Uint8Array.of(2, ...joinChunks([c(Mode.Honest), c(Mode.Honest), c(Mode.Honest), c(Mode.Honest), c(Mode.Append, ...bytes(tlv.requestAction(1, 1)))])), comment: 'two steps, machine password unknown: a Request-Action appended later in the conversation' },
    { name: 'replay-and-flip', data: Uint8Array.of(1, ...joinChunks([c(Mode.Honest), c(Mode.Honest), c(Mode.Replay, 0), c(Mode.Flip, 0, 10, 0x80)])), comment: 'two steps: an earlier message replayed, then a flipped bit' },
    { name: 'drop-crypto-binding', data: Uint8Array.of(0, ...joinChunks([c(Mode.Honest), c(Mode.Honest), c(Mode.Honest), c(Mode.DropTlv, 1)])), comment: 'one step: a TLV dropped from the message that carries the Crypto-Binding' },
    { name: 'nak-and-junk', data: Uint8Array.of(3, ...joinChunks([c(Mode.Replace, ...bytes({ kind: 'nak', mandatory: true, vendorId: 0, nakType: 13, tlvs: [] })), c(Mode.Replace, 0xff, 0xff, 0, 1)])), comment: 'Basic-Password refused with a NAK, then junk' },
    { name: 'identity-type-switch', data: Uint8Array.of(5, ...joinChunks([c(Mode.Prepend, ...bytes(tlv.identityType(2)))])), comment: 'two steps (TLS 1.3): an Identity-Type Machine in answer to the user step' },
  );
  return seeds;
};
