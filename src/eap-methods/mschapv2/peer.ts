import { randomBytes } from 'node:crypto';
import { EapType } from '../eap-packet.js';
import { MschapV2OpCode, MschapV2PacketError, decodeMschapV2, encodeMschapV2, parseFailureMessage, parseSuccessMessage } from './packet.js';
import {
  checkAuthenticatorResponse,
  deriveMschapV2Keys,
  generateAuthenticatorResponse,
  generateNtResponse,
  ntPasswordHash,
} from './ms-chap-v2.js';

export interface MschapV2PeerCredentials {
  /** Name sent in the Response (may carry a DOMAIN\ prefix). */
  username: string;
  password?: string;
  /** Alternatively the NT hash itself. */
  ntHash?: Uint8Array;
}

/** Outcome of one Request on the peer side. `response` is the Type-Data to send back. */
export type MschapV2PeerStep =
  | { kind: 'response'; response: Uint8Array }
  /** The server proved knowledge of the password: keys are ready; the response acknowledges. */
  | { kind: 'success'; response: Uint8Array; msk: Uint8Array }
  | { kind: 'failure'; response: Uint8Array; reason: string };

/**
 * EAP-MSCHAPv2 peer: answers Challenge with Response, checks the server's "S=" authenticator
 * response (RFC 2759 §8.8) before accepting Success. Sans-IO: Type-Data in, Type-Data out.
 * A Request it cannot take (malformed, an unknown OpCode, anything after Success or Failure) throws
 * `MschapV2PacketError`; answering a retransmitted Request is the EAP layer's job.
 */
export class MschapV2Peer {
  readonly type = EapType.MsChapV2;
  private readonly passwordHash: Uint8Array;
  private expected: string | undefined;
  private ntResponse: Uint8Array | undefined;
  private done = false;

  constructor(private readonly credentials: MschapV2PeerCredentials) {
    if (credentials.ntHash) this.passwordHash = credentials.ntHash;
    else if (credentials.password !== undefined) this.passwordHash = ntPasswordHash(credentials.password);
    else throw new Error('EAP-MSCHAPv2 peer needs a password or an NT hash');
  }

  process(typeData: Uint8Array, peerChallenge: Uint8Array = new Uint8Array(randomBytes(16))): MschapV2PeerStep {
    if (this.done) throw new MschapV2PacketError('EAP-MSCHAPv2 Request after the method finished');
    const p = decodeMschapV2(typeData, 'server');
    if (p.opCode === MschapV2OpCode.Challenge && !('ack' in p)) {
      const name = this.credentials.username;
      this.ntResponse = generateNtResponse(p.challenge, peerChallenge, name, this.passwordHash);
      this.expected = generateAuthenticatorResponse(this.passwordHash, this.ntResponse, peerChallenge, p.challenge, name);
      return {
        kind: 'response',
        response: encodeMschapV2({
          opCode: 2,
          msChapId: p.msChapId,
          peerChallenge,
          ntResponse: this.ntResponse,
          flags: 0,
          name: new Uint8Array(Buffer.from(name, 'utf8')),
        }),
      };
    }
    if (p.opCode === MschapV2OpCode.Success && 'message' in p) {
      this.done = true;
      const parsed = parseSuccessMessage(p.message);
      if (!this.expected || !this.ntResponse || !parsed || !checkAuthenticatorResponse(this.expected, parsed.authenticatorResponse)) {
        // RFC 2759 §8.8: a wrong authenticator response means the server is not who it claims.
        return { kind: 'failure', response: encodeMschapV2({ opCode: MschapV2OpCode.Failure, ack: true }), reason: 'server authenticator response does not verify' };
      }
      return { kind: 'success', response: encodeMschapV2({ opCode: MschapV2OpCode.Success, ack: true }), msk: deriveMschapV2Keys(this.passwordHash, this.ntResponse).msk };
    }
    if (p.opCode === MschapV2OpCode.Failure && 'message' in p) {
      this.done = true;
      const f = parseFailureMessage(p.message);
      return { kind: 'failure', response: encodeMschapV2({ opCode: MschapV2OpCode.Failure, ack: true }), reason: `server refused: E=${f.error}${f.text ? ` ${f.text}` : ''}` };
    }
    throw new MschapV2PacketError(`unexpected EAP-MSCHAPv2 OpCode ${p.opCode} from the server`);
  }
}
