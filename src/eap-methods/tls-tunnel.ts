import { X509Certificate } from 'node:crypto';
import type * as tls from 'node:tls';
import type { CertificateIdentity } from './certificate-identity.js';
import { NodeTlsTunnel } from './tls-engine/node-tunnel.js';

/**
 * A TLS endpoint whose transport is memory: EAP carries the records, not a socket. Two engines
 * implement it (tls-engine/): OpenSSL driven directly over memory BIOs, and node:tls over an
 * in-memory stream. Methods get server tunnels from a TlsServerContext (tls-engine/server-context.ts).
 */
export type TlsTunnelState = 'handshaking' | 'established' | 'failed' | 'closed';

export type TlsEngineName = 'openssl' | 'node';

/**
 * An authorized certificate's identity comes only from what it names (see certificate-identity.ts);
 * one that names no one carries the reason instead, and must be refused.
 */
export type PeerCertificateIdentity = CertificateIdentity & {
  /** `serial:<hex>` of the certificate. */
  deviceId: string;
  /** The certificate as the peer sent it (DER); `certificate` parses it, on first use. */
  der: Uint8Array;
  readonly certificate: X509Certificate;
};

/**
 * A client certificate as a revocation check receives it: its DER, and the parsed object only when
 * the check reads it (building one costs about a tenth of an EAP-TLS authentication's CPU).
 * PeerCertificateIdentity is one.
 */
export interface PresentedCertificate {
  readonly der: Uint8Array;
  readonly certificate: X509Certificate;
}

/** Whether a certificate that chained is revoked all the same (EAP-TLS's and TEAP's hook). */
export type RevocationCheck = (presented: PresentedCertificate) => boolean | Promise<boolean>;

/** A PresentedCertificate for DER at hand (TEAP's inner EAP-TLS certificates), parsed on first use. */
export function presentedCertificate(der: Uint8Array): PresentedCertificate {
  let parsed: X509Certificate | undefined;
  return {
    der,
    get certificate(): X509Certificate {
      return (parsed ??= new X509Certificate(der));
    },
  };
}

export interface TlsTunnel {
  readonly engine: TlsEngineName;
  readonly state: TlsTunnelState;
  /** Why the tunnel failed or closed. */
  readonly failure: Error | undefined;
  /** Lets the client's first flight (ClientHello) be produced. */
  start(): Promise<void>;
  /** One reassembled TLS message from the peer. Resolves when TLS has nothing more to do. */
  feed(records: Uint8Array): Promise<void>;
  takeOutgoing(): Uint8Array;
  takeApplicationData(): Uint8Array;
  writeApplicationData(data: Uint8Array): Promise<void>;
  /** `TLSv1.2`, `TLSv1.3`, or null before the handshake. */
  readonly protocol: string | null;
  readonly cipher: tls.CipherNameAndProtocol | undefined;
  /**
   * RFC 5705 / RFC 8446 §7.5 exporter. With TLS 1.2 an absent context and an empty context give
   * different keys, so `undefined` must stay undefined all the way down.
   */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array;
  getFinished(): Uint8Array | undefined;
  getPeerFinished(): Uint8Array | undefined;
  /**
   * Who the peer's certificate names (or why it names no one), or undefined when it sent none.
   * Check `authorized` before trusting it.
   */
  peerIdentity(): PeerCertificateIdentity | undefined;
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
  isSessionReused(): boolean;
  /** The peer's certificate chain, leaf first; callers ask only when the issuer matters. */
  peerCertificateChain(): X509Certificate[];
  /** Our own certificate as sent in this session (DER), e.g. for BRSKI's proximity-registrar-cert. */
  ownCertificate(): Uint8Array | undefined;
  dispose(): void;
}

/** Construction through node:tls, for callers that hold node:tls options (our peers). */
export const TlsTunnel = {
  /** Client role (node:tls engine). */
  client(opts: tls.ConnectionOptions): TlsTunnel {
    return NodeTlsTunnel.client(opts);
  },
};
