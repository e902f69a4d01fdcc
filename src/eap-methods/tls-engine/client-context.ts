import * as tls from 'node:tls';
import type { TlsEngineName, TlsTunnel } from '../tls-tunnel.js';
import { loadTlsAddon, type NativeContext, type TlsAddon } from './addon.js';
import { NodeTlsTunnel } from './node-tunnel.js';
import { OpensslTlsTunnel } from './openssl-tunnel.js';
import { VERSION_CODES, splitCiphers, resolveTlsEngine } from './server-context.js';

type Pem = string | Buffer;

/** A TLS client configuration (a peer's), built once. */
export interface TlsClientContextOptions {
  /** Our client certificate and key, when the server asks for one. */
  cert?: Pem;
  key?: Pem;
  /** The CAs the server's certificate must chain to. */
  ca: Pem | Pem[];
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion;
  ciphers?: string;
  /** Sent as SNI and required in the server's certificate. */
  serverName?: string;
}

export interface TlsClientContext {
  readonly engine: TlsEngineName;
  newTunnel(): TlsTunnel;
}

/** A server certificate that does not verify ends the handshake with an alert, in both engines. */
export function createTlsClientContext(opts: TlsClientContextOptions, engine?: TlsEngineName): TlsClientContext {
  return resolveTlsEngine(engine) === 'openssl' ? new OpensslClientContext(opts) : new NodeClientContext(opts);
}

function pemList(v: Pem | Pem[]): Buffer[] {
  return (Array.isArray(v) ? v : [v]).map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
}

class OpensslClientContext implements TlsClientContext {
  readonly engine = 'openssl' as const;
  private readonly addon: TlsAddon;
  private readonly native: NativeContext;

  constructor(private readonly opts: TlsClientContextOptions) {
    const load = loadTlsAddon();
    if (!load.ok) throw new Error(`native TLS engine unavailable: ${load.reason}`);
    this.addon = load.addon;
    const { cipherList, cipherSuites } = splitCiphers(opts.ciphers);
    this.native = this.addon.newContext({
      server: false,
      ...(opts.cert !== undefined ? { cert: pemList(opts.cert)[0]! } : {}),
      ...(opts.key !== undefined ? { key: pemList(opts.key)[0]! } : {}),
      ca: pemList(opts.ca),
      minVersion: VERSION_CODES[opts.minVersion],
      maxVersion: VERSION_CODES[opts.maxVersion],
      cipherList,
      ...(cipherSuites !== undefined ? { cipherSuites } : {}),
      rejectUnauthorized: true,
      noTickets: true,
    });
  }

  newTunnel(): TlsTunnel {
    return new OpensslTlsTunnel(this.addon, this.native, this.opts.serverName);
  }
}

class NodeClientContext implements TlsClientContext {
  readonly engine = 'node' as const;
  private readonly secureContext: tls.SecureContext;

  constructor(private readonly opts: TlsClientContextOptions) {
    this.secureContext = tls.createSecureContext({
      ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
      ...(opts.key !== undefined ? { key: opts.key } : {}),
      ca: opts.ca,
      minVersion: opts.minVersion,
      maxVersion: opts.maxVersion,
      ...(opts.ciphers !== undefined ? { ciphers: opts.ciphers } : {}),
    });
  }

  newTunnel(): TlsTunnel {
    return NodeTlsTunnel.client({ secureContext: this.secureContext, ...(this.opts.serverName !== undefined ? { servername: this.opts.serverName } : {}) });
  }
}
