import type { X509Certificate } from 'node:crypto';
import type { NasFacts } from '../../eap-methods/method.js';
import type { Log } from '../../util/log.js';
import type { TeapTlv } from './tlv-codec.js';

/** What a TLV method may know about the tunnel it runs in. */
export interface TunnelFacts {
  /** Our TLS end-entity certificate as sent in this session (DER). */
  serverCertificate: Uint8Array;
  /** The peer's Phase-1 certificate and the chain it sent (leaf first), when validated for this policy. */
  peerCertificate?: X509Certificate;
  peerCertificateChain?: readonly X509Certificate[];
  protocol: string;
  /** The tunnel's channel binding (tls-unique / tls-exporter), e.g. for a CSR's challengePassword. */
  channelBinding?: Uint8Array;
}

export interface TlvMethodContext {
  conversationId: string;
  nas: NasFacts;
  log: Log;
  tunnel: TunnelFacts;
}

export type TlvMethodStep =
  | { kind: 'send'; tlvs: TeapTlv[] }
  /** Satisfied: `finalTlvs` ride with the Intermediate-Result/Result that binds this method. */
  | { kind: 'success'; identity: string; deviceId?: string; finalTlvs: TeapTlv[] }
  /** `tlvs` travel with the Error and Result=Failure (a Retry-After, say). */
  | { kind: 'failure'; code: number; reason: string; tlvs?: TeapTlv[] };

export interface TlvMethodSession {
  /** The first request of the method (it may be a Request-Action). */
  start(): Promise<TlvMethodStep>;
  /** The peer's whole message, already checked by the TEAP TLV rules. */
  step(tlvs: readonly TeapTlv[]): Promise<TlvMethodStep>;
  /** The peer ended the conversation with Result=Failure and these Error codes (for the audit trail). */
  peerFailed?(errors: readonly number[]): void;
  dispose(): void;
}

/**
 * A Phase-2 method made of TLVs rather than EAP (RFC 9930 §3.6 lets TLV exchanges authenticate; here
 * TEAP-BRSKI enrolment). It exports no keys, so it binds to the tunnel with a zero IMSK, like
 * Basic-Password-Auth. The policy names it in a step's `methods` like any inner method.
 */
export interface TlvMethod {
  readonly name: string;
  createSession(ctx: TlvMethodContext): TlvMethodSession;
}
