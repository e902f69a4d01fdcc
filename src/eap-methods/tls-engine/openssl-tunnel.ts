import { X509Certificate } from 'node:crypto';
import type * as tls from 'node:tls';
import { certificateIdentity, type SubjectFields } from '../certificate-identity.js';
import type { PeerCertificateIdentity, TlsTunnel, TlsTunnelState } from '../tls-tunnel.js';
import { NativeState, type NativeContext, type NativeSession, type NativeSessionFacts, type NativeStateCode, type TlsAddon } from './addon.js';

const STATE_NAMES: Record<NativeStateCode, TlsTunnelState> = {
  [NativeState.Handshaking]: 'handshaking',
  [NativeState.Established]: 'established',
  [NativeState.Failed]: 'failed',
  [NativeState.Closed]: 'closed',
};

/**
 * The OpenSSL engine: one SSL over two memory BIOs (native/tls_engine.c). Every call finishes
 * OpenSSL's work before it returns, so `feed` resolves without waiting for the event loop.
 */
export class OpensslTlsTunnel implements TlsTunnel {
  readonly engine = 'openssl' as const;
  private session: NativeSession | undefined;
  private _state: TlsTunnelState = 'handshaking';
  private _failure: Error | undefined;
  private facts: NativeSessionFacts | undefined;
  private identity: PeerCertificateIdentity | null | undefined;

  constructor(
    private readonly addon: TlsAddon,
    context: NativeContext,
    serverName?: string,
  ) {
    this.session = addon.newSession(context, serverName);
  }

  get state(): TlsTunnelState {
    return this._state;
  }

  get failure(): Error | undefined {
    return this._failure;
  }

  async start(): Promise<void> {
    this.track(this.addon.feed(this.live(), undefined));
  }

  async feed(records: Uint8Array): Promise<void> {
    if (this._state === 'failed' || this._state === 'closed') return;
    this.track(this.addon.feed(this.live(), records));
  }

  takeOutgoing(): Uint8Array {
    return this.session ? this.addon.takeOutgoing(this.session) : new Uint8Array(0);
  }

  takeApplicationData(): Uint8Array {
    return this.session ? this.addon.takeApplicationData(this.session) : new Uint8Array(0);
  }

  async writeApplicationData(data: Uint8Array): Promise<void> {
    if (this._state !== 'established') throw new Error(`cannot write application data in state ${this._state}`);
    this.track(this.addon.write(this.live(), data));
  }

  get protocol(): string | null {
    return this.established()?.protocol ?? null;
  }

  get cipher(): tls.CipherNameAndProtocol | undefined {
    const f = this.established();
    if (!f?.cipherName) return undefined;
    return { name: f.cipherName, standardName: f.cipherStandardName ?? f.cipherName, version: f.cipherVersion ?? f.protocol };
  }

  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    return this.addon.exportKeyingMaterial(this.live(), length, label, context);
  }

  getFinished(): Uint8Array | undefined {
    return this.addon.getFinished(this.live());
  }

  getPeerFinished(): Uint8Array | undefined {
    return this.addon.getPeerFinished(this.live());
  }

  /**
   * The subject and serial come from OpenSSL directly; the X509Certificate object (about a tenth of
   * the server's CPU per EAP-TLS authentication) is built only when someone reads `certificate`, or
   * when the subject has no usable CN and the subjectAltName must decide (certificate-identity.ts).
   */
  peerIdentity(): PeerCertificateIdentity | undefined {
    if (this.identity !== undefined) return this.identity ?? undefined;
    const session = this.session;
    if (!session) return undefined;
    const flat = this.addon.peerSubject(session);
    if (!flat) {
      // Remembered only once the handshake is over: before that the certificate may still come.
      if (this._state === 'established') this.identity = null;
      return undefined;
    }
    const addon = this.addon;
    // A plain Uint8Array, as grants carry it.
    const der = addon.peerCertificate(session)!;
    let x509: X509Certificate | undefined;
    const certificate = (): X509Certificate => (x509 ??= new X509Certificate(der));
    const subject = subjectFields(flat);
    // A usable CN outranks every subjectAltName, so the SAN text is needed only without one.
    const byCn = certificateIdentity(subject, undefined);
    // subjectAltName is Node's own text form, the same as node:tls's legacy `subjectaltname`.
    const named = byCn.identity !== undefined && byCn.source === 'subject CN' ? byCn : certificateIdentity(subject, certificate().subjectAltName);
    const serial = addon.peerSerial(session) ?? certificate().serialNumber;
    this.identity = {
      ...named,
      deviceId: `serial:${serial}`,
      der,
      get certificate(): X509Certificate {
        return certificate();
      },
    };
    return this.identity;
  }

  get authorized(): boolean {
    return this.session !== undefined && this._state === 'established' && this.addon.verifyError(this.session) === undefined;
  }

  get authorizationError(): string | undefined {
    return this.session ? this.addon.verifyError(this.session) : undefined;
  }

  isSessionReused(): boolean {
    return this.established()?.reused ?? false;
  }

  peerCertificateChain(): X509Certificate[] {
    return this.session ? this.addon.peerChain(this.session).map((der) => new X509Certificate(der)) : [];
  }

  ownCertificate(): Uint8Array | undefined {
    return this.session ? this.addon.ownCertificate(this.session) : undefined;
  }

  dispose(): void {
    if (this._state === 'handshaking' || this._state === 'established') this._state = 'closed';
    if (this.session) this.addon.free(this.session);
    this.session = undefined;
  }

  private live(): NativeSession {
    if (!this.session) throw new Error('TLS tunnel already disposed');
    return this.session;
  }

  private established(): NativeSessionFacts | undefined {
    if (this.facts) return this.facts;
    if (this._state !== 'established' || !this.session) return undefined;
    this.facts = this.addon.session(this.session);
    return this.facts;
  }

  private track(code: NativeStateCode): void {
    const next = STATE_NAMES[code];
    if (next === this._state) return;
    this._state = next;
    if (next === 'failed' || next === 'closed') {
      const f = this.addon.failure(this.live());
      const reason = f.reason ?? (next === 'closed' ? 'connection closed' : 'TLS failed');
      this._failure = new Error(f.alert ? `${reason} [${f.alert}]` : reason);
    }
  }
}

/** The addon's flat [name, value, ...] list as node:tls's subject object: repeated names become arrays. */
function subjectFields(flat: string[] | undefined): SubjectFields | undefined {
  if (!flat) return undefined;
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i]!;
    const value = flat[i + 1]!;
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}
