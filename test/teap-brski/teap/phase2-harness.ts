import { Phase2Server, type Phase2Output } from '../../../src/teap-brski/teap/phase2-server.js';
import { Phase2Peer, type Phase2PeerOutput } from '../../../src/peer/teap/phase2-peer.js';
import { tls12KeySchedule } from '../../../src/teap-brski/teap/key-schedule.js';
import { CompoundKeyChain } from '../../../src/teap-brski/teap/compound-key-chain.js';
import { DEFAULT_TEAP_COMPAT, DEFAULT_TEAP_PEER_COMPAT, resolveTeapCompat } from '../../../src/teap-brski/teap/compat.js';
import { resolveTeapPolicy, type TeapPolicy } from '../../../src/teap-brski/teap/policy.js';
import { decodeTeapTlvs, encodeTeapTlvs, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import type { CryptoBindingContext } from '../../../src/teap-brski/teap/crypto-binding.js';
import type { Phase1Certificate } from '../../../src/teap-brski/teap/policy-sequencer.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import type { EapMethod } from '../../../src/eap-methods/method.js';
import type { TeapPeerCredentials } from '../../../src/peer/teap/inner-methods.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore, bytes, userWithPassword } from '../helpers.js';
import { ALICE_PASSWORD, MACHINE_PASSWORD } from '../../helpers/test-secrets.js';

const SEED = bytes('c1b51d35aef46bdf4d558f5ccd81c3bc1990d4eb6aaadc72578c89811378cd97faa9eef563a11895');
const OUTER = bytes('00010010101112131415161718191a1b1c1d1e1f');

/**
 * Accounts every Phase-2 harness knows, with NT hashes and cheap scrypt hashes (FAST_SCRYPT): every
 * Basic-Password check costs one scrypt, an NT-hash-only account the production-cost dummy one.
 */
export const ALICE: TeapPeerCredentials = { identity: 'alice', password: ALICE_PASSWORD };
export const MACHINE: TeapPeerCredentials = { identity: 'host/m1', password: MACHINE_PASSWORD };

export interface Phase2Pair {
  server: Phase2Server;
  peer: Phase2Peer;
  log: MemoryLog;
  policy: TeapPolicy;
}

let sharedUsers: MemoryUserStore | undefined;
async function users(): Promise<MemoryUserStore> {
  if (!sharedUsers) {
    const u = new MemoryUserStore();
    await userWithPassword(u, ALICE.identity, ALICE.password!, { nt: true, scrypt: true });
    await userWithPassword(u, MACHINE.identity, MACHINE.password!, { nt: true, scrypt: true });
    sharedUsers = u;
  }
  return sharedUsers;
}

/** Our Phase-2 server and peer wired together in memory (no TLS: a fixed session key seed). */
export async function phase2Pair(
  policy: Partial<TeapPolicy>,
  creds: { user?: TeapPeerCredentials; machine?: TeapPeerCredentials },
  phase1: { certificate?: Phase1Certificate; certificateOnly?: boolean } = {},
): Promise<Phase2Pair> {
  const store = await users();
  const mschap = createMschapV2Method({ users: store });
  const innerMethods = new Map<string, EapMethod>([[mschap.name, mschap]]);
  const ks = tls12KeySchedule('sha384', (n) => SEED.slice(0, n));
  const cb: CryptoBindingContext = { ks, versionSent: 1, versionReceived: 1, serverOuterTlvs: OUTER, peerOuterTlvs: new Uint8Array(0) };
  const log = new MemoryLog();
  const compat = resolveTeapCompat({});
  const resolved = resolveTeapPolicy(policy, [...innerMethods.keys()], compat);
  const server = new Phase2Server(
    { policy: resolved, compat, users: store, innerMethods, log, conversationId: 't', nas: { clientName: 't' } },
    {
      chain: new CompoundKeyChain(ks, SEED, DEFAULT_TEAP_COMPAT),
      cb,
      ...(phase1.certificate ? { clientCertificate: phase1.certificate } : {}),
      certificateOnly: phase1.certificateOnly ?? false,
    },
  );
  const peer = new Phase2Peer(new CompoundKeyChain(ks, SEED, DEFAULT_TEAP_PEER_COMPAT), cb, { ...creds, compat: resolveTeapCompat({}, DEFAULT_TEAP_PEER_COMPAT), log: new MemoryLog() });
  return { server, peer, log, policy: resolved };
}

export const sent = (out: Phase2Output): TeapTlv[] => {
  if (out.kind !== 'send') throw new Error(`expected TLVs to send, got ${out.kind}`);
  return out.tlvs;
};
export const errorCodeOf = (out: Phase2Output): number | undefined => {
  if (out.kind !== 'send') return undefined;
  const e = out.tlvs.find((t) => t.kind === 'error');
  return e && e.kind === 'error' ? e.code : undefined;
};
export const isResult = (out: Phase2Output, status: 1 | 2): boolean => out.kind === 'send' && out.tlvs.some((t) => t.kind === 'result' && t.status === status);
export const logged = (log: MemoryLog, re: RegExp): boolean => log.lines.some((l) => re.test(`${l.msg ?? ''} ${Object.values(l.obj).map(String).join(' ')}`));

/** One exchange: the peer processes the server's TLVs (optionally rewritten) and answers. */
export async function peerAnswer(p: Phase2Pair, serverTlvs: TeapTlv[]): Promise<Phase2PeerOutput> {
  return p.peer.process(encodeTeapTlvs(serverTlvs));
}
export const reencode = (tlvs: TeapTlv[]): Uint8Array => encodeTeapTlvs(tlvs);
export const decode = (b: Uint8Array): TeapTlv[] => decodeTeapTlvs(b);
