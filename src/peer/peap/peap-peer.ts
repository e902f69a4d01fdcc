import type * as tls from 'node:tls';
import { EapCode, EapType, decodeEap, encodeEap } from '../../eap-methods/eap-packet.js';
import { EapProtocolError } from '../../eap-methods/errors.js';
import { MschapV2Peer } from '../../eap-methods/mschapv2/peer.js';
import {
  DEFAULT_MAX_TLS_MESSAGE, TlsFlag, TlsMessageFragmenter, TlsMessageReassembler, decodeTlsFragment, encodeTlsFragment,
} from '../../eap-methods/tls-fragmentation.js';
import { TlsTunnel } from '../../eap-methods/tls-tunnel.js';
import { concatBytes } from '../../util/bytes.js';
import type { EapPeer, EapPeerAction, EapPeerSuccess } from '../eap-peer.js';

/** EAP-TLV / Extensions (PEAP's Result exchange; EAP Type 33). */
const EAP_TYPE_EXTENSIONS = 33;
/** Result TLV: type 3, Mandatory bit set; value 1 Success, 2 Failure. */
const RESULT_TLV = 3;
const TLV_MANDATORY = 0x8000;
const RESULT_SUCCESS = 1;
const RESULT_FAILURE = 2;
/** PEAPv0 keying without crypto-binding: the first 64 octets of this TLS 1.2 exporter are the MSK. */
const PEAP_KEY_LABEL = 'client EAP encryption';
const VERSION_MASK = 0x07;

export interface PeapPeerConfig {
  /** Outer EAP-Response/Identity, usually anonymous with a realm. */
  outerIdentity: string;
  /** The account for the inner EAP-MSCHAPv2. */
  user: { identity: string; password: string };
  /**
   * `ca` and `servername` to check the server. PEAPv0 keying is defined for TLS 1.2: the tunnel is
   * pinned to it, except that a `secureContext` keeps its own bounds (pin it to TLS 1.2 too); a
   * tunnel that came up otherwise ends in a failure at EAP-Success, never in keys.
   */
  tls: tls.ConnectionOptions;
  /** TLS octets per fragment we send (wpa_supplicant's default is 1398). */
  fragmentSize?: number;
}

/**
 * A minimal PEAPv0 peer with inner EAP-MSCHAPv2, as Windows and wpa_supplicant speak it to
 * FreeRADIUS and hostapd: for the benchmark's password-in-tunnel comparison (Gangway has no PEAP;
 * FreeRADIUS 3.2 has no TEAP), run in-process so that the load costs the same as our TEAP peer's.
 *
 * Facts it relies on (draft-josefsson-pppext-eap-tls-eap, [MS-PEAP]): EAP Type 25 with EAP-TLS's
 * L/M/S flags and the version in the low three bits (we answer 0); inside the tunnel, version 0
 * sends inner EAP packets without their Code/Identifier/Length header, except EAP-TLV (Type 33)
 * packets, which keep it; after the inner method, a Result TLV is echoed; without crypto-binding
 * the MSK is the first 64 octets of the TLS-PRF with label "client EAP encryption" over both
 * randoms (the TLS 1.2 exporter without context). Crypto-binding TLVs are not answered: servers
 * where it is optional (hostapd's and FreeRADIUS's defaults) then key as above.
 */
export class PeapPeer implements EapPeer {
  private readonly tunnel: TlsTunnel;
  private readonly reassembler = new TlsMessageReassembler(DEFAULT_MAX_TLS_MESSAGE);
  private readonly fragmenter = new TlsMessageFragmenter();
  private readonly mschap: MschapV2Peer;
  private readonly fragmentSize: number;
  private started = false;
  /** The inner MSCHAPv2 verified the server (its S= response). */
  private innerSucceeded = false;
  /** The server's Result TLV said Success after the inner method did. */
  private resultSucceeded = false;
  private innerFailure: string | undefined;
  private lastRequest: Uint8Array | undefined;
  private lastResponse: Uint8Array | undefined;

  constructor(private readonly config: PeapPeerConfig) {
    this.tunnel = TlsTunnel.client({ ...config.tls, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    this.mschap = new MschapV2Peer({ username: config.user.identity, password: config.user.password });
    this.fragmentSize = config.fragmentSize ?? 1398;
  }

  identityResponse(identifier = 0): Uint8Array {
    return encodeEap({ code: EapCode.Response, identifier, type: EapType.Identity, data: this.utf8(this.config.outerIdentity) });
  }

  async receive(eapBytes: Uint8Array): Promise<EapPeerAction> {
    let p;
    try {
      p = decodeEap(eapBytes);
    } catch (err) {
      if (err instanceof EapProtocolError) return { kind: 'failure', reason: `malformed EAP packet: ${err.message}` };
      throw err;
    }
    if (p.code === EapCode.Success) return this.success();
    if (p.code === EapCode.Failure) return { kind: 'failure', reason: this.innerFailure ?? 'EAP-Failure from the server' };
    if (p.code !== EapCode.Request) return { kind: 'failure', reason: `EAP Code ${p.code} from the server` };
    // A retransmitted Request gets the same Response: TLS must not see a record twice.
    if (this.lastRequest && this.lastResponse && Buffer.from(eapBytes).equals(Buffer.from(this.lastRequest))) return { kind: 'send', eap: this.lastResponse };
    let type: number;
    let data: Uint8Array;
    if (p.type === EapType.Identity) {
      type = EapType.Identity;
      data = this.utf8(this.config.outerIdentity);
    } else if (p.type === EapType.Notification) {
      type = EapType.Notification;
      data = new Uint8Array(0);
    } else if (p.type === EapType.Peap) {
      this.started = true;
      try {
        data = await this.peap(p.data);
      } catch (err) {
        return { kind: 'failure', reason: (err as Error).message };
      }
      type = EapType.Peap;
    } else if (!this.started) {
      type = EapType.Nak;
      data = Uint8Array.of(EapType.Peap);
    } else {
      return { kind: 'failure', reason: `EAP type ${p.type} in the middle of PEAP` };
    }
    const eap = encodeEap({ code: EapCode.Response, identifier: p.identifier, type, data });
    this.lastRequest = eapBytes.slice();
    this.lastResponse = eap;
    return { kind: 'send', eap };
  }

  dispose(): void {
    this.tunnel.dispose();
  }

  private success(): EapPeerAction {
    // RFC 4137 §4.1 spirit: an EAP-Success before the tunnel's own result authenticates nothing.
    if (!this.innerSucceeded || !this.resultSucceeded) return { kind: 'failure', reason: 'EAP-Success before the inner authentication and Result TLV succeeded' };
    if (this.tunnel.protocol !== 'TLSv1.2') return { kind: 'failure', reason: `PEAPv0 keying needs TLS 1.2, the tunnel is ${this.tunnel.protocol ?? 'not up'}` };
    const msk = this.tunnel.exportKeyingMaterial(64, PEAP_KEY_LABEL);
    return { kind: 'success', msk } satisfies EapPeerSuccess;
  }

  /** One PEAP Request's Type-Data in, the Response's out. */
  private async peap(typeData: Uint8Array): Promise<Uint8Array> {
    const fragment = decodeTlsFragment(typeData);
    if ((fragment.flags & TlsFlag.Start) !== 0) {
      await this.tunnel.start();
      return this.send(this.tunnel.takeOutgoing());
    }
    if (this.fragmenter.hasMore) return this.nextFragment();
    const message = this.reassembler.add({ ...fragment, flags: fragment.flags & ~VERSION_MASK });
    if (message === undefined) return this.ack();
    await this.tunnel.feed(message);
    if (this.tunnel.state === 'failed') throw new Error(`TLS failed: ${this.tunnel.failure?.message ?? 'unknown'}`);
    let out = this.tunnel.takeOutgoing();
    if (this.tunnel.state === 'established') {
      const plain = this.tunnel.takeApplicationData();
      if (plain.length > 0) {
        const answer = this.inner(plain);
        await this.tunnel.writeApplicationData(answer);
        out = concatBytes([out, this.tunnel.takeOutgoing()]);
      }
    }
    return this.send(out);
  }

  /** A decrypted inner message in, the (encrypted later) inner answer out. */
  private inner(plain: Uint8Array): Uint8Array {
    const declared = plain.length >= 4 ? (plain[2]! << 8) | plain[3]! : -1;
    const full = plain.length >= 5 && plain[0] === EapCode.Request && declared === plain.length;
    const identifier = full ? plain[1]! : 0;
    const type = full ? plain[4]! : plain[0]!;
    const data = full ? plain.subarray(5) : plain.subarray(1);
    const compressed = (t: number, d: Uint8Array): Uint8Array => concatBytes([Uint8Array.of(t), d]);
    switch (type) {
      case EapType.Identity:
        return compressed(EapType.Identity, this.utf8(this.config.user.identity));
      case EapType.MsChapV2: {
        const step = this.mschap.process(data);
        if (step.kind === 'success') this.innerSucceeded = true;
        if (step.kind === 'failure') this.innerFailure = `inner EAP-MSCHAPv2: ${step.reason}`;
        return compressed(EapType.MsChapV2, step.response);
      }
      case EAP_TYPE_EXTENSIONS: {
        const result = this.resultTlv(data);
        const ok = result === RESULT_SUCCESS && this.innerSucceeded;
        if (ok) this.resultSucceeded = true;
        else this.innerFailure ??= `Result TLV ${result ?? 'missing'} from the server`;
        // EAP-TLV keeps its header; we answer with our own Result.
        const tlv = Uint8Array.of((TLV_MANDATORY | RESULT_TLV) >> 8, RESULT_TLV & 0xff, 0, 2, 0, ok ? RESULT_SUCCESS : RESULT_FAILURE);
        return encodeEap({ code: EapCode.Response, identifier, type: EAP_TYPE_EXTENSIONS, data: tlv });
      }
      default:
        // Another inner method: propose EAP-MSCHAPv2 (a legacy Nak, compressed like any inner Response).
        return compressed(EapType.Nak, Uint8Array.of(EapType.MsChapV2));
    }
  }

  /** The Result TLV's value among the TLVs, undefined when absent or malformed. */
  private resultTlv(tlvs: Uint8Array): number | undefined {
    for (let o = 0; o + 4 <= tlvs.length; ) {
      const type = ((tlvs[o]! << 8) | tlvs[o + 1]!) & 0x3fff;
      const length = (tlvs[o + 2]! << 8) | tlvs[o + 3]!;
      if (o + 4 + length > tlvs.length) return undefined;
      if (type === RESULT_TLV && length === 2) return (tlvs[o + 4]! << 8) | tlvs[o + 5]!;
      o += 4 + length;
    }
    return undefined;
  }

  /** An empty Response (flags only, version 0): acknowledges a fragment or a flight with nothing to say. */
  private ack(): Uint8Array {
    return new Uint8Array([0]);
  }

  private send(records: Uint8Array): Uint8Array {
    if (records.length === 0) return this.ack();
    this.fragmenter.load(records);
    return this.nextFragment();
  }

  private nextFragment(): Uint8Array {
    return encodeTlsFragment(this.fragmenter.next(this.fragmentSize + 4));
  }

  private utf8(s: string): Uint8Array {
    return new Uint8Array(Buffer.from(s, 'utf8'));
  }
}
