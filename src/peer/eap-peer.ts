/**
 * What every one of our EAP peers looks like to a carrier (RADIUS, EAPOL, a test harness): a sans-IO
 * state machine over whole EAP packets. The carrier sends `identityResponse()` first, then gives the
 * peer each EAP packet from the authenticator and sends back what the peer returns, until the peer
 * reports success or failure.
 */

/** The peer's verdict after EAP-Success: the keys it derived (RFC 5247). */
export interface EapPeerSuccess {
  kind: 'success';
  msk: Uint8Array;
  emsk?: Uint8Array;
  sessionId?: Uint8Array;
}

export interface EapPeerFailure {
  kind: 'failure';
  reason: string;
}

/** `send`: answer with this EAP packet; the other two end the conversation. */
export type EapPeerAction<S extends EapPeerSuccess = EapPeerSuccess> = { kind: 'send'; eap: Uint8Array } | S | EapPeerFailure;

export interface EapPeer<S extends EapPeerSuccess = EapPeerSuccess> {
  /** The first packet of a conversation over RADIUS: EAP-Response/Identity without a Request. */
  identityResponse(identifier?: number): Uint8Array;
  receive(eap: Uint8Array): Promise<EapPeerAction<S>>;
  /** Releases TLS objects and the like; the runner calls it once the conversation is over. */
  dispose(): void;
}
