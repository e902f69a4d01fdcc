import { EapType } from '../eap-packet.js';

export interface EapTlsKeys {
  msk: Uint8Array;
  emsk: Uint8Array;
  /** EAP Session-Id, sent as EAP-Key-Name. */
  sessionId: Uint8Array;
}

/** Exporter label and context for each TLS generation (RFC 5216 §2.3, RFC 9190 §2.3). */
export const EAP_TLS_12_LABEL = 'client EAP encryption';
export const EAP_TLS_13_KEY_LABEL = 'EXPORTER_EAP_TLS_Key_Material';
export const EAP_TLS_13_METHOD_ID_LABEL = 'EXPORTER_EAP_TLS_Method-Id';
export const EAP_TLS_13_CONTEXT = new Uint8Array([EapType.Tls]);

/** TLS ≤ 1.2: Key_Material is the RFC 5705 export with no context; Session-Id names both randoms. */
export function eapTls12Keys(keyMaterial: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): EapTlsKeys {
  const sessionId = new Uint8Array(65);
  sessionId[0] = EapType.Tls;
  sessionId.set(clientRandom, 1);
  sessionId.set(serverRandom, 33);
  return { msk: keyMaterial.slice(0, 64), emsk: keyMaterial.slice(64, 128), sessionId };
}

/** TLS 1.3: both values come from the exporter; Session-Id is the type octet and the Method-Id. */
export function eapTls13Keys(keyMaterial: Uint8Array, methodId: Uint8Array): EapTlsKeys {
  const sessionId = new Uint8Array(1 + methodId.length);
  sessionId[0] = EapType.Tls;
  sessionId.set(methodId, 1);
  return { msk: keyMaterial.slice(0, 64), emsk: keyMaterial.slice(64, 128), sessionId };
}
