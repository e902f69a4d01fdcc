/**
 * EapTransport over RADIUS (RFC 3579): each EAP-Response goes out in an Access-Request with
 * User-Name, EAP-Message (split at 253 octets), the State of the previous Access-Challenge and a
 * Message-Authenticator (added by the client); the reply's EAP-Message and MS-MPPE keys come back.
 * The User-Name is taken from our EAP-Response/Identity, which also starts a new conversation.
 */
import { EapType } from '../../eap-methods/eap-packet.js';
import { AttributeType } from '../../radius/dictionary.js';
import { getAttribute, RadiusCode } from '../../radius/packet.js';
import { joinEapMessage } from '../../radius/attributes.js';
import { nasAccessRequestAttributes } from '../nas-request.js';
import { getMppeKeys } from '../../radius/salt-encryption.js';
import type { RadiusClient } from '../../radius/client.js';
import type { RadiusSecret } from '../../radius/secret.js';
import type { EapTransport, EapTransportReply } from './runner.js';

export interface RadiusEapTransportOptions {
  client: RadiusClient;
  /** The same secret the client signs with; needed to decrypt the MS-MPPE keys. */
  secret: RadiusSecret;
  nasIdentifier?: string;
  /** Our "MAC address", as a NAS would report it. */
  callingStationId?: string;
  /** Framed-MTU to announce; EAP-NOOB never needs more than about 1 KB. */
  framedMtu?: number;
}

export class RadiusEapTransport implements EapTransport {
  private userName = '';
  private state: Uint8Array | undefined;

  constructor(private readonly opts: RadiusEapTransportOptions) {}

  async sendEap(eap: Uint8Array): Promise<EapTransportReply> {
    // Code 2 (Response), Type 1 (Identity): a new conversation with this User-Name.
    if (eap.length >= 5 && eap[0] === 2 && eap[4] === EapType.Identity) {
      this.userName = Buffer.from(eap.subarray(5)).toString('utf8');
      this.state = undefined;
    }
    const attributes = nasAccessRequestAttributes(
      {
        userName: this.userName,
        ...(this.opts.nasIdentifier !== undefined ? { nasIdentifier: this.opts.nasIdentifier } : {}),
        ...(this.opts.callingStationId !== undefined ? { callingStationId: this.opts.callingStationId } : {}),
        ...(this.opts.framedMtu !== undefined ? { framedMtu: this.opts.framedMtu } : {}),
      },
      eap,
      this.state,
    );
    const { packet, requestAuthenticator } = await this.opts.client.send({ attributes });
    const reply = joinEapMessage(packet);
    switch (packet.code) {
      case RadiusCode.AccessChallenge:
        this.state = getAttribute(packet, AttributeType.State);
        return { code: 'challenge', ...(reply ? { eap: reply } : {}) };
      case RadiusCode.AccessAccept:
        this.state = undefined;
        return { code: 'accept', ...(reply ? { eap: reply } : {}), mppe: getMppeKeys(packet, this.opts.secret, requestAuthenticator) };
      default:
        this.state = undefined;
        return { code: 'reject', ...(reply ? { eap: reply } : {}) };
    }
  }
}
