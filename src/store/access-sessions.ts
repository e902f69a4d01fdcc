/**
 * The last accepted network session of each authenticated identity (a NOOB PeerId, a certificate
 * subject, a user name): what a Disconnect-Request (RFC 5176) needs to name the session at its NAS.
 * One row per identity, replaced on every Access-Accept, so the table is bounded by the number of
 * identities, not by traffic.
 */
export interface AccessSession {
  /** The authenticated identity: the User-Name of the Access-Accept. */
  identity: string;
  /** The RADIUS client (NAS) that asked, by configured name, and the address the request came from. */
  clientName: string;
  clientAddress: string;
  /** User-Name of the Access-Request (the EAP identity the device presented). */
  requestUserName?: string;
  callingStationId?: string;
  nasIdentifier?: string;
  nasIpAddress?: string;
  /**
   * The TEAP-BRSKI device (`manufacturer:serialNumber`) whose IDevID or LDevID the Accept rested
   * on, when one did: a session a person's identity was accepted under (a TEAP user step after the
   * IDevID) is still the device's to lose when an administrator denies it.
   */
  deviceId?: string;
  acceptedAt: Date;
}

export interface AccessSessionStore {
  record(session: AccessSession): Promise<void>;
  get(identity: string): Promise<AccessSession | undefined>;
  /**
   * Forgets the identity's session; with `acceptedAt`, only the session of that Accept, so that a
   * later one recorded meanwhile (an Accept that crossed a removal) stays to be ended too.
   */
  remove(identity: string, acceptedAt?: Date): Promise<boolean>;
  /** The identities whose last accepted session rested on the device's certificate. */
  identitiesOfDevice(deviceId: string): Promise<string[]>;
}
