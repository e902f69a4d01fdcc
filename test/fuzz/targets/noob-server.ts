import { decodeEap, encodeEap, EapType } from '../../../src/eap-methods/eap-packet.js';
import type { EapMethodSession, Step } from '../../../src/eap-methods/method.js';
import { mppeKeysFromMsk } from '../../../src/noob/crypto/mppe.js';
import { systemRandom } from '../../../src/noob/crypto/random.js';
import { createNoobMethod, type NoobMethod } from '../../../src/noob/method.js';
import { deliverOob } from '../../../src/noob/oob.js';
import { resolvePeerConfig } from '../../../src/peer/noob/config.js';
import { peerOobToShow } from '../../../src/peer/noob/oob.js';
import { runNoobConversation, type EapTransport, type EapTransportReply } from '../../../src/peer/noob/runner.js';
import { MemoryPeerStateStore } from '../../../src/peer/noob/state.js';
import { MemoryNoobPeerStore } from '../../../src/store/noob-peers.js';
import { silentLog } from '../../../src/util/log.js';
import { CHUNK_LAYOUT, joinChunks, splitChunks } from '../engine/chunks.js';
import { invariant, type FuzzTarget } from '../engine/target.js';
import { ErrorTrap } from './error-trap.js';

/**
 * What the peer's chunk does to the peer's next EAP-NOOB Response (first octet of the chunk):
 * 0 send it as our peer wrote it; 1 send the chunk's rest instead; 2 insert the rest at the offset in
 * its first octet; 3 flip bits (the rest: offset, mask); 4 replay an earlier Response of this input
 * (the rest's first octet picks which); 5 let the clock jump (the rest: minutes, 2 octets) and send
 * the honest Response. When the chunks run out, our peer answers honestly.
 */
const Mode = { Honest: 0, Replace: 1, Insert: 2, Flip: 3, Replay: 4, Clock: 5 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

const PEER_INFO = '{"Make":"Fuzz","Type":"sensor","Serial":"F-1"}';

/**
 * The EAP-NOOB server state machine fed fuzzed messages in real conversations: our own peer runs
 * the Initial Exchange, an OOB message is delivered (peer to server), then the Completion and a
 * Reconnect Exchange follow, and every peer Response on the way may be replaced, altered or
 * replayed by the input. Invariants: the method never throws and never logs an internal error; an
 * EAP-Success only comes with keys our peer also holds (its MPPE keys match the server's MSK); and
 * a registration once persistent (state 3 or 4) is never demoted or deleted.
 */
export const noobServer: FuzzTarget = {
  name: 'noob-server',
  description: 'EAP-NOOB server state machine: Initial, OOB, Completion and Reconnect with fuzzed peer messages',
  maxLength: 6000,
  expected: () => false,
  hints: { tlv: [CHUNK_LAYOUT] },
  async setup() {
    const peerConfig = resolvePeerConfig({ peerInfo: PEER_INFO, preferredDirection: 1 });
    return async (data) => {
      const chunks = splitChunks(data, 40);
      let t = Date.parse('2026-01-01T00:00:00Z');
      const clock = (): Date => new Date(t);
      const store = new MemoryNoobPeerStore();
      const trap = new ErrorTrap();
      const method = createNoobMethod({ store, config: { oobUrl: 'https://gangway.fuzz.example/noob', newNai: 'noob@devices.fuzz.example' }, clock, log: trap });
      const peerStore = new MemoryPeerStateStore();
      const honest: Uint8Array[] = [];
      const transport = fuzzingTransport(method, chunks, honest, trap, (minutes) => (t += minutes * 60_000));
      const persistent = new Set<string>();
      for (let conversation = 0; conversation < 3; conversation++) {
        const outcome = await runNoobConversation({ transport, store: peerStore, config: peerConfig, log: silentLog(), clock });
        trap.check();
        if (transport.serverSucceeded) {
          invariant(outcome.result === 'success' && outcome.mppe === 'match', `server sent EAP-Success for keys our peer does not hold (peer: ${outcome.result}, MPPE ${outcome.mppe ?? 'none'})`);
        }
        transport.serverSucceeded = false;
        for (const r of await store.list({})) if (r.state >= 3) persistent.add(r.peerId);
        for (const peerId of persistent) {
          const r = await store.get(peerId);
          invariant(r !== undefined && r.state >= 3, `persistent registration ${peerId} was ${r ? `demoted to state ${r.state}` : 'deleted'}`);
        }
        if (conversation === 0) {
          const state = await peerStore.load();
          const shown = peerOobToShow(state, { config: peerConfig, now: clock(), random: systemRandom });
          if (!shown) continue;
          await peerStore.save(shown.state);
          await deliverOob({ store, clock }, shown.message);
        }
      }
    };
  },
};

/** The EAP authenticator in memory (what src/eap-methods does for the method), with the input in the middle. */
function fuzzingTransport(method: NoobMethod, chunks: Uint8Array[], honest: Uint8Array[], trap: ErrorTrap, advance: (minutes: number) => void): EapTransport & { serverSucceeded: boolean } {
  let session: EapMethodSession | undefined;
  let id = 0;
  let lastRequest: Uint8Array | undefined;
  let next = 0;
  const transport = {
    serverSucceeded: false,
    async sendEap(eap: Uint8Array): Promise<EapTransportReply> {
      const p = decodeEap(eap);
      let step: Step;
      if (p.code === 2 && p.type === EapType.Identity) {
        session?.dispose();
        session = method.createSession({ identity: Buffer.from(p.data).toString('utf8'), conversationId: 'fuzz', maxEapPacket: 1400, nas: { clientName: 'fuzz' }, log: trap });
        step = await session.start();
      } else if (p.code === 2 && p.type === 56 && session) {
        honest.push(p.data);
        step = await session.step(tamper(p.data, chunks[next++], honest, advance));
      } else {
        return { code: 'reject', eap: encodeEap({ code: 4, identifier: p.identifier }) };
      }
      invariant(['request', 'success', 'failure', 'discard'].includes(step.kind), `unknown step ${step.kind}`);
      switch (step.kind) {
        case 'request':
          id = (id + 1) & 0xff;
          lastRequest = encodeEap({ code: 1, identifier: id, type: 56, data: step.data });
          return { code: 'challenge', eap: lastRequest };
        case 'discard':
          // The EAP core re-sends the outstanding Request for a Response it ignores (RFC 3579 §2.2).
          invariant(lastRequest !== undefined, 'discard before any Request');
          return { code: 'challenge', eap: lastRequest };
        case 'success':
          transport.serverSucceeded = true;
          session.dispose();
          session = undefined;
          return { code: 'accept', eap: encodeEap({ code: 3, identifier: p.identifier }), mppe: mppeKeysFromMsk(step.msk) };
        case 'failure':
          session.dispose();
          session = undefined;
          return { code: 'reject', eap: encodeEap({ code: 4, identifier: p.identifier }) };
      }
    },
  };
  return transport;
}

function tamper(response: Uint8Array, chunk: Uint8Array | undefined, honest: readonly Uint8Array[], advance: (minutes: number) => void): Uint8Array {
  if (!chunk || chunk.length === 0) return response;
  const rest = chunk.subarray(1);
  switch (chunk[0]! % 6) {
    case Mode.Replace:
      return rest;
    case Mode.Insert: {
      const at = Math.min(rest[0] ?? 0, response.length);
      return Uint8Array.from([...response.subarray(0, at), ...rest.subarray(1), ...response.subarray(at)]);
    }
    case Mode.Flip: {
      const out = new Uint8Array(response);
      for (let i = 0; i + 1 < rest.length; i += 2) if (out.length > 0) out[rest[i]! % out.length]! ^= rest[i + 1]!;
      return out;
    }
    case Mode.Replay:
      return honest[(rest[0] ?? 0) % honest.length]!;
    case Mode.Clock:
      advance(((rest[0] ?? 0) << 8) | (rest[1] ?? 0));
      return response;
    default:
      return response;
  }
}

noobServer.makeSeeds = async () => {
  const c = (mode: Mode, ...rest: number[]): Uint8Array => Uint8Array.of(mode, ...rest);
  const honestRounds = (n: number): Uint8Array[] => Array.from({ length: n }, () => c(Mode.Honest));
  const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];
  return [
    { name: 'honest', data: new Uint8Array(0), comment: 'no chunks: our peer registers, the OOB message is delivered, Completion and Reconnect succeed' },
    { name: 'replace-first', data: joinChunks([c(Mode.Replace, ...utf8('{"Type":1,"PeerState":0}'))]), comment: 'the first Response replaced by a valid type-1 Response of our own' },
    { name: 'replay-in-completion', data: joinChunks([...honestRounds(3), c(Mode.Replay, 1), c(Mode.Replay, 2)]), comment: 'honest Initial Exchange, then earlier Responses replayed in the Completion Exchange' },
    { name: 'flip-mac', data: joinChunks([...honestRounds(5), c(Mode.Flip, 40, 1, 60, 2)]), comment: 'a flipped octet late in the Completion Exchange (MACp)' },
    { name: 'clock-jump', data: joinChunks([...honestRounds(3), c(Mode.Clock, 0x0b, 0x40)]), comment: 'the clock jumps two days between exchanges (ephemeral state expiry)' },
    { name: 'insert-member', data: joinChunks([c(Mode.Honest), c(Mode.Insert, 1, ...utf8('"Type":2,'))]), comment: 'a duplicate member inserted into the type-2 Response' },
    { name: 'reconnect-tamper', data: joinChunks([...honestRounds(7), c(Mode.Replace, ...utf8('{"Type":7,"Verp":1,"PeerId":"x","Cryptosuitep":2}')), c(Mode.Flip, 20, 4)]), comment: 'honest registration, then the Reconnect Exchange tampered with' },
  ];
};
