import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Log } from '../util/log.js';
import { RadiusClientError, RadiusProtocolError } from './errors.js';
import { parseIpAddress } from './ip.js';
import { RadiusCode, type RadiusAttribute, type RadiusPacket } from './packet.js';
import { buildAccessRequest, buildAccountingStyleRequest, buildStatusServer, verifyResponse, type BuiltRequest } from './request.js';
import type { RadiusSecret } from './secret.js';

export interface RadiusClientOptions {
  /** Server IP address (v4 or v6 literal). */
  host: string;
  port: number;
  secret: RadiusSecret;
  /** RFC 5080 §2.2.1 defaults: IRT 2 s, MRT 16 s, MRC 5, MRD 30 s. */
  initialTimeoutMs?: number;
  maxTimeoutMs?: number;
  maxRetransmissions?: number;
  maxDurationMs?: number;
  /** Refuse Access-* replies without Message-Authenticator. Default true. */
  requireMessageAuthenticator?: boolean;
  log?: Log;
  /**
   * Called before each retransmission. A server drops requests with a wrong secret without a
   * word, so this is the first sign of one; interactive tools tell the person at once.
   */
  onRetransmit?: (r: { identifier: number; elapsedMs: number }) => void;
}

export interface RadiusRequest {
  /** Default Access-Request. Accounting-Request, CoA-Request, Disconnect-Request also work. */
  code?: number;
  attributes: RadiusAttribute[];
  /** Access-Request only: hidden with the Request Authenticator (PAP). */
  userPassword?: string | Uint8Array;
  /** CoA/Disconnect/Accounting only: add a Message-Authenticator. Default false. */
  messageAuthenticator?: boolean;
}

export interface RadiusResponse {
  packet: RadiusPacket;
  /** What the reply was verified against; needed to decrypt MS-MPPE keys. */
  requestAuthenticator: Uint8Array;
}

interface Pending {
  identifier: number;
  built: BuiltRequest;
  requireMa: boolean;
  startedAt: number;
  timeoutMs: number;
  retransmissionsLeft: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (r: RadiusResponse) => void;
  reject: (e: Error) => void;
}

const IDENTIFIERS = 256;

/**
 * A small UDP RADIUS client for our own peers and the load generator: one socket, at most 256
 * outstanding requests (the Identifier space), retransmission of identical bytes with doubling
 * timeouts, bounded in count and total time.
 */
export class RadiusClient {
  private readonly opts: Required<Omit<RadiusClientOptions, 'log' | 'onRetransmit'>>;
  private readonly onRetransmit: RadiusClientOptions['onRetransmit'];
  private readonly log: Log | undefined;
  private readonly serverAddress: Uint8Array;
  private socket: Promise<Socket> | undefined;
  private readonly pending = new Map<number, Pending>();
  /** Least recently used first (RFC 5080 §2.2.2), so a late reply rarely meets a reused Identifier. */
  private readonly freeIds: number[];
  private closed = false;

  constructor(options: RadiusClientOptions) {
    const address = parseIpAddress(options.host);
    if (!address) throw new Error(`RADIUS server host must be an IP address, got ${options.host}`);
    this.serverAddress = address;
    this.opts = {
      host: options.host,
      port: options.port,
      secret: options.secret,
      initialTimeoutMs: options.initialTimeoutMs ?? 2000,
      maxTimeoutMs: options.maxTimeoutMs ?? 16_000,
      maxRetransmissions: options.maxRetransmissions ?? 5,
      maxDurationMs: options.maxDurationMs ?? 30_000,
      requireMessageAuthenticator: options.requireMessageAuthenticator ?? true,
    };
    this.log = options.log;
    this.onRetransmit = options.onRetransmit;
    const start = Math.floor(Math.random() * IDENTIFIERS);
    this.freeIds = Array.from({ length: IDENTIFIERS }, (_, i) => (start + i) % IDENTIFIERS);
  }

  get outstanding(): number {
    return this.pending.size;
  }

  /** Sends a request and resolves with the first validly signed reply. */
  async send(request: RadiusRequest): Promise<RadiusResponse> {
    const code = request.code ?? RadiusCode.AccessRequest;
    return this.exchange(code, (identifier) => {
      if (code === RadiusCode.AccessRequest) {
        const spec: Parameters<typeof buildAccessRequest>[0] = { identifier, attributes: request.attributes, secret: this.opts.secret };
        if (request.userPassword !== undefined) spec.userPassword = request.userPassword;
        return buildAccessRequest(spec);
      }
      const spec: Parameters<typeof buildAccountingStyleRequest>[0] = { code, identifier, attributes: request.attributes, secret: this.opts.secret };
      if (request.messageAuthenticator !== undefined) spec.messageAuthenticator = request.messageAuthenticator;
      return buildAccountingStyleRequest(spec);
    });
  }

  /** RFC 5997 §4: Status-Server is never retransmitted; callers send a fresh one instead. */
  async statusServer(): Promise<RadiusResponse> {
    return this.exchange(RadiusCode.StatusServer, (identifier) => buildStatusServer({ identifier, secret: this.opts.secret }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.pending.values()]) this.finish(p, new RadiusClientError('closed', 'RADIUS client closed'));
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      const s = await socket.catch(() => undefined);
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  private openSocket(): Promise<Socket> {
    if (!this.socket) {
      const socket = createSocket({ type: isIPv6(this.opts.host) || this.serverAddress.length === 16 ? 'udp6' : 'udp4' });
      this.socket = new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, () => {
          socket.off('error', reject);
          socket.on('error', (err) => this.log?.warn({ err: err.message }, 'RADIUS client socket error'));
          socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
          resolve(socket);
        });
      });
    }
    return this.socket;
  }

  private async exchange(code: number, build: (identifier: number) => BuiltRequest): Promise<RadiusResponse> {
    if (this.closed) throw new RadiusClientError('closed', 'RADIUS client closed');
    const socket = await this.openSocket();
    const identifier = this.freeIds.shift();
    if (identifier === undefined) throw new RadiusClientError('busy', 'all 256 RADIUS Identifiers are in use');
    let built: BuiltRequest;
    try {
      built = build(identifier);
    } catch (e) {
      this.freeIds.push(identifier);
      throw e;
    }
    const isAccess = code === RadiusCode.AccessRequest || code === RadiusCode.StatusServer;
    return new Promise<RadiusResponse>((resolve, reject) => {
      const p: Pending = {
        identifier,
        built,
        requireMa: isAccess && this.opts.requireMessageAuthenticator,
        startedAt: Date.now(),
        timeoutMs: this.opts.initialTimeoutMs,
        retransmissionsLeft: code === RadiusCode.StatusServer ? 0 : this.opts.maxRetransmissions,
        timer: undefined,
        resolve,
        reject,
      };
      this.pending.set(identifier, p);
      this.transmit(socket, p);
    });
  }

  private transmit(socket: Socket, p: Pending): void {
    socket.send(p.built.bytes, this.opts.port, this.opts.host, (err) => {
      if (err) this.finish(p, new RadiusClientError('socket', `sending RADIUS request failed: ${err.message}`));
    });
    // ±10 % jitter so that many clients restarting together do not retransmit in lockstep.
    const wait = p.timeoutMs * (0.9 + Math.random() * 0.2);
    p.timer = setTimeout(() => this.onTimeout(socket, p), wait);
  }

  private onTimeout(socket: Socket, p: Pending): void {
    if (this.pending.get(p.identifier) !== p) return;
    const elapsed = Date.now() - p.startedAt;
    if (p.retransmissionsLeft <= 0 || elapsed >= this.opts.maxDurationMs) {
      this.finish(p, new RadiusClientError('timeout', `no valid reply to RADIUS request ${p.identifier} after ${elapsed} ms`));
      return;
    }
    p.retransmissionsLeft--;
    this.onRetransmit?.({ identifier: p.identifier, elapsedMs: elapsed });
    p.timeoutMs = Math.min(p.timeoutMs * 2, this.opts.maxTimeoutMs, Math.max(1, this.opts.maxDurationMs - elapsed));
    this.transmit(socket, p);
  }

  private finish(p: Pending, result: RadiusResponse | Error): void {
    if (this.pending.get(p.identifier) !== p) return;
    clearTimeout(p.timer);
    this.pending.delete(p.identifier);
    this.freeIds.push(p.identifier);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const from = parseIpAddress(rinfo.address);
    if (rinfo.port !== this.opts.port || !from || !Buffer.from(from).equals(this.serverAddress)) return;
    if (msg.length < 2) return;
    const p = this.pending.get(msg[1]!);
    if (!p) return;
    try {
      const packet = verifyResponse(msg, p.built.authenticator, this.opts.secret, { requireMessageAuthenticator: p.requireMa });
      this.finish(p, { packet, requestAuthenticator: p.built.authenticator });
    } catch (e) {
      // A forged or corrupted reply must not end the wait: the genuine one may still come.
      if (!(e instanceof RadiusProtocolError)) throw e;
      this.log?.debug({ id: p.identifier, reason: e.code }, 'invalid RADIUS reply ignored');
    }
  }
}
