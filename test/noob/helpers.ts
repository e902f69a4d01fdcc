/** Test scaffolding: a stand-in for the EAP core, fixed randomness, common configs. */
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import type { EapMethod, EapMethodSession, Grant, MethodContext, NasFacts } from '../../src/eap-methods/method.js';
import { keyPairFromPrivate, type Cryptosuite, type JwkOptions } from '../../src/noob/crypto/cryptosuites.js';
import { mppeKeysFromMsk } from '../../src/noob/crypto/mppe.js';
import { systemRandom, type NoobRandom } from '../../src/noob/crypto/random.js';
import type { EapTransport, EapTransportReply } from '../../src/peer/noob/runner.js';
import type { Log } from '../../src/util/log.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { hex, keysOf, V } from './vectors.js';

/**
 * Randomness that replays queued values and otherwise falls back to the CSPRNG; key pairs come from
 * the RFC 7748/5903 private keys of `side` when `fixedKeys` is set.
 */
export class ScriptedRandom implements NoobRandom {
  peerIds: string[] = [];
  nonces: Uint8Array[] = [];
  noobs: Uint8Array[] = [];
  constructor(
    private readonly side: 'server' | 'peer' | undefined = undefined,
  ) {}
  peerId(): string {
    return this.peerIds.shift() ?? systemRandom.peerId();
  }
  nonce(): Uint8Array {
    return this.nonces.shift() ?? systemRandom.nonce();
  }
  noob(): Uint8Array {
    return this.noobs.shift() ?? systemRandom.noob();
  }
  keyPair(suite: Cryptosuite, opts: JwkOptions) {
    if (!this.side) return systemRandom.keyPair(suite, opts);
    const k = keysOf(suite);
    return keyPairFromPrivate(suite, hex(this.side === 'server' ? k.server_private_hex : k.peer_private_hex), opts);
  }
}

/** The vector scenario's randomness for the server: PeerId, Ns, Ns2, Noob and the fixed keys. */
export function vectorServerRandom(): ScriptedRandom {
  const r = new ScriptedRandom('server');
  r.peerIds.push(V.inputs.PeerId);
  r.nonces.push(hex(V.inputs.Ns_hex));
  r.noobs.push(hex(V.inputs.Noob_hex));
  return r;
}

export function vectorPeerRandom(): ScriptedRandom {
  const r = new ScriptedRandom('peer');
  r.nonces.push(hex(V.inputs.Np_hex));
  return r;
}

export interface LoopbackStats {
  grants: Grant[];
  sessions: number;
  /** The last Step of the method (for assertions). */
  lastFailure?: string;
}

/**
 * A minimal EAP authenticator in memory: what src/eap-methods and src/radius do for the method,
 * without sockets. Response/Identity starts a session; type-56 responses are stepped; a Success
 * carries the MPPE keys the RADIUS layer would derive from the MSK.
 */
export function loopback(getMethod: () => EapMethod, log: Log = new MemoryLog(), nas: NasFacts = { clientName: 'test' }): EapTransport & LoopbackStats & { dropNextResponse: boolean } {
  let session: EapMethodSession | undefined;
  let id = 0;
  const stats = {
    grants: [] as Grant[],
    sessions: 0,
    lastFailure: undefined as string | undefined,
    dropNextResponse: false,
    async sendEap(eap: Uint8Array): Promise<EapTransportReply> {
      const p = decodeEap(eap);
      if (p.code !== 2) throw new Error('peer sent a non-response');
      let step;
      if (p.type === EapType.Identity) {
        session?.dispose();
        const ctx: MethodContext = {
          identity: Buffer.from(p.data).toString('utf8'),
          conversationId: `c${++stats.sessions}`,
          maxEapPacket: 1400,
          nas,
          log,
        };
        session = getMethod().createSession(ctx);
        step = await session.start();
      } else if (p.type === 56 && session) {
        if (stats.dropNextResponse) {
          // The response is lost on the way: the authenticator never sees it.
          stats.dropNextResponse = false;
          session.dispose();
          session = undefined;
          throw new Error('response lost');
        }
        step = await session.step(p.data);
      } else {
        return { code: 'reject', eap: encodeEap({ code: 4, identifier: p.identifier }) };
      }
      id = (id + 1) & 0xff;
      switch (step.kind) {
        case 'request':
          return { code: 'challenge', eap: encodeEap({ code: 1, identifier: id, type: 56, data: step.data }) };
        case 'success':
          stats.grants.push(step.grant);
          session.dispose();
          session = undefined;
          return { code: 'accept', eap: encodeEap({ code: 3, identifier: p.identifier }), mppe: mppeKeysFromMsk(step.msk) };
        default:
          stats.lastFailure = step.reason;
          session.dispose();
          session = undefined;
          return { code: 'reject', eap: encodeEap({ code: 4, identifier: p.identifier }) };
      }
    },
  };
  return stats;
}

export const SERVER_INFO = V.inputs.ServerInfo_json;
export const PEER_INFO = V.inputs.PeerInfo_json;

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public t = Date.parse('2026-01-01T00:00:00Z')) {}
  now = (): Date => new Date(this.t);
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}
