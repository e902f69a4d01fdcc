import {
  AttributeType, NasPortType, ServiceType, integerAttribute, splitEapMessage, stringAttribute, type RadiusAttribute,
} from '../radius/index.js';

/** What our peers claim about the NAS they pretend to be (RFC 3580 §3). */
export interface NasIdentity {
  userName: string;
  nasIdentifier?: string;
  /** The supplicant's MAC as a NAS reports it, e.g. 02-00-00-00-00-01. */
  callingStationId?: string;
  /** eapol_test sends 1400. */
  framedMtu?: number;
}

/**
 * Attributes of one Access-Request carrying an EAP-Response, as an 802.11 access point sends them:
 * User-Name, NAS facts, EAP-Message split at 253 octets, and the State of the last challenge.
 * (The RADIUS client adds Message-Authenticator.)
 */
export function nasAccessRequestAttributes(nas: NasIdentity, eap: Uint8Array, state: Uint8Array | undefined): RadiusAttribute[] {
  return [
    stringAttribute(AttributeType.UserName, nas.userName),
    ...(nas.nasIdentifier !== undefined ? [stringAttribute(AttributeType.NasIdentifier, nas.nasIdentifier)] : []),
    ...(nas.callingStationId !== undefined ? [stringAttribute(AttributeType.CallingStationId, nas.callingStationId)] : []),
    integerAttribute(AttributeType.FramedMtu, nas.framedMtu ?? 1400),
    integerAttribute(AttributeType.NasPortType, NasPortType.Wireless80211),
    integerAttribute(AttributeType.ServiceType, ServiceType.Framed),
    ...splitEapMessage(eap),
    ...(state ? [{ type: AttributeType.State, value: state }] : []),
  ];
}
