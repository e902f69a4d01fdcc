import type * as tls from 'node:tls';
import { TlsTunnel } from '../../eap-methods/tls-tunnel.js';
import {
  DEFAULT_MAX_TLS_MESSAGE, TlsFlag, TlsMessageFragmenter, TlsMessageReassembler, decodeTlsFragment, encodeTlsFragment,
} from '../../eap-methods/tls-fragmentation.js';
import {
  EAP_TLS_12_LABEL, EAP_TLS_13_CONTEXT, EAP_TLS_13_KEY_LABEL, EAP_TLS_13_METHOD_ID_LABEL, eapTls12Keys, eapTls13Keys, type EapTlsKeys,
} from '../../eap-methods/eap-tls/keys.js';
import { helloRandom } from '../../eap-methods/tls-randoms.js';

/**
 * The peer side of EAP-TLS (RFC 5216 / RFC 9190), for our own tools and tests: it answers each
 * EAP-TLS Request's Type-Data with the Response's Type-Data.
 */
export class EapTlsPeer {
  private readonly tunnel: TlsTunnel;
  private readonly reassembler = new TlsMessageReassembler(DEFAULT_MAX_TLS_MESSAGE);
  private readonly fragmenter = new TlsMessageFragmenter();
  private clientRandom: Uint8Array | undefined;
  private serverRandom: Uint8Array | undefined;
  private _keys: EapTlsKeys | undefined;

  /** `fragmentSize` is the TLS data per Response (wpa_supplicant's default is 1398). */
  constructor(options: tls.ConnectionOptions, private readonly fragmentSize = 1398) {
    this.tunnel = TlsTunnel.client(options);
  }

  get keys(): EapTlsKeys | undefined {
    return this._keys;
  }

  get protocol(): string | null {
    return this.tunnel.protocol;
  }

  async respond(requestData: Uint8Array): Promise<Uint8Array> {
    const fragment = decodeTlsFragment(requestData);
    if ((fragment.flags & TlsFlag.Start) !== 0) {
      await this.tunnel.start();
      return this.send(this.tunnel.takeOutgoing());
    }
    if (this.fragmenter.hasMore) return this.nextFragment();
    const message = this.reassembler.add(fragment);
    if (message === undefined) return new Uint8Array([0]);
    if (!this.serverRandom) this.serverRandom = helloRandom(message, 2);
    await this.tunnel.feed(message);
    if (this.tunnel.state === 'failed') throw new Error(`TLS failed: ${this.tunnel.failure?.message ?? 'unknown'}`);
    const out = this.tunnel.takeOutgoing();
    if (this.tunnel.state === 'established' && !this._keys) this.deriveKeys();
    return this.send(out);
  }

  dispose(): void {
    this.tunnel.dispose();
  }

  private deriveKeys(): void {
    if (this.tunnel.protocol === 'TLSv1.3') {
      this._keys = eapTls13Keys(
        this.tunnel.exportKeyingMaterial(128, EAP_TLS_13_KEY_LABEL, EAP_TLS_13_CONTEXT),
        this.tunnel.exportKeyingMaterial(64, EAP_TLS_13_METHOD_ID_LABEL, EAP_TLS_13_CONTEXT),
      );
    } else if (this.clientRandom && this.serverRandom) {
      this._keys = eapTls12Keys(this.tunnel.exportKeyingMaterial(128, EAP_TLS_12_LABEL), this.clientRandom, this.serverRandom);
    }
  }

  private send(records: Uint8Array): Uint8Array {
    if (!this.clientRandom) this.clientRandom = helloRandom(records, 1);
    if (records.length === 0) return new Uint8Array([0]);
    this.fragmenter.load(records);
    return this.nextFragment();
  }

  private nextFragment(): Uint8Array {
    return encodeTlsFragment(this.fragmenter.next(this.fragmentSize + 4));
  }
}
