import { Duplex } from 'node:stream';
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { certificateIdentity, type SubjectFields } from '../certificate-identity.js';
import type { PeerCertificateIdentity, TlsTunnel, TlsTunnelState } from '../tls-tunnel.js';

/**
 * The node:tls engine: a TLS endpoint whose transport is memory.
 *
 * Node enforces client-certificate checks only on sockets a `tls.Server` accepts, so the server
 * side is a real `tls.Server` handed an in-memory Duplex through `emit('connection')`.
 * OpenSSL work happens on later ticks, so `feed` waits until the tunnel has gone idle before the
 * caller collects what TLS produced.
 */

/** Upper bound on event-loop turns spent waiting for TLS to settle after one input. */
const MAX_SETTLE_TURNS = 200;
/** Consecutive quiet turns that count as idle. */
const QUIET_TURNS = 2;

class MemoryTransport extends Duplex {
  readonly out: Buffer[] = [];
  activity = 0;

  override _read(): void {
    // Data is pushed by the tunnel when EAP delivers it.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.out.push(chunk);
    this.activity++;
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    cb();
  }

  deliver(data: Uint8Array): void {
    this.activity++;
    this.push(Buffer.from(data));
  }
}

export class NodeTlsTunnel implements TlsTunnel {
  readonly engine = 'node' as const;
  private readonly transport = new MemoryTransport();
  private socket: tls.TLSSocket | undefined;
  private readonly appData: Buffer[] = [];
  private server: tls.Server | undefined;
  private _state: TlsTunnelState = 'handshaking';
  private _failure: Error | undefined;

  private constructor() {}

  /**
   * Server role. Pass `secureContext` to share one parsed certificate/key across conversations:
   * tls.Server ignores that option and builds its own context from cert/key each time (about 3 ms
   * per conversation with an EC key), so the shared one is installed as the server's credentials.
   */
  static server(opts: tls.TlsOptions & { secureContext?: tls.SecureContext }): NodeTlsTunnel {
    const t = new NodeTlsTunnel();
    const { secureContext, ...rest } = opts;
    const server = tls.createServer(rest);
    if (secureContext) {
      const internal = server as unknown as { _sharedCreds?: tls.SecureContext };
      if (!('_sharedCreds' in internal)) throw new Error('this Node.js version does not expose tls.Server credentials; pass cert/key instead');
      internal._sharedCreds = secureContext;
    }
    // The server keeps its TLSSocket to itself until the handshake completes; nothing before that
    // needs it, because handshake records leave through the transport and failures through tlsClientError.
    server.on('secureConnection', (s) => t.attach(s, true));
    server.on('tlsClientError', (err) => t.fail(err));
    server.emit('connection', t.transport);
    t.server = server;
    return t;
  }

  /** Client role, for our own peers. */
  static client(opts: tls.ConnectionOptions): NodeTlsTunnel {
    const t = new NodeTlsTunnel();
    const socket = tls.connect({ ...opts, socket: t.transport });
    t.attach(socket, false);
    socket.on('secureConnect', () => t.onSecure());
    return t;
  }

  private attach(socket: tls.TLSSocket, secure: boolean): void {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.appData.push(d);
      this.transport.activity++;
    });
    socket.on('error', (err: Error) => this.fail(err));
    socket.on('close', () => {
      if (this._state === 'handshaking' || this._state === 'established') this._state = 'closed';
      this.transport.activity++;
    });
    if (secure) this.onSecure();
  }

  private get tlsSocket(): tls.TLSSocket {
    if (!this.socket) throw new Error('TLS handshake has not completed');
    return this.socket;
  }

  get state(): TlsTunnelState {
    return this._state;
  }

  get failure(): Error | undefined {
    return this._failure;
  }

  /** Lets the client's first flight (ClientHello) be produced. */
  async start(): Promise<void> {
    await this.settle();
  }

  /** One reassembled TLS message from the peer. Resolves when TLS has nothing more to do. */
  async feed(records: Uint8Array): Promise<void> {
    if (this._state === 'failed' || this._state === 'closed') return;
    this.transport.deliver(records);
    await this.settle();
  }

  takeOutgoing(): Uint8Array {
    const out = Buffer.concat(this.transport.out);
    this.transport.out.length = 0;
    return out;
  }

  takeApplicationData(): Uint8Array {
    const data = Buffer.concat(this.appData);
    this.appData.length = 0;
    return data;
  }

  async writeApplicationData(data: Uint8Array): Promise<void> {
    if (this._state !== 'established') throw new Error(`cannot write application data in state ${this._state}`);
    this.tlsSocket.write(Buffer.from(data));
    await this.settle();
  }

  get protocol(): string | null {
    return this.socket?.getProtocol() ?? null;
  }

  get cipher(): tls.CipherNameAndProtocol | undefined {
    const c = this.tlsSocket.getCipher();
    return c ?? undefined;
  }

  /**
   * RFC 5705 / RFC 8446 §7.5 exporter. With TLS 1.2 an absent context and an empty context give
   * different keys, so `undefined` must stay undefined all the way down.
   */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    const out = context === undefined
      ? (this.tlsSocket.exportKeyingMaterial as (n: number, l: string) => Buffer)(length, label)
      : this.tlsSocket.exportKeyingMaterial(length, label, Buffer.from(context));
    return new Uint8Array(out);
  }

  getFinished(): Uint8Array | undefined {
    const f = this.tlsSocket.getFinished();
    return f ? new Uint8Array(f) : undefined;
  }

  getPeerFinished(): Uint8Array | undefined {
    const f = this.tlsSocket.getPeerFinished();
    return f ? new Uint8Array(f) : undefined;
  }

  /**
   * Who the peer's certificate names (or why it names no one), or undefined when it sent none.
   * Check `authorized` before trusting it.
   *
   * `TLSSocket#getPeerX509Certificate()` is deliberately not used: on Node 20.20.2 every call leaks
   * the native X509 it wraps (about 4.5 KB of OpenSSL memory per handshake, never returned; V8's heap
   * stays flat, so only RSS shows it). `getPeerCertificate(false)` does not leak, and an
   * X509Certificate built from its DER is an ordinary garbage-collected object. `false` keeps it to
   * the leaf: the whole chain as JS objects would cost about a sixth of a handshake's CPU.
   */
  peerIdentity(): PeerCertificateIdentity | undefined {
    const leaf = this.socket?.getPeerCertificate(false);
    // With no certificate Node returns an empty object (or null once the socket is gone).
    if (!leaf?.raw || leaf.raw.length === 0) return undefined;
    const der = new Uint8Array(leaf.raw);
    let x509: X509Certificate | undefined;
    // The legacy object's subject holds raw values (no RFC 2253 escaping); an empty subject is {}.
    const subject = leaf.subject as SubjectFields | undefined;
    // Its serialNumber is the same upper-case hex X509Certificate gives (one OpenSSL call for both).
    return {
      ...certificateIdentity(subject, leaf.subjectaltname),
      deviceId: `serial:${leaf.serialNumber}`,
      der,
      get certificate(): X509Certificate {
        return (x509 ??= new X509Certificate(der));
      },
    };
  }

  get authorized(): boolean {
    return this.socket?.authorized ?? false;
  }

  get authorizationError(): string | undefined {
    const e = this.socket?.authorizationError as unknown;
    if (e === null || e === undefined) return undefined;
    return e instanceof Error ? e.message : String(e);
  }

  isSessionReused(): boolean {
    return this.tlsSocket.isSessionReused();
  }

  /**
   * The peer's certificate chain, leaf first. It rebuilds the chain as JS objects, so callers ask
   * only when the issuer matters (TEAP policy rules by issuer, TEAP-BRSKI).
   */
  peerCertificateChain(): X509Certificate[] {
    const out: X509Certificate[] = [];
    let c = this.socket?.getPeerCertificate(true);
    const seen = new Set<string>();
    while (c && c.raw && !seen.has(c.fingerprint256) && out.length < 10) {
      seen.add(c.fingerprint256);
      out.push(new X509Certificate(c.raw));
      c = c.issuerCertificate;
    }
    return out;
  }

  /** Our own certificate as sent in this session (DER), e.g. for BRSKI's proximity-registrar-cert. */
  ownCertificate(): Uint8Array | undefined {
    const c = this.tlsSocket.getCertificate();
    return c && 'raw' in c && c.raw ? new Uint8Array(c.raw) : undefined;
  }

  dispose(): void {
    if (this._state === 'handshaking' || this._state === 'established') this._state = 'closed';
    if (this.socket) {
      this.socket.removeAllListeners('data');
      this.socket.on('error', () => undefined);
      this.socket.destroy();
    }
    this.transport.destroy();
    this.server?.close();
    this.server = undefined;
  }

  private onSecure(): void {
    if (this._state === 'handshaking') this._state = 'established';
    this.transport.activity++;
  }

  private fail(err: Error): void {
    if (this._state === 'failed') return;
    this._state = 'failed';
    this._failure = err;
    this.transport.activity++;
  }

  private async settle(): Promise<void> {
    let quiet = 0;
    let last = this.transport.activity;
    for (let turn = 0; turn < MAX_SETTLE_TURNS && quiet < QUIET_TURNS; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.transport.activity === last) {
        quiet++;
      } else {
        quiet = 0;
        last = this.transport.activity;
      }
    }
  }
}
