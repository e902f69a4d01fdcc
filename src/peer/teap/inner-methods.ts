import type * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { EapType } from '../../eap-methods/eap-packet.js';
import { MschapV2Peer } from '../../eap-methods/mschapv2/peer.js';
import { MschapV2OpCode, MschapV2PacketError, encodeMschapV2 } from '../../eap-methods/mschapv2/packet.js';
import { EapTlsPeer } from '../eap-tls/eap-tls-peer.js';

/** One Request of an inner EAP method, answered. `response` is the Response's Type-Data. */
export type InnerPeerStep =
  | { kind: 'response'; response: Uint8Array }
  /** The method finished on our side with keys; the server's Intermediate-Result decides. */
  | { kind: 'success'; response: Uint8Array; msk: Uint8Array; emsk?: Uint8Array }
  | { kind: 'failure'; response: Uint8Array; reason: string };

/** The peer side of an inner EAP method: Type-Data of a Request in, of a Response out. */
export interface InnerPeerMethod {
  readonly type: number;
  readonly name: string;
  process(typeData: Uint8Array): Promise<InnerPeerStep>;
  dispose(): void;
}

export type InnerPeerMethodName = 'eap-mschapv2' | 'eap-tls' | 'basic-password';

/** Credentials for one identity type (user or machine). */
export interface TeapPeerCredentials {
  /** Inner EAP-Response/Identity, MS-CHAPv2 Name and Basic-Password username. */
  identity: string;
  password?: string;
  /** Client certificate for inner EAP-TLS: cert, key, ca (to check the inner server), servername... */
  tls?: tls.ConnectionOptions;
  /** Inner methods these credentials may be used with, in preference order (Nak lists them). */
  methods?: InnerPeerMethodName[];
}

export function allowedMethods(c: TeapPeerCredentials): InnerPeerMethodName[] {
  if (c.methods) return c.methods;
  const m: InnerPeerMethodName[] = [];
  if (c.password !== undefined) m.push('eap-mschapv2');
  if (c.tls) m.push('eap-tls');
  if (c.password !== undefined) m.push('basic-password');
  return m;
}

const TYPES: Record<Exclude<InnerPeerMethodName, 'basic-password'>, number> = { 'eap-mschapv2': EapType.MsChapV2, 'eap-tls': EapType.Tls };

/** EAP Types these credentials accept, in preference order (for a Nak). */
export function allowedEapTypes(c: TeapPeerCredentials): number[] {
  return allowedMethods(c).filter((m): m is Exclude<InnerPeerMethodName, 'basic-password'> => m !== 'basic-password').map((m) => TYPES[m]);
}

/** Random octets; replaceable so that tests can replay captured transcripts byte for byte. */
export type RandomSource = (length: number) => Uint8Array;
const defaultRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

/** Creates the inner method for an EAP Type the server proposed, or undefined if not allowed. */
export function createInnerPeerMethod(type: number, c: TeapPeerCredentials, random: RandomSource = defaultRandom): InnerPeerMethod | undefined {
  if (!allowedEapTypes(c).includes(type)) return undefined;
  if (type === EapType.MsChapV2 && c.password !== undefined) return new InnerMschapV2(c.identity, c.password, random);
  if (type === EapType.Tls && c.tls) return new InnerEapTls(c.tls);
  return undefined;
}

class InnerMschapV2 implements InnerPeerMethod {
  readonly type = EapType.MsChapV2;
  readonly name = 'eap-mschapv2';
  private readonly peer: MschapV2Peer;

  constructor(identity: string, password: string, private readonly random: RandomSource) {
    this.peer = new MschapV2Peer({ username: identity, password });
  }

  async process(typeData: Uint8Array): Promise<InnerPeerStep> {
    try {
      // Only a Challenge consumes a Peer-Challenge.
      return typeData[0] === 1 ? this.peer.process(typeData, this.random(16)) : this.peer.process(typeData);
    } catch (err) {
      // A Request the method cannot take fails it, as inner EAP-TLS does; the server's Intermediate-Result decides.
      if (!(err instanceof MschapV2PacketError)) throw err;
      return { kind: 'failure', response: encodeMschapV2({ opCode: MschapV2OpCode.Failure, ack: true }), reason: `inner EAP-MSCHAPv2: ${err.message}` };
    }
  }

  dispose(): void {}
}

/**
 * Inner EAP-TLS. Its keys exist once our TLS client is established; the Response to the server's
 * last flight (an empty EAP-TLS message) is then the method's last word. Under TLS 1.3 the server
 * still sends its 0x00 success indication afterwards; that Request is answered the same way.
 */
class InnerEapTls implements InnerPeerMethod {
  readonly type = EapType.Tls;
  readonly name = 'eap-tls';
  private readonly peer: EapTlsPeer;

  constructor(options: tls.ConnectionOptions) {
    // RFC 9930 §3.6.4: no resumption for inner EAP-TLS; a fresh client never offers a session.
    this.peer = new EapTlsPeer(options);
  }

  async process(typeData: Uint8Array): Promise<InnerPeerStep> {
    let response: Uint8Array;
    try {
      response = await this.peer.respond(typeData);
    } catch (err) {
      return { kind: 'failure', response: Uint8Array.of(0), reason: `inner EAP-TLS: ${(err as Error).message}` };
    }
    const keys = this.peer.keys;
    if (keys) return { kind: 'success', response, msk: keys.msk, emsk: keys.emsk };
    return { kind: 'response', response };
  }

  dispose(): void {
    this.peer.dispose();
  }
}
