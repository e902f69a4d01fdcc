import type * as tls from 'node:tls';
import { TlsTunnel } from '../../eap-methods/tls-tunnel.js';
import { EapCode, EapType, decodeEap, encodeEap } from '../../eap-methods/eap-packet.js';
import { EapProtocolError } from '../../eap-methods/errors.js';
import type { Log } from '../../util/log.js';
import { silentLog } from '../../util/log.js';
import { TeapFramingError } from '../../teap-brski/teap/errors.js';
import { EAP_TYPE_TEAP, TEAP_VERSION, decodeTeapPacket, encodeTeapPacket, isTeapAck, teapAck, type TeapPacket } from '../../teap-brski/teap/outer-framing.js';
import { DEFAULT_REASSEMBLY_LIMITS, TeapReassembler, fragmentTeapMessage } from '../../teap-brski/teap/fragmentation.js';
import { decodeTeapTlvs, encodeTeapTlvs, type TeapTlv } from '../../teap-brski/teap/tlv-codec.js';
import { DEFAULT_TEAP_PEER_COMPAT, resolveTeapCompat, type TeapCompat } from '../../teap-brski/teap/compat.js';
import { deriveTeapSessionId, keyScheduleFor } from '../../teap-brski/teap/key-schedule.js';
import { CompoundKeyChain } from '../../teap-brski/teap/compound-key-chain.js';
import { Phase2Peer } from './phase2-peer.js';
import type { TeapPeerCredentials } from './inner-methods.js';
import type { PeerTlvHandler, PeerTunnelFacts } from './tlv-handler.js';
import { concatBytes } from '../../util/bytes.js';
import { tlsChannelBinding } from '../../eap-methods/channel-binding.js';

export interface TeapPeerConfig {
  /** Outer EAP-Response/Identity, usually anonymous with a realm (RFC 9930 §2, RFC 7542 §2.4). */
  outerIdentity: string;
  /** Credentials for Identity-Type User (and for servers that do not send Identity-Type). */
  user?: TeapPeerCredentials;
  /** Credentials for Identity-Type Machine. */
  machine?: TeapPeerCredentials;
  /**
   * Outer TLS client options: `ca` and `servername` to validate the server (Node checks the
   * certificate's DNS name against `servername`), `cert`/`key` for a Phase-1 client certificate,
   * `minVersion`/`maxVersion` (TLS 1.2 and later only).
   */
  tls: tls.ConnectionOptions;
  compat?: Partial<TeapCompat>;
  /** TLS octets per TEAP fragment we send (wpa_supplicant's fragment_size; default 1398). */
  fragmentSize?: number;
  /** Outer TLVs for our first message (O flag); none by default, as wpa_supplicant does. */
  outerTlvs?: TeapTlv[];
  log?: Log;
  /**
   * Rewrites Phase-2 TLVs on their way in (from the server) and out (to the server). For
   * conformance and security tests that need a peer to misbehave; never set in normal use.
   */
  phase2Interceptor?: Phase2Interceptor;
  /**
   * A TLV exchange for server Request-Actions (a TEAP-BRSKI pledge), made once the tunnel is up
   * from what the handshake showed (the server's certificates, channel binding).
   */
  tlvHandler?: (tunnel: PeerTunnelFacts) => PeerTlvHandler;
}

export interface Phase2Interceptor {
  /** The server's decrypted TLVs before our Phase 2 sees them. */
  incoming?(tlvs: TeapTlv[]): TeapTlv[];
  /** What our Phase 2 wants to send, given what the server sent; returns what is sent instead. */
  outgoing?(tlvs: TeapTlv[], fromServer: TeapTlv[]): TeapTlv[];
  /**
   * The encoded Phase-2 plaintext on its way out (after `outgoing`); returns the octets sent instead,
   * which need not be TLVs at all (fuzzing the server's Phase 2 inside a real tunnel). Empty: an
   * empty TEAP message.
   */
  outgoingPlaintext?(plaintext: Uint8Array, fromServer: TeapTlv[]): Uint8Array;
}

export type TeapPeerAction =
  | { kind: 'send'; eap: Uint8Array }
  | { kind: 'success'; msk: Uint8Array; emsk: Uint8Array; sessionId: Uint8Array }
  | { kind: 'failure'; reason: string };

type Phase = 'identity' | 'start' | 'handshake' | 'phase2' | 'result-success' | 'result-failure' | 'done';

/**
 * A TEAP peer (RFC 9930) as a sans-IO state machine over whole EAP packets: give it each EAP
 * Request/Success/Failure, send what it returns. The TLS tunnel lives in memory (TlsTunnel.client);
 * the carrier (RADIUS, EAPOL, a test harness) is the caller's business.
 */
export class TeapPeer {
  private phase: Phase = 'identity';
  private readonly compat: TeapCompat;
  private readonly log: Log;
  private readonly fragmentSize: number;
  private tunnel: TlsTunnel | undefined;
  private readonly reassembler = new TeapReassembler(DEFAULT_REASSEMBLY_LIMITS);
  private outgoing: TeapPacket[] = [];
  private serverOuterTlvs: Uint8Array = new Uint8Array(0);
  private readonly peerOuterTlvs: Uint8Array;
  private firstMessageSent = false;
  private phase2: Phase2Peer | undefined;
  private keys: { msk: Uint8Array; emsk: Uint8Array } | undefined;
  private sessionId: Uint8Array = new Uint8Array(0);
  private lastRequest: Uint8Array | undefined;
  private lastResponse: Uint8Array | undefined;
  private failureReason = '';
  /** The method the server proposed instead of TEAP, while our Nak is unanswered. */
  private nakedType: number | undefined;

  constructor(private readonly config: TeapPeerConfig) {
    this.compat = resolveTeapCompat(config.compat ?? {}, DEFAULT_TEAP_PEER_COMPAT);
    this.log = config.log ?? silentLog();
    this.fragmentSize = config.fragmentSize ?? 1398;
    this.peerOuterTlvs = config.outerTlvs ? encodeTeapTlvs(config.outerTlvs) : new Uint8Array(0);
    if (!config.user && !config.machine && !config.tls.cert && !config.tlvHandler) {
      throw new Error('TEAP peer needs user or machine credentials, a client certificate or a TLV handler');
    }
  }

  /** The MSCHAPv2 key order the server used, once a Crypto-Binding revealed it. */
  get detectedMschapV2Order(): 'hostapd-2.10' | 'rfc9930' | undefined {
    return this.phase2?.detectedMschapV2Order;
  }

  private protocol: string | null = null;
  private _phase2Requests = 0;

  /** Phase-2 messages received from the server inside the tunnel (the benchmark parks conversations at the first). */
  get phase2Requests(): number {
    return this._phase2Requests;
  }

  /** The negotiated outer TLS version, once known. */
  get tlsProtocol(): string | null {
    return this.protocol;
  }

  /** The first packet of a conversation over RADIUS: EAP-Response/Identity without a Request. */
  identityResponse(identifier = 0): Uint8Array {
    this.phase = 'start';
    return encodeEap({ code: EapCode.Response, identifier, type: EapType.Identity, data: new Uint8Array(Buffer.from(this.config.outerIdentity, 'utf8')) });
  }

  async receive(eapBytes: Uint8Array): Promise<TeapPeerAction> {
    let p;
    try {
      p = decodeEap(eapBytes);
    } catch (err) {
      if (err instanceof EapProtocolError) return this.fail(`malformed EAP packet: ${err.message}`);
      throw err;
    }
    if (p.code === EapCode.Success) {
      // RFC 9930 §7.6: a cleartext Success counts only after the protected Result=Success exchange.
      if (this.phase === 'result-success' && this.keys) {
        this.phase = 'done';
        return { kind: 'success', msk: this.keys.msk, emsk: this.keys.emsk, sessionId: this.sessionId };
      }
      return this.fail('EAP-Success without a protected Result=Success exchange');
    }
    if (p.code === EapCode.Failure) {
      this.phase = 'done';
      if (this.nakedType !== undefined) {
        // Failure right after our Nak: the server has no TEAP for this identity (RFC 3748 §5.3.1).
        return { kind: 'failure', reason: `the server does not offer TEAP to "${this.config.outerIdentity}": it proposed EAP type ${this.nakedType}, we asked for TEAP (Nak), and it answered EAP-Failure` };
      }
      return { kind: 'failure', reason: this.failureReason ? `EAP-Failure after: ${this.failureReason}` : 'EAP-Failure from the server' };
    }
    if (p.code !== EapCode.Request) return this.fail(`EAP Code ${p.code} from the server`);
    // A retransmitted Request (same bytes) gets the same Response, not a second processing.
    if (this.lastRequest && this.lastResponse && Buffer.from(eapBytes).equals(Buffer.from(this.lastRequest))) {
      return { kind: 'send', eap: this.lastResponse };
    }
    const respond = (type: number, data: Uint8Array): TeapPeerAction => {
      const eap = encodeEap({ code: EapCode.Response, identifier: p.identifier, type, data });
      this.lastRequest = eapBytes.slice();
      this.lastResponse = eap;
      return { kind: 'send', eap };
    };
    if (p.type === EapType.Identity) {
      if (this.phase === 'identity') this.phase = 'start';
      return respond(EapType.Identity, new Uint8Array(Buffer.from(this.config.outerIdentity, 'utf8')));
    }
    if (p.type === EapType.Notification) return respond(EapType.Notification, new Uint8Array(0));
    if (p.type !== EAP_TYPE_TEAP) {
      // Legacy Nak proposing TEAP (RFC 3748 §5.3.1), allowed only before a method started.
      if (this.phase === 'identity' || this.phase === 'start') {
        this.nakedType = p.type;
        return respond(EapType.Nak, Uint8Array.of(EAP_TYPE_TEAP));
      }
      return this.fail(`EAP type ${p.type} in the middle of TEAP`);
    }
    this.nakedType = undefined;
    const data = await this.onTeap(p.data);
    if (typeof data === 'string') return this.fail(data);
    return respond(EAP_TYPE_TEAP, data);
  }

  dispose(): void {
    this.phase2?.dispose();
    this.tunnel?.dispose();
  }

  /** TEAP Type-Data of the Response, or a failure reason. */
  private async onTeap(typeData: Uint8Array): Promise<Uint8Array | string> {
    let packet: TeapPacket;
    try {
      packet = decodeTeapPacket(typeData);
    } catch (err) {
      if (err instanceof TeapFramingError) return `TEAP framing: ${err.message}`;
      throw err;
    }
    if (this.outgoing.length > 0) {
      if (!isTeapAck(packet)) return 'server sent data while our fragments were waiting for ACKs';
      return encodeTeapPacket(this.outgoing.shift()!);
    }
    if (this.phase === 'result-failure' || this.phase === 'done') return 'TEAP Request after the final Result';

    if (packet.start) {
      if (this.phase !== 'start' && this.phase !== 'identity') return 'TEAP/Start in the middle of the conversation';
      // Version negotiation (RFC 9930 §3.1): we only speak version 1; a server offering less fails.
      if (packet.version < TEAP_VERSION) return `server offers TEAP version ${packet.version}`;
    }
    let result;
    try {
      result = this.reassembler.push(packet);
    } catch (err) {
      if (err instanceof TeapFramingError) return `TEAP reassembly: ${err.message}`;
      throw err;
    }
    if (!result.done) return teapAck();
    const message = result.message;

    if (message.start) {
      // Kept until the Crypto-Binding, long after the caller's buffer has gone on to other packets.
      this.serverOuterTlvs = message.outerTlvs?.slice() ?? new Uint8Array(0);
      this.tunnel = TlsTunnel.client({ minVersion: 'TLSv1.2', ...this.config.tls });
      await this.tunnel.start();
      this.phase = 'handshake';
      const hello = this.tunnel.takeOutgoing();
      if (message.tls.length > 0) await this.tunnel.feed(message.tls);
      return this.sendMessage(hello);
    }
    if (!this.tunnel) return 'TEAP data before TEAP/Start';
    if (message.outerTlvs && message.outerTlvs.length > 0) {
      // RFC 9930 §4.3.1: Outer TLVs after the first message are ignored.
      this.log.debug({}, 'TEAP peer: ignoring late Outer TLVs');
    }

    if (message.tls.length > 0) await this.tunnel.feed(message.tls);
    if (this.tunnel.state === 'failed' || this.tunnel.state === 'closed') {
      const out = this.tunnel.takeOutgoing();
      this.failureReason = `TLS failed: ${this.tunnel.failure?.message ?? 'closed'}`;
      this.phase = 'result-failure';
      // RFC 9930 §3.9.2: send our alert if TLS produced one; the server then ends with EAP-Failure.
      return this.sendMessage(out);
    }
    if (this.tunnel.state !== 'established') return this.sendMessage(this.tunnel.takeOutgoing());

    if (!this.phase2) {
      const err = this.startPhase2();
      if (err) return err;
    }
    const handshakeOut = this.tunnel.takeOutgoing();
    const plaintext = this.tunnel.takeApplicationData();
    if (plaintext.length === 0 && message.tls.length > 0 && this.phase === 'handshake') {
      // TLS 1.3: our Finished goes out first; the server's Phase-2 data follows.
      this.phase = 'phase2';
      return this.sendMessage(handshakeOut);
    }
    this.phase = this.phase === 'handshake' ? 'phase2' : this.phase;
    if (this.phase !== 'phase2') return 'Phase-2 data after the final Result';
    this._phase2Requests++;
    const hook = this.config.phase2Interceptor;
    const fromServer = hook ? decodeTeapTlvs(plaintext) : [];
    const out = await this.phase2!.process(hook?.incoming ? encodeTeapTlvs(hook.incoming(fromServer)) : plaintext);
    if (hook?.outgoing) out.tlvs = hook.outgoing(out.tlvs, fromServer);
    if (out.kind === 'success') {
      this.keys = { msk: out.msk, emsk: out.emsk };
      this.phase = 'result-success';
    } else if (out.kind === 'failure') {
      this.failureReason = out.reason;
      this.phase = 'result-failure';
      this.log.info({ reason: out.reason }, 'TEAP peer: Phase 2 failed');
    }
    let records = handshakeOut;
    const plaintextOut = hook?.outgoingPlaintext ? hook.outgoingPlaintext(encodeTeapTlvs(out.tlvs), fromServer) : encodeTeapTlvs(out.tlvs);
    if (plaintextOut.length > 0) {
      await this.tunnel.writeApplicationData(plaintextOut);
      records = concatBytes([records, this.tunnel.takeOutgoing()]);
    }
    // Nothing to say is an empty TEAP message (what hostapd 2.10 peers send as well).
    return this.sendMessage(records);
  }

  private startPhase2(): string | undefined {
    const tunnel = this.tunnel!;
    const protocol = tunnel.protocol ?? 'unknown';
    this.protocol = tunnel.protocol;
    const cipher = tunnel.cipher;
    const exporter = (length: number, label: string, context?: Uint8Array): Uint8Array => tunnel.exportKeyingMaterial(length, label, context);
    try {
      const ks = keyScheduleFor({ protocol, cipher: cipher?.standardName ?? cipher?.name ?? '', exporter }, this.compat);
      const chain = new CompoundKeyChain(ks, ks.sessionKeySeed(), this.compat);
      this.sessionId = deriveTeapSessionId(
        { protocol, clientFinished: tunnel.getFinished() ?? new Uint8Array(0), serverFinished: tunnel.getPeerFinished() ?? new Uint8Array(0), resumed: tunnel.isSessionReused(), exporter },
        this.compat,
      );
      const tlvHandler = this.config.tlvHandler?.(this.tunnelFacts(tunnel, protocol));
      this.phase2 = new Phase2Peer(
        chain,
        { ks, versionSent: TEAP_VERSION, versionReceived: TEAP_VERSION, serverOuterTlvs: this.serverOuterTlvs, peerOuterTlvs: this.peerOuterTlvs },
        {
          ...(this.config.user ? { user: this.config.user } : {}),
          ...(this.config.machine ? { machine: this.config.machine } : {}),
          ...(tlvHandler ? { tlvHandler } : {}),
          compat: this.compat,
          log: this.log,
        },
      );
      this.log.debug({ protocol, cipher: cipher?.standardName, profile: ks.profile }, 'TEAP peer: tunnel established');
      return undefined;
    } catch (err) {
      return `cannot derive TEAP keys: ${(err as Error).message}`;
    }
  }

  private tunnelFacts(tunnel: TlsTunnel, protocol: string): PeerTunnelFacts {
    return { serverCertificateChain: tunnel.peerCertificateChain().map((c) => new Uint8Array(c.raw)), protocol, channelBinding: tlsChannelBinding(tunnel, 'client') };
  }

  private sendMessage(records: Uint8Array): Uint8Array {
    const withOuter = !this.firstMessageSent && this.config.outerTlvs !== undefined;
    this.firstMessageSent = true;
    const msg = { version: TEAP_VERSION, start: false, tls: records, ...(withOuter ? { outerTlvs: this.peerOuterTlvs } : {}) };
    // fragmentSize bounds the TLS octets per packet; the Type-Data adds the Flags octet (and, on a
    // first fragment, the lengths, which come out of the same budget).
    this.outgoing = fragmentTeapMessage(msg, this.fragmentSize + 1);
    return encodeTeapPacket(this.outgoing.shift()!);
  }

  private fail(reason: string): TeapPeerAction {
    this.phase = 'done';
    this.log.info({ reason }, 'TEAP peer: failed');
    return { kind: 'failure', reason };
  }
}
