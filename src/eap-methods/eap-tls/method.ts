import type * as tls from 'node:tls';
import type { EapMethod, EapMethodSession, MethodContext, Step } from '../method.js';
import { EapType } from '../eap-packet.js';
import { EapProtocolError } from '../errors.js';
import {
  DEFAULT_MAX_TLS_MESSAGE, TlsFlag, TlsMessageFragmenter, TlsMessageReassembler, decodeTlsFragment, encodeTlsFragment,
} from '../tls-fragmentation.js';
import type { PresentedCertificate, RevocationCheck, TlsEngineName, TlsTunnel } from '../tls-tunnel.js';
import { createTlsServerContext, type TlsServerContext } from '../tls-engine/server-context.js';
import { TLS12_CIPHERS, checkedMinVersion } from '../tls-policy.js';
import { helloRandom } from '../tls-randoms.js';
import {
  EAP_TLS_12_LABEL, EAP_TLS_13_CONTEXT, EAP_TLS_13_KEY_LABEL, EAP_TLS_13_METHOD_ID_LABEL, eapTls12Keys, eapTls13Keys, type EapTlsKeys,
} from './keys.js';
import { concatBytes } from '../../util/bytes.js';

export interface EapTlsConfig {
  /** PEM server certificate chain and key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA certificates that client certificates must chain to. */
  ca: string | Buffer | Array<string | Buffer>;
  /** PEM CRLs checked against client certificates. */
  crl?: string | Buffer | Array<string | Buffer>;
  /** Default and lowest: TLSv1.2. */
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  /** OpenSSL TLS 1.2 cipher list; default TLS12_CIPHERS (ECDHE with AEAD only, tls-policy.ts). */
  ciphers?: string;
  maxTlsMessage?: number;
  /**
   * Asked once the handshake has verified the client certificate, before the final flight: true
   * refuses it ("certificate revoked"). Serves revocations newer than any loaded CRL (e.g. our
   * registrar CA's store). A throw also refuses: an unanswerable check must not admit.
   */
  isRevoked?: RevocationCheck;
  /** Unset: OpenSSL when the native engine loaded, else node:tls (tls-engine/server-context.ts). */
  engine?: TlsEngineName;
}

type Phase = 'start-sent' | 'handshake' | 'final-sent' | 'alert-sent' | 'done';

/** EAP-TLS (RFC 5216, TLS 1.3 per RFC 9190) server. */
export function createEapTlsMethod(config: EapTlsConfig): EapMethod {
  const serverContext = createTlsServerContext({
    cert: config.cert,
    key: config.key,
    ca: config.ca,
    ...(config.crl !== undefined ? { crl: config.crl } : {}),
    minVersion: checkedMinVersion(config.minVersion, 'EAP-TLS'),
    maxVersion: config.maxVersion ?? 'TLSv1.3',
    ciphers: config.ciphers ?? TLS12_CIPHERS,
    requestCert: true,
    rejectUnauthorized: true,
  }, config.engine);
  return {
    type: EapType.Tls,
    name: 'eap-tls',
    declaresEstablished: true,
    createSession: (ctx) => new EapTlsSession(ctx, serverContext, config.maxTlsMessage ?? DEFAULT_MAX_TLS_MESSAGE, config.isRevoked),
  };
}

class EapTlsSession implements EapMethodSession {
  /**
   * Built on the peer's first TLS message, not with the session: a conversation whose peer never
   * answers our Start (a flood of Identity Responses) then costs no OpenSSL state at all.
   */
  private tunnelInstance: TlsTunnel | undefined;
  private readonly reassembler: TlsMessageReassembler;
  private readonly fragmenter = new TlsMessageFragmenter();
  private phase: Phase = 'start-sent';
  private clientRandom: Uint8Array | undefined;
  private serverRandom: Uint8Array | undefined;
  private keys: EapTlsKeys | undefined;
  /** The client certificate the revocation hook was first asked about. */
  private checkedCertificate: PresentedCertificate | undefined;

  constructor(
    private readonly ctx: MethodContext,
    private readonly serverContext: TlsServerContext,
    maxTlsMessage: number,
    private readonly isRevoked?: EapTlsConfig['isRevoked'],
  ) {
    this.reassembler = new TlsMessageReassembler(maxTlsMessage);
  }

  private get tunnel(): TlsTunnel {
    this.tunnelInstance ??= this.serverContext.newTunnel();
    return this.tunnelInstance;
  }

  async start(): Promise<Step> {
    return { kind: 'request', data: new Uint8Array([TlsFlag.Start]) };
  }

  async step(data: Uint8Array): Promise<Step> {
    let fragment;
    try {
      fragment = decodeTlsFragment(data);
    } catch (err) {
      return this.protocolFailure(err);
    }

    if (this.fragmenter.hasMore) {
      if (fragment.data.length !== 0) return { kind: 'failure', reason: 'peer sent data while our fragments were pending an ACK' };
      return this.sendFragment();
    }

    if (this.phase === 'alert-sent') return { kind: 'failure', reason: `TLS failed: ${this.tunnel.failure?.message ?? 'alert sent'}` };

    let message: Uint8Array | undefined;
    try {
      message = this.reassembler.add(fragment);
    } catch (err) {
      return this.protocolFailure(err);
    }
    if (message === undefined) return { kind: 'request', data: new Uint8Array([0]) };

    if (this.phase === 'final-sent') {
      if (message.length !== 0) return { kind: 'failure', reason: 'peer sent TLS data after the handshake ended' };
      // The peer chooses when to answer our last flight (up to the idle timeout): a certificate
      // revoked meanwhile is refused here, not granted, and no Accept crosses the revocation.
      const revoked = await this.revocationRefusal();
      if (revoked) return revoked;
      return this.success();
    }
    if (message.length === 0) return { kind: 'failure', reason: 'empty EAP-TLS response where a TLS message was due' };

    if (!this.clientRandom) this.clientRandom = helloRandom(message, 1);
    await this.tunnel.feed(message);
    const out = this.tunnel.takeOutgoing();
    if (!this.serverRandom && out.length > 0) this.serverRandom = helloRandom(out, 2);

    if (this.tunnel.state === 'failed' || this.tunnel.state === 'closed') {
      this.ctx.log.info({ err: this.tunnel.failure?.message }, 'EAP-TLS handshake failed');
      if (out.length === 0) return { kind: 'failure', reason: `TLS failed: ${this.tunnel.failure?.message ?? 'closed'}` };
      this.phase = 'alert-sent';
      this.fragmenter.load(out);
      return this.sendFragment();
    }

    if (this.tunnel.state === 'established') {
      if (this.tunnel.isSessionReused()) return { kind: 'failure', reason: 'TLS session resumption is not supported' };
      const revoked = await this.revocationRefusal();
      if (revoked) return revoked;
      const finalFlight = await this.finishHandshake(out);
      if (finalFlight.kind !== 'request') return finalFlight;
      this.fragmenter.load(finalFlight.data);
      this.phase = 'final-sent';
      // The peer's certificate and Finished verified: this conversation has earned its place.
      return this.sendFragment(true);
    }

    this.phase = 'handshake';
    if (out.length === 0) return { kind: 'failure', reason: 'TLS produced no reply to the peer\'s flight' };
    this.fragmenter.load(out);
    return this.sendFragment();
  }

  dispose(): void {
    this.tunnelInstance?.dispose();
  }

  /** Derives the keys and returns the last flight, with RFC 9190's 0x00 success indication under TLS 1.3. */
  private async finishHandshake(out: Uint8Array): Promise<Step> {
    const tls13 = this.tunnel.protocol === 'TLSv1.3';
    let flight = out;
    if (tls13) {
      await this.tunnel.writeApplicationData(new Uint8Array([0]));
      flight = concatBytes([out, this.tunnel.takeOutgoing()]);
      // A TLS 1.3 exporter's output depends on the length asked for: always ask for the full 128 and 64.
      this.keys = eapTls13Keys(
        this.tunnel.exportKeyingMaterial(128, EAP_TLS_13_KEY_LABEL, EAP_TLS_13_CONTEXT),
        this.tunnel.exportKeyingMaterial(64, EAP_TLS_13_METHOD_ID_LABEL, EAP_TLS_13_CONTEXT),
      );
    } else {
      if (!this.clientRandom || !this.serverRandom) return { kind: 'failure', reason: 'could not read the TLS randoms from the handshake' };
      this.keys = eapTls12Keys(this.tunnel.exportKeyingMaterial(128, EAP_TLS_12_LABEL), this.clientRandom, this.serverRandom);
    }
    if (flight.length === 0) return { kind: 'failure', reason: 'TLS handshake ended without a final server flight' };
    return { kind: 'request', data: flight };
  }

  private async revocationRefusal(): Promise<Step | undefined> {
    const peer = this.tunnel.peerIdentity();
    if (!this.isRevoked || !peer || !this.tunnel.authorized) return undefined;
    // The same object at both checks, so that the hook can remember what it learnt of it (the CA's
    // signature) and only the revocation is looked up again.
    // The identity itself, not its X509Certificate: a hook that needs only the DER (the store's)
    // then never makes the parse happen.
    this.checkedCertificate ??= peer;
    try {
      if (!(await this.isRevoked(this.checkedCertificate))) return undefined;
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message, deviceId: peer.deviceId }, 'EAP-TLS revocation check failed');
      return { kind: 'failure', reason: 'certificate revocation check failed' };
    }
    this.ctx.log.info({ deviceId: peer.deviceId }, 'EAP-TLS client certificate revoked');
    return { kind: 'failure', reason: 'certificate revoked' };
  }

  private success(): Step {
    const peer = this.tunnel.peerIdentity();
    if (!peer || !this.tunnel.authorized || !this.keys) {
      return { kind: 'failure', reason: `client certificate not authorized: ${this.tunnel.authorizationError ?? 'none presented'}` };
    }
    if (peer.identity === undefined) {
      this.ctx.log.warn({ deviceId: peer.deviceId, reason: peer.refusal }, 'EAP-TLS: client certificate refused');
      return { kind: 'failure', reason: peer.refusal };
    }
    this.phase = 'done';
    return {
      kind: 'success',
      msk: this.keys.msk,
      emsk: this.keys.emsk,
      sessionId: this.keys.sessionId,
      grant: { identity: peer.identity, method: 'eap-tls', deviceId: peer.deviceId, certificate: peer.der },
    };
  }

  private sendFragment(established = false): Step {
    // 5 octets of EAP header plus our Flags octet.
    const budget = this.ctx.maxEapPacket - 6;
    const fragment = this.fragmenter.next(budget);
    return { kind: 'request', data: encodeTlsFragment(fragment), ...(established ? { established } : {}) };
  }

  private protocolFailure(err: unknown): Step {
    if (err instanceof EapProtocolError) return { kind: 'failure', reason: `EAP-TLS ${err.code}: ${err.message}` };
    throw err;
  }
}
