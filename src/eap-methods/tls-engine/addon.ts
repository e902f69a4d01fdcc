import { requireNativeAddon } from '../../util/native-addon.js';

/**
 * The native TLS engine (native/tls_engine.c), built by `npm install`. Its build may fail on a machine
 * without a compiler; then `loadTlsAddon()` says why and the node:tls engine serves instead.
 */

/** An SSL_CTX or an SSL held by the addon; opaque here. */
declare const nativeHandle: unique symbol;
export type NativeContext = { readonly [nativeHandle]: 'context' };
export type NativeSession = { readonly [nativeHandle]: 'session' };

/** Codes the addon returns for a session's state. */
export const NativeState = { Handshaking: 0, Established: 1, Failed: 2, Closed: 3 } as const;
export type NativeStateCode = (typeof NativeState)[keyof typeof NativeState];

export interface NativeContextOptions {
  server: boolean;
  /** PEM: the leaf, then any intermediates to send. */
  cert?: Uint8Array;
  key?: Uint8Array;
  /** PEM blobs, each with at least one certificate / CRL. */
  ca?: Uint8Array[];
  crl?: Uint8Array[];
  /** 0x0303 = TLS 1.2, 0x0304 = TLS 1.3. */
  minVersion: number;
  maxVersion: number;
  /** OpenSSL cipher list for TLS 1.2 and below. */
  cipherList?: string;
  /** TLS 1.3 cipher suites (TLS_...), colon-separated. */
  cipherSuites?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  noTickets?: boolean;
}

export interface NativeSessionFacts {
  protocol: string;
  cipherName?: string;
  cipherStandardName?: string;
  cipherVersion?: string;
  reused: boolean;
}

/** Byte results are plain Uint8Arrays, not Buffers: a Buffer costs the addon about 1.8 µs to make. */
export interface TlsAddon {
  newContext(options: NativeContextOptions): NativeContext;
  newSession(context: NativeContext, serverName?: string): NativeSession;
  feed(session: NativeSession, records?: Uint8Array): NativeStateCode;
  write(session: NativeSession, data: Uint8Array): NativeStateCode;
  takeOutgoing(session: NativeSession): Uint8Array;
  takeApplicationData(session: NativeSession): Uint8Array;
  failure(session: NativeSession): { reason?: string; alert?: string };
  session(session: NativeSession): NativeSessionFacts;
  verifyError(session: NativeSession): string | undefined;
  exportKeyingMaterial(session: NativeSession, length: number, label: string, context?: Uint8Array): Uint8Array;
  getFinished(session: NativeSession): Uint8Array | undefined;
  getPeerFinished(session: NativeSession): Uint8Array | undefined;
  peerCertificate(session: NativeSession): Uint8Array | undefined;
  peerChain(session: NativeSession): Uint8Array[];
  peerSubject(session: NativeSession): string[] | undefined;
  /** Hex, as X509Certificate#serialNumber. */
  peerSerial(session: NativeSession): string | undefined;
  ownCertificate(session: NativeSession): Uint8Array | undefined;
  free(session: NativeSession): void;
  opensslVersion(): string;
}

export type TlsAddonLoad = { ok: true; addon: TlsAddon } | { ok: false; reason: string };

let loaded: TlsAddonLoad | undefined;

export function loadTlsAddon(): TlsAddonLoad {
  if (loaded) return loaded;
  try {
    const addon = requireNativeAddon() as unknown as TlsAddon;
    // Built against other headers than the OpenSSL it runs with would be undefined behaviour.
    if (!addon.opensslVersion().startsWith('OpenSSL 3.')) throw new Error(`unexpected OpenSSL: ${addon.opensslVersion()}`);
    loaded = { ok: true, addon };
  } catch (err) {
    loaded = { ok: false, reason: (err as Error).message.split('\n')[0] ?? 'unknown error' };
  }
  return loaded;
}
