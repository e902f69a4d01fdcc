import type * as tls from 'node:tls';
import { EapCode, EapType, decodeEap, encodeEap } from '../../eap-methods/eap-packet.js';
import { EapProtocolError } from '../../eap-methods/errors.js';
import type { EapPeer, EapPeerAction, EapPeerSuccess } from '../eap-peer.js';
import { EapTlsPeer } from './eap-tls-peer.js';

export interface EapTlsEapPeerConfig {
  /** EAP-Response/Identity; for EAP-TLS usually the certificate's name. */
  identity: string;
  /** Client certificate and key, `ca`/`servername` to check the server, min/maxVersion. */
  tls: tls.ConnectionOptions;
  /** TLS octets per EAP-TLS fragment we send (wpa_supplicant's default is 1398). */
  fragmentSize?: number;
}

export type EapTlsPeerSuccess = Required<EapPeerSuccess>;

/**
 * EapTlsPeer (which answers Type-Data) wrapped into a whole-packet EapPeer, so that the generic
 * carriers (`runEapOverRadius`) can drive EAP-TLS: Identity and Notification are answered, another
 * method proposed before EAP-TLS started is Nak'ed in favour of 13, and EAP-Success counts only
 * once TLS has produced keys (RFC 4137 §4.1: an early Success authenticates nothing).
 */
export class EapTlsEapPeer implements EapPeer<EapTlsPeerSuccess> {
  private readonly tlsPeer: EapTlsPeer;
  private started = false;
  private lastRequest: Uint8Array | undefined;
  private lastResponse: Uint8Array | undefined;

  constructor(private readonly config: EapTlsEapPeerConfig) {
    this.tlsPeer = new EapTlsPeer(config.tls, config.fragmentSize);
  }

  /** The negotiated TLS version, once known. */
  get protocol(): string | null {
    return this.tlsPeer.protocol;
  }

  identityResponse(identifier = 0): Uint8Array {
    return encodeEap({ code: EapCode.Response, identifier, type: EapType.Identity, data: this.identityBytes() });
  }

  async receive(eapBytes: Uint8Array): Promise<EapPeerAction<EapTlsPeerSuccess>> {
    let p;
    try {
      p = decodeEap(eapBytes);
    } catch (err) {
      if (err instanceof EapProtocolError) return { kind: 'failure', reason: `malformed EAP packet: ${err.message}` };
      throw err;
    }
    if (p.code === EapCode.Success) {
      const keys = this.tlsPeer.keys;
      if (!keys) return { kind: 'failure', reason: 'EAP-Success before the TLS handshake finished' };
      return { kind: 'success', msk: keys.msk, emsk: keys.emsk, sessionId: keys.sessionId };
    }
    if (p.code === EapCode.Failure) return { kind: 'failure', reason: 'EAP-Failure from the server' };
    if (p.code !== EapCode.Request) return { kind: 'failure', reason: `EAP Code ${p.code} from the server` };
    // A retransmitted Request (same bytes) gets the same Response: TLS must not see a record twice.
    if (this.lastRequest && this.lastResponse && Buffer.from(eapBytes).equals(Buffer.from(this.lastRequest))) {
      return { kind: 'send', eap: this.lastResponse };
    }
    let type: number;
    let data: Uint8Array;
    if (p.type === EapType.Identity) {
      type = EapType.Identity;
      data = this.identityBytes();
    } else if (p.type === EapType.Notification) {
      type = EapType.Notification;
      data = new Uint8Array(0);
    } else if (p.type === EapType.Tls) {
      this.started = true;
      try {
        data = await this.tlsPeer.respond(p.data);
      } catch (err) {
        return { kind: 'failure', reason: (err as Error).message };
      }
      type = EapType.Tls;
    } else if (!this.started) {
      // Legacy Nak proposing EAP-TLS (RFC 3748 §5.3.1), allowed only before a method started.
      type = EapType.Nak;
      data = Uint8Array.of(EapType.Tls);
    } else {
      return { kind: 'failure', reason: `EAP type ${p.type} in the middle of EAP-TLS` };
    }
    const eap = encodeEap({ code: EapCode.Response, identifier: p.identifier, type, data });
    this.lastRequest = eapBytes.slice();
    this.lastResponse = eap;
    return { kind: 'send', eap };
  }

  dispose(): void {
    this.tlsPeer.dispose();
  }

  private identityBytes(): Uint8Array {
    return new Uint8Array(Buffer.from(this.config.identity, 'utf8'));
  }
}
