import * as tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import type { TlsEngineName, TlsTunnel } from '../tls-tunnel.js';
import { loadTlsAddon, type NativeContext, type TlsAddon } from './addon.js';
import { NodeTlsTunnel } from './node-tunnel.js';
import { OpensslTlsTunnel } from './openssl-tunnel.js';

type Pem = string | Buffer;

/** One method's TLS server configuration: built once, shared by all its conversations. */
export interface TlsServerContextOptions {
  cert: Pem;
  key: Pem;
  ca?: Pem | Pem[];
  crl?: Pem | Pem[];
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion;
  /** node:tls syntax: OpenSSL TLS 1.2 names and TLS 1.3 `TLS_` suites in one colon-separated list. */
  ciphers?: string;
  requestCert: boolean;
  /** OpenSSL refuses an absent or unverifiable client certificate with a TLS alert. */
  rejectUnauthorized: boolean;
}

export interface TlsServerContext {
  readonly engine: TlsEngineName;
  newTunnel(): TlsTunnel;
}

export const VERSION_CODES: Record<tls.SecureVersion, number> = { TLSv1: 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };

export interface EngineLog {
  warn(obj: object, msg: string): void;
}

let fallbackAnnounced = false;

/**
 * The engine a method uses. Unset: OpenSSL when the addon loaded, else node:tls with one warning.
 * Asking for OpenSSL explicitly on a machine where the addon did not build is a configuration error.
 */
export function resolveTlsEngine(choice: TlsEngineName | undefined, log?: EngineLog): TlsEngineName {
  if (choice === 'node') return 'node';
  const addon = loadTlsAddon();
  if (addon.ok) return 'openssl';
  if (choice === 'openssl') throw new Error(`tls.engine is openssl but the native TLS engine did not load (${addon.reason}); run npm install with a C compiler and python3, or set tls.engine: node`);
  if (!fallbackAnnounced) {
    fallbackAnnounced = true;
    const msg = 'native TLS engine unavailable: using the slower node:tls engine (rebuild with npm install; set tls.engine: node to silence)';
    if (log) log.warn({ reason: addon.reason }, msg);
    else process.emitWarning(`${msg}: ${addon.reason}`);
  }
  return 'node';
}

export function createTlsServerContext(opts: TlsServerContextOptions, engine?: TlsEngineName): TlsServerContext {
  return resolveTlsEngine(engine) === 'openssl' ? new OpensslServerContext(opts) : new NodeServerContext(opts);
}

/**
 * node:tls's reading of `ciphers`: entries starting with TLS_ are TLS 1.3 suites, the rest the TLS 1.2
 * list; a list with no TLS 1.3 suite leaves OpenSSL's default TLS 1.3 suites in place.
 */
export function splitCiphers(ciphers: string | undefined): { cipherList: string; cipherSuites: string | undefined } {
  const all = (ciphers ?? tls.DEFAULT_CIPHERS).split(':').filter((c) => c.length > 0);
  const cipherList = all.filter((c) => !c.startsWith('TLS_')).join(':');
  const suites = all.filter((c) => c.startsWith('TLS_')).join(':');
  if (cipherList === '' && suites === '') throw new Error(`ciphers names no cipher: "${ciphers ?? ''}"`);
  return { cipherList, cipherSuites: suites === '' ? undefined : suites };
}

function pemList(v: Pem | Pem[] | undefined): Buffer[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
}

class OpensslServerContext implements TlsServerContext {
  readonly engine = 'openssl' as const;
  private readonly addon: TlsAddon;
  private readonly native: NativeContext;

  constructor(opts: TlsServerContextOptions) {
    const load = loadTlsAddon();
    if (!load.ok) throw new Error(`native TLS engine unavailable: ${load.reason}`);
    this.addon = load.addon;
    const { cipherList, cipherSuites } = splitCiphers(opts.ciphers);
    const minVersion = VERSION_CODES[opts.minVersion];
    const maxVersion = VERSION_CODES[opts.maxVersion];
    const ca = pemList(opts.ca);
    const crl = pemList(opts.crl);
    this.native = this.addon.newContext({
      server: true,
      cert: pemList(opts.cert)![0]!,
      key: pemList(opts.key)![0]!,
      ...(ca ? { ca } : {}),
      ...(crl ? { crl } : {}),
      minVersion,
      maxVersion,
      cipherList,
      ...(cipherSuites !== undefined ? { cipherSuites } : {}),
      requestCert: opts.requestCert,
      rejectUnauthorized: opts.rejectUnauthorized,
      // Resumption would authorize from an earlier handshake without a cache of that decision
      // (RFC 9190 §5.7, RFC 9930 §3.5): no tickets, and no TLS 1.3 NewSessionTicket at all.
      noTickets: true,
    });
  }

  newTunnel(): TlsTunnel {
    return new OpensslTlsTunnel(this.addon, this.native);
  }
}

class NodeServerContext implements TlsServerContext {
  readonly engine = 'node' as const;
  private readonly secureContext: tls.SecureContext;

  constructor(private readonly opts: TlsServerContextOptions) {
    this.secureContext = tls.createSecureContext({
      cert: opts.cert,
      key: opts.key,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      ...(opts.crl !== undefined ? { crl: opts.crl } : {}),
      minVersion: opts.minVersion,
      maxVersion: opts.maxVersion,
      ...(opts.ciphers !== undefined ? { ciphers: opts.ciphers } : {}),
      // Node cannot turn TLS 1.3 tickets off (no SSL_CTX_set_num_tickets); this stops TLS 1.2 ones.
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
    });
  }

  newTunnel(): TlsTunnel {
    return NodeTlsTunnel.server({ secureContext: this.secureContext, requestCert: this.opts.requestCert, rejectUnauthorized: this.opts.rejectUnauthorized });
  }
}
