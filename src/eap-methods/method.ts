import type { Log } from '../util/log.js';

/**
 * What an authentication established, in protocol-neutral terms. The composition root turns it
 * into RADIUS attributes; methods never see RADIUS.
 */
export interface Grant {
  /** The authenticated identity (certificate subject, user name, NOOB PeerId, ...). */
  identity: string;
  /** Which method authenticated it, e.g. "eap-tls", "teap", "eap-noob". */
  method: string;
  /** A device identifier where the method knows one (certificate serial, PeerId). */
  deviceId?: string;
  /** The person's account the device is bound to, where known. */
  account?: string;
  /** VLAN to place the session in (RFC 3580 tunnel attributes). */
  vlan?: number;
  /** Session-Timeout in seconds. */
  sessionTimeout?: number;
  /** Opaque Class value (RFC 2865 §5.25) the NAS echoes into accounting. */
  class?: Uint8Array;
  /**
   * The client certificate (DER) that authenticated, when one did (EAP-TLS, TEAP Phase 1): the
   * credential policy recognises our LDevIDs by it and reads its MUD URL (RFC 8520), in those two
   * methods' grants only (in any other, a certificate proves nothing).
   */
  certificate?: Uint8Array;
  /**
   * TEAP: the client certificates (DER) inner EAP-TLS methods proved. They name no device class;
   * the credential policy refuses the grant when one of them is a certificate we issued and revoked.
   */
  innerCertificates?: Uint8Array[];
  /** The trusted manufacturer whose IDevID authenticated the device (TEAP-BRSKI only: the credential policy ignores it in any other method's grant); deviceId is then `manufacturer:serialNumber`. */
  manufacturer?: string;
  /**
   * EAP-NOOB: the device's PeerInfo (RFC 9140, Types 2 and 7) as the registration the method committed in
   * this conversation holds it, like `account`; the credential policy may read a MUD URL from it.
   */
  peerInfo?: string;
}

/** Facts about the network access request that methods may use for policy and logging. */
export interface NasFacts {
  /** The RADIUS client table entry the request came through. */
  clientName: string;
  /** Source address of the datagram (within the client entry's prefix). */
  clientAddress?: string;
  /** NAS-IP-Address / NAS-IPv6-Address as sent; a malformed value is kept as `0x` and its octets. */
  nasIpAddress?: string;
  nasIpv6Address?: string;
  nasIdentifier?: string;
  callingStationId?: string;
  calledStationId?: string;
}

export interface MethodContext {
  /** EAP-Response/Identity as the peer sent it (unauthenticated: routing and logging only). */
  readonly identity: string;
  /** Our conversation id, for log correlation. */
  readonly conversationId: string;
  /** Largest EAP packet (header included) we may send in this conversation. */
  readonly maxEapPacket: number;
  readonly nas: NasFacts;
  readonly log: Log;
}

/**
 * One step of a method's state machine. `data` is the EAP Type-Data: the core adds
 * Code, Identifier, Length and Type, so the same method runs bare or inside a TEAP tunnel.
 */
export type Step =
  | {
      kind: 'request';
      data: Uint8Array;
      /**
       * The peer has proved something this method trusts (for a TLS method: the handshake
       * completed). Sticky: from then on the conversation never gives way to a newcomer in a full
       * session table. Methods that never say it (no `declaresEstablished`) are protected by round
       * count only.
       */
      established?: boolean;
    }
  | {
      kind: 'success';
      msk: Uint8Array;
      emsk?: Uint8Array;
      /** EAP Session-Id (sent as EAP-Key-Name). */
      sessionId?: Uint8Array;
      grant: Grant;
    }
  | { kind: 'failure'; reason: string }
  /** Silently discard the Response (RFC 3748 §4.1): no reply, the NAS retransmits. */
  | { kind: 'discard'; reason: string };

/** One conversation's instance of a method; it owns that conversation's state. */
export interface EapMethodSession {
  /** First Request after Identity (or after a Nak selected this method). */
  start(): Promise<Step>;
  /** Type-Data of the peer's Response of this method's type. */
  step(data: Uint8Array): Promise<Step>;
  /** Releases sockets, timers and TLS objects; called once when the conversation ends or expires. */
  dispose(): void;
}

export interface EapMethod {
  /** EAP Type (13 EAP-TLS, 26 EAP-MSCHAPv2, 55 TEAP, 56 EAP-NOOB, ...). */
  readonly type: number;
  /** Name used in configuration and logs, e.g. "eap-tls". */
  readonly name: string;
  /**
   * The method says `established` itself when its peer has proved something (EAP-TLS, TEAP). Its
   * conversations are then protected by that word alone, never by `protectAfterRounds`: a peer
   * can send any number of rounds without proving anything (fragments of a TLS message it never
   * finishes, each answered by an ACK), and those rounds must not pin a place in the table.
   */
  readonly declaresEstablished?: boolean;
  createSession(ctx: MethodContext): EapMethodSession;
}
