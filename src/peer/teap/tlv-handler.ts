import type { RequestActionTlv, TeapTlv } from '../../teap-brski/teap/tlv-codec.js';

/** What the peer knows about its tunnel once the TLS handshake is done. */
export interface PeerTunnelFacts {
  /**
   * The server's certificates as its TLS Certificate message carried them (DER, end-entity first).
   * With `rejectUnauthorized: false` nothing has vouched for them yet; a TEAP-BRSKI pledge checks
   * them against its voucher's pin before it trusts the tunnel.
   */
  serverCertificateChain: readonly Uint8Array[];
  protocol: string;
  /**
   * Channel binding for a PKCS#10 challengePassword (../shared/specs/teap-brski.md §4.3): TLS 1.2
   * tls-unique (our Finished in a full handshake, RFC 5929); TLS 1.3 has none, so the RFC 9266
   * tls-exporter (a project choice, as the digest leaves it open).
   */
  channelBinding: { type: 'tls-unique' | 'tls-exporter'; data: Uint8Array } | undefined;
}

/** A handler's answer to one server message. */
export type PeerTlvStep =
  /** TLVs to add to our answer (possibly none). */
  | { kind: 'send'; tlvs: TeapTlv[] }
  /** End Phase 2: Error(code) + Result=Failure. */
  | { kind: 'failure'; code: number; reason: string };

/**
 * A Phase-2 exchange made of TLVs on the peer side (the server's TlvMethod counterpart, e.g. a
 * TEAP-BRSKI pledge): it takes on a server Request-Action the plain peer would decline, reads the
 * TLVs it claims in later messages, and has a say before the peer accepts Result=Success.
 * Like Basic-Password-Auth it exports no keys, so it binds with a zero IMSK.
 */
export interface PeerTlvHandler {
  /** Name for logs. */
  readonly name: string;
  /** Will this handler process the server's Request-Action (instead of declining it)? */
  acceptsRequestAction(ra: RequestActionTlv): boolean;
  /** Is this TLV for the handler (so a server message carrying one goes to `handle`)? */
  claims(t: TeapTlv): boolean;
  /**
   * The server's Request-Action (when it was accepted) and the TLVs of the same message this
   * handler claims, after Crypto-Binding and Intermediate-Result were checked and before the
   * Result is answered.
   */
  handle(input: { requestAction?: RequestActionTlv; tlvs: readonly TeapTlv[] }): Promise<PeerTlvStep>;
  /** The server sent Result=Success: may the peer agree? */
  finish(): { ok: true } | { ok: false; code: number; reason: string };
  /**
   * The server ended with Result=Failure: every TLV of that message, so that the handler can tell
   * its user why in its own terms (its Error codes, a Retry-After of its protocol).
   */
  serverFailed?(tlvs: readonly TeapTlv[]): void;
  dispose(): void;
}
