import {
  AttributeType,
  RadiusClient,
  RadiusCode,
  getAttribute,
  getMppeKeys,
  joinEapMessage,
  type RadiusSecret,
} from '../radius/index.js';
import type { Log } from '../util/log.js';
import type { EapPeer, EapPeerAction, EapPeerSuccess } from './eap-peer.js';
import { nasAccessRequestAttributes } from './nas-request.js';

export interface EapRadiusOptions {
  host: string;
  port: number;
  secret: RadiusSecret;
  /** User-Name of every Access-Request; usually the outer identity. */
  userName: string;
  /** Framed-MTU sent to the server (eapol_test sends 1400). */
  framedMtu?: number;
  callingStationId?: string;
  nasIdentifier?: string;
  /** RADIUS round trips before giving up. */
  maxRounds?: number;
  /** Reuse a client (load generator); otherwise one is created and closed here. */
  client?: RadiusClient;
  log?: Log;
}

export interface EapRadiusResult<S extends EapPeerSuccess = EapPeerSuccess> {
  outcome: 'accept' | 'reject' | 'error';
  /** Why it did not succeed (peer's or transport's view). */
  reason?: string;
  /** The peer's final verdict; on success it holds the MSK (and EMSK, Session-Id where the method has them). */
  peer?: EapPeerAction<S>;
  /** MS-MPPE keys of the Access-Accept, decrypted. */
  mppe?: { recv?: Uint8Array; send?: Uint8Array };
  /** MS-MPPE-Recv-Key = MSK[0..31] and MS-MPPE-Send-Key = MSK[32..63] (what eapol_test checks). */
  mppeMatches: boolean;
  eapKeyName?: Uint8Array;
  /** Access-Requests sent (retransmissions by the client not counted). */
  rounds: number;
}


function equal(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * Drives any EapPeer over RADIUS as a NAS would (RFC 3579): EAP-Message in Access-Request, State
 * echoed, Message-Authenticator on every request (the client adds it), Access-Challenge/Accept/Reject
 * decoded; the Accept's MS-MPPE keys are compared with the peer's MSK as eapol_test does. The peer is
 * disposed when the conversation ends, whatever the outcome.
 */
export async function runEapOverRadius<S extends EapPeerSuccess>(peer: EapPeer<S>, opts: EapRadiusOptions): Promise<EapRadiusResult<S>> {
  const client = opts.client ?? new RadiusClient({ host: opts.host, port: opts.port, secret: opts.secret, ...(opts.log ? { log: opts.log } : {}) });
  const maxRounds = opts.maxRounds ?? 60;
  let rounds = 0;
  try {
    let eap = peer.identityResponse(0);
    let state: Uint8Array | undefined;
    for (;;) {
      if (++rounds > maxRounds) return { outcome: 'error', reason: `no result after ${maxRounds} RADIUS round trips`, mppeMatches: false, rounds: rounds - 1 };
      const attributes = nasAccessRequestAttributes(opts, eap, state);
      let response;
      try {
        response = await client.send({ attributes });
      } catch (err) {
        return { outcome: 'error', reason: `RADIUS: ${(err as Error).message}`, mppeMatches: false, rounds };
      }
      const packet = response.packet;
      const eapIn = joinEapMessage(packet);
      if (packet.code === RadiusCode.AccessChallenge) {
        if (!eapIn) return { outcome: 'error', reason: 'Access-Challenge without EAP-Message', mppeMatches: false, rounds };
        state = getAttribute(packet, AttributeType.State);
        const action = await peer.receive(eapIn);
        if (action.kind !== 'send') return { outcome: 'error', reason: action.kind === 'failure' ? action.reason : 'peer finished early', peer: action, mppeMatches: false, rounds };
        eap = action.eap;
        continue;
      }
      if (packet.code === RadiusCode.AccessAccept) {
        const action: EapPeerAction<S> = eapIn ? await peer.receive(eapIn) : { kind: 'failure', reason: 'Access-Accept without EAP-Message' };
        const mppe = getMppeKeys(packet, opts.secret, response.requestAuthenticator);
        const keyName = getAttribute(packet, AttributeType.EapKeyName);
        const mppeMatches = action.kind === 'success' && equal(mppe.recv, action.msk.subarray(0, 32)) && equal(mppe.send, action.msk.subarray(32, 64));
        const result: EapRadiusResult<S> = { outcome: 'accept', peer: action, mppe, mppeMatches, rounds, ...(keyName ? { eapKeyName: keyName } : {}) };
        if (action.kind !== 'success') result.reason = action.kind === 'failure' ? action.reason : 'peer did not finish';
        return result;
      }
      if (packet.code === RadiusCode.AccessReject) {
        const action = eapIn ? await peer.receive(eapIn) : undefined;
        return { outcome: 'reject', reason: action?.kind === 'failure' ? action.reason : 'Access-Reject', ...(action ? { peer: action } : {}), mppeMatches: false, rounds };
      }
      return { outcome: 'error', reason: `unexpected RADIUS code ${packet.code}`, mppeMatches: false, rounds };
    }
  } finally {
    if (!opts.client) await client.close();
    peer.dispose();
  }
}
