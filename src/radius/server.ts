import { performance } from 'node:perf_hooks';
import type { Log } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import { MIN_REPLY_ROOM, encodeAccessReply, replyRoom, type AccessReply } from './access-reply.js';
import { ClientTable, type RadiusClientConfig, type ResolvedClient } from './client-table.js';
import { AttributeType } from './dictionary.js';
import { RadiusProtocolError } from './errors.js';
import { checkMessageAuthenticator } from './message-authenticator.js';
import { RadiusCode, decodeOwnedPacket, getAttribute, hasAttribute, readPacketLength, type RadiusPacket } from './packet.js';
import { ReplyCache, replyCacheKey, requestFingerprint, type CacheTicket } from './reply-cache.js';
import { encodeResponse } from './response.js';
import { decodeUserPassword } from './user-password.js';
import { bindUdpListener, closeUdpListeners, type UdpListener } from './udp-listener.js';
import { unmapIpv4Address } from '../util/ip-address.js';
import { SheddingMonitor } from '../util/shedding.js';
import { NO_RADIUS_OBSERVER, type RadiusObserver } from './observer.js';

export type { AccessReply } from './access-reply.js';
export type { RadiusClientConfig } from './client-table.js';

export interface AccessRequestContext {
  packet: RadiusPacket;
  /** The request as received (one datagram's packet), for a handler that runs it in another thread. */
  bytes: Uint8Array;
  client: { name: string; address: string; port: number };
  /**
   * True when the request carried a Message-Authenticator that verified. The BlastRADIUS draft
   * advises echoing request data (User-Name...) into replies only when this holds.
   */
  messageAuthenticator: boolean;
  /** PAP password (RFC 2865 §5.2), decrypted with the client secret; undefined when absent. */
  userPassword(): Uint8Array | undefined;
  /** When the server gives up on this request (`handlerTimeoutMs`, as Date.now() time): work for it may be let go then. */
  deadline?: number;
}

/** Resolve null to drop the request silently (the NAS will retransmit or time out). */
export type AccessRequestHandler = (req: AccessRequestContext) => Promise<AccessReply | null>;

export interface RadiusServerOptions {
  clients: RadiusClientConfig[];
  handler: AccessRequestHandler;
  log: Log;
  /** How long replies stay replayable for retransmissions. Default 5000 (FreeRADIUS cleanup_delay). */
  replyCacheMs?: number;
  /** Reply cache entry cap. Default 10000. */
  replyCacheMaxEntries?: number;
  /** Requests inside the handler at once; beyond it new requests are dropped. Default 4096. */
  maxInFlight?: number;
  /** A handler still running after this is abandoned and its request dropped. Default 30000 (FreeRADIUS max_request_time). */
  handlerTimeoutMs?: number;
  /**
   * Where this server and the layers behind it note what they shed. While it says so, Status-Server
   * goes unanswered (RFC 5997 §3 lets a server ignore it) so that a proxy fails over. Default: one of
   * its own, fed by overload drops only.
   */
  shedding?: SheddingMonitor;
  /** Told of every request, answer and drop, for metrics. */
  observer?: RadiusObserver<DropReason>;
}

export const DROP_REASONS = [
  'unknown-client',
  'malformed',
  'missing-message-authenticator',
  'bad-message-authenticator',
  'proxy-state-without-message-authenticator',
  'proxy-state-overflow',
  'accounting-not-served',
  'unexpected-code',
  'duplicate-in-flight',
  'duplicate-mismatch',
  'overload',
  'status-while-shedding',
  'handler-drop',
  'handler-error',
  'handler-timeout',
  'reply-error',
  'internal-error',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface RadiusServerStats {
  received: number;
  accessRequests: number;
  statusServer: number;
  accepts: number;
  rejects: number;
  challenges: number;
  /** Retransmissions answered from the reply cache (the handler was not called). */
  duplicates: number;
  handlerErrors: number;
  inFlight: number;
  dropped: Record<DropReason, number>;
}

interface Origin {
  socketIndex: number;
  socket: UdpListener;
  /** Normalized for logs, the cache and the handler. */
  address: string;
  /** As the socket reported it; replies must go back to exactly this. */
  rawAddress: string;
  port: number;
  client: ResolvedClient;
  /** performance.now() when the datagram was handed to us. */
  receivedAt: number;
}

export class RadiusServer {
  private clients: ClientTable;
  private readonly handler: AccessRequestHandler;
  private readonly log: Log;
  private readonly cache: ReplyCache;
  private readonly maxInFlight: number;
  /** Requests without State (new conversations) stop earlier, keeping room for ongoing ones (RFC 5080 §2.2.3). */
  private readonly maxInFlightNew: number;
  private readonly handlerTimeoutMs: number;
  private readonly limiter = new LogLimiter(10_000);
  private readonly sockets: UdpListener[] = [];
  private closed = false;
  private readonly counters: RadiusServerStats;
  private readonly shedding: SheddingMonitor;
  private readonly observer: RadiusObserver<DropReason>;

  constructor(opts: RadiusServerOptions) {
    this.clients = new ClientTable(opts.clients);
    this.handler = opts.handler;
    this.log = opts.log.child({ module: 'radius' });
    this.cache = new ReplyCache({ ttlMs: opts.replyCacheMs ?? 5000, maxEntries: opts.replyCacheMaxEntries ?? 10000 });
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4096);
    this.maxInFlightNew = Math.max(1, this.maxInFlight - Math.floor(this.maxInFlight / 8));
    this.handlerTimeoutMs = opts.handlerTimeoutMs ?? 30_000;
    this.shedding = opts.shedding ?? new SheddingMonitor();
    this.observer = opts.observer ?? NO_RADIUS_OBSERVER;
    const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
    this.counters = { received: 0, accessRequests: 0, statusServer: 0, accepts: 0, rejects: 0, challenges: 0, duplicates: 0, handlerErrors: 0, inFlight: 0, dropped };
  }

  /** Replaces the client table (configuration reload); requests already in progress finish as they began. */
  setClients(clients: RadiusClientConfig[]): void {
    this.clients = new ClientTable(clients);
  }

  /** A snapshot; counters only grow (except inFlight). */
  get stats(): RadiusServerStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  /**
   * Binds one more UDP socket (call again for a second address family). Port 0 picks an
   * ephemeral port; the bound address is returned.
   */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    if (this.closed) throw new Error('RADIUS server is closed');
    const socketIndex = this.sockets.length;
    const socket: UdpListener = await bindUdpListener(
      host,
      port,
      (msg, address, port) => this.onDatagram(socketIndex, socket, msg, address, port),
      (err) => this.log.error({ err: err.message }, 'RADIUS socket error'),
    );
    this.sockets.push(socket);
    const bound = socket.address();
    this.log.info({ host: bound.address, port: bound.port, udp: socket.engine, clients: this.clients.size }, 'RADIUS server listening');
    return { host: bound.address, port: bound.port };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeUdpListeners(this.sockets);
    this.sockets.length = 0;
    this.cache.clear();
  }

  private drop(reason: DropReason, level: 'debug' | 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string): void {
    this.counters.dropped[reason]++;
    this.observer.dropped(reason);
    if (level === 'debug') {
      this.log.debug({ ...fields, reason }, msg);
      return;
    }
    const suppressed = this.limiter.admit(`${reason}|${String(fields.client ?? fields.address)}`);
    if (suppressed === undefined) return;
    this.log[level]({ ...fields, reason, ...(suppressed > 0 ? { suppressed } : {}) }, msg);
  }

  private onDatagram(socketIndex: number, socket: UdpListener, msg: Buffer, rawAddress: string, port: number): void {
    const receivedAt = performance.now();
    try {
      this.counters.received++;
      const address = unmapIpv4Address(rawAddress);
      const client = this.clients.lookup(address);
      if (!client) {
        this.drop('unknown-client', 'debug', { address, port }, 'datagram from unknown RADIUS client dropped');
        return;
      }
      const origin: Origin = { socketIndex, socket, address, rawAddress, port, client, receivedAt };
      let bytes: Uint8Array;
      let packet: RadiusPacket;
      try {
        bytes = msg.subarray(0, readPacketLength(msg));
        packet = decodeOwnedPacket(bytes);
      } catch (e) {
        if (!(e instanceof RadiusProtocolError)) throw e;
        this.drop('malformed', 'warn', this.fields(origin), `malformed RADIUS packet dropped: ${e.code}`);
        return;
      }
      this.observer.request(client.name, packet.code);
      switch (packet.code) {
        case RadiusCode.AccessRequest:
          this.onAccessRequest(origin, bytes, packet);
          return;
        case RadiusCode.StatusServer:
          this.onStatusServer(origin, bytes, packet);
          return;
        case RadiusCode.AccountingRequest:
          this.drop('accounting-not-served', 'info', this.fields(origin, packet), 'Accounting-Request on the authentication port dropped');
          return;
        default:
          this.drop('unexpected-code', 'debug', { ...this.fields(origin, packet), code: packet.code }, 'unexpected RADIUS code dropped');
      }
    } catch (e) {
      this.drop('internal-error', 'error', { address: rawAddress, err: e instanceof Error ? e.message : String(e) }, 'internal error handling RADIUS datagram');
    }
  }

  private fields(origin: Origin, packet?: RadiusPacket): Record<string, unknown> {
    const f: Record<string, unknown> = { client: origin.client.name, address: origin.address, port: origin.port };
    if (packet) f.id = packet.identifier;
    return f;
  }

  /**
   * RFC 5997: answered here, never by the handler; Message-Authenticator is mandatory. Answered only
   * while nothing is being shed: an answer tells a proxy that requests sent here get served.
   */
  private onStatusServer(origin: Origin, bytes: Uint8Array, packet: RadiusPacket): void {
    this.counters.statusServer++;
    const ma = checkMessageAuthenticator(bytes, origin.client.secret);
    if (ma !== 'valid') {
      const reason = ma === 'absent' ? 'missing-message-authenticator' : 'bad-message-authenticator';
      this.drop(reason, 'warn', this.fields(origin, packet), `Status-Server dropped: ${reason}`);
      return;
    }
    if (this.shedding.shedding) {
      this.drop('status-while-shedding', 'info', this.fields(origin, packet), 'Status-Server not answered: requests are being shed');
      return;
    }
    const reply = encodeResponse({
      code: RadiusCode.AccessAccept,
      identifier: packet.identifier,
      requestAuthenticator: packet.authenticator,
      attributes: [],
      secret: origin.client.secret,
    });
    this.observer.statusServerAnswered(origin.client.name);
    this.send(origin, reply);
  }

  private onAccessRequest(origin: Origin, bytes: Uint8Array, packet: RadiusPacket): void {
    this.counters.accessRequests++;
    const { client } = origin;
    const ma = checkMessageAuthenticator(bytes, client.secret);
    if (ma === 'invalid') {
      this.drop('bad-message-authenticator', 'warn', this.fields(origin, packet), 'Access-Request with bad Message-Authenticator dropped (wrong secret?)');
      return;
    }
    if (ma === 'absent') {
      if (client.requireMessageAuthenticator || hasAttribute(packet, AttributeType.EapMessage)) {
        this.drop('missing-message-authenticator', 'warn', this.fields(origin, packet), 'Access-Request without Message-Authenticator dropped');
        return;
      }
      if (client.limitProxyState && hasAttribute(packet, AttributeType.ProxyState)) {
        this.drop('proxy-state-without-message-authenticator', 'warn', this.fields(origin, packet), 'Access-Request with Proxy-State but no Message-Authenticator dropped (BlastRADIUS)');
        return;
      }
      if (!client.limitProxyState && this.limiter.admit(`legacy|${client.name}`) !== undefined) {
        this.log.warn(this.fields(origin, packet), 'client sends Access-Requests without Message-Authenticator and has no Proxy-State limit: vulnerable to BlastRADIUS');
      }
    }

    // Decided before the handler runs, so no conversation advances towards a reply that cannot be sent.
    const room = replyRoom(packet);
    if (room < MIN_REPLY_ROOM) {
      this.drop('proxy-state-overflow', 'warn', { ...this.fields(origin, packet), room }, 'Access-Request whose Proxy-States leave no room for a reply dropped');
      return;
    }

    // Only now may the packet touch the cache: a forged one must not purge a genuine entry.
    const key = replyCacheKey(origin.socketIndex, origin.address, origin.port, packet.identifier);
    const fingerprint = requestFingerprint(bytes);
    const hit = this.cache.lookup(key, packet.authenticator, fingerprint);
    switch (hit.kind) {
      case 'replay':
        this.counters.duplicates++;
        this.observer.replayed(client.name);
        this.log.debug(this.fields(origin, packet), 'retransmission answered from reply cache');
        this.send(origin, hit.reply);
        return;
      case 'in-flight':
        this.counters.duplicates++;
        this.drop('duplicate-in-flight', 'debug', this.fields(origin, packet), 'retransmission of a request still in progress dropped');
        return;
      case 'mismatch':
        this.drop('duplicate-mismatch', 'warn', this.fields(origin, packet), 'request reuses Identifier and Request Authenticator with different content; dropped');
        return;
      case 'new':
        break;
    }

    const limit = hasAttribute(packet, AttributeType.State) ? this.maxInFlight : this.maxInFlightNew;
    if (this.counters.inFlight >= limit) {
      this.shedding.note('radius-overload');
      this.drop('overload', 'warn', this.fields(origin, packet), 'too many requests in progress; dropped');
      return;
    }
    const ticket = this.cache.begin(key, packet.authenticator, fingerprint);
    this.counters.inFlight++;
    void this.process(origin, bytes, packet, ma === 'valid', ticket);
  }

  private async process(origin: Origin, bytes: Uint8Array, packet: RadiusPacket, messageAuthenticator: boolean, ticket: CacheTicket): Promise<void> {
    const { client } = origin;
    const ctx: AccessRequestContext = {
      packet,
      bytes,
      client: { name: client.name, address: origin.address, port: origin.port },
      messageAuthenticator,
      deadline: Date.now() + this.handlerTimeoutMs,
      userPassword: () => {
        const value = getAttribute(packet, AttributeType.UserPassword);
        return value === undefined ? undefined : decodeUserPassword(value, client.secret, packet.authenticator);
      },
    };
    let outcome: { reply: AccessReply | null } | { error: unknown } | 'timeout';
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.handlerTimeoutMs);
        timer.unref();
      });
      // Promise.resolve().then(): a handler that throws synchronously becomes a rejection too.
      const run = Promise.resolve()
        .then(() => this.handler(ctx))
        .then(
          (reply) => ({ reply }),
          (error: unknown) => ({ error }),
        );
      outcome = await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
      this.counters.inFlight--;
    }

    const fields = this.fields(origin, packet);
    if (outcome === 'timeout') {
      this.cache.abandon(ticket);
      this.drop('handler-timeout', 'warn', fields, `handler did not answer within ${this.handlerTimeoutMs} ms; request dropped`);
      return;
    }
    if ('error' in outcome) {
      this.counters.handlerErrors++;
      this.cache.abandon(ticket);
      const err = outcome.error;
      this.drop('handler-error', 'error', { ...fields, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'Access-Request handler failed; request dropped');
      return;
    }
    const reply = outcome.reply;
    if (reply === null || reply === undefined) {
      this.cache.abandon(ticket);
      this.drop('handler-drop', 'debug', fields, 'handler chose to drop the request');
      return;
    }
    let replyBytes: Uint8Array;
    try {
      replyBytes = encodeAccessReply(reply, packet, client.secret);
    } catch (e) {
      this.counters.handlerErrors++;
      this.cache.abandon(ticket);
      const detail = e instanceof RadiusProtocolError ? `${e.code}: ${e.message}` : String(e);
      this.drop('reply-error', 'error', { ...fields, err: detail }, 'handler reply cannot be encoded; request dropped');
      return;
    }
    this.cache.complete(ticket, replyBytes);
    if (reply.code === RadiusCode.AccessAccept) this.counters.accepts++;
    else if (reply.code === RadiusCode.AccessReject) this.counters.rejects++;
    else this.counters.challenges++;
    this.observer.answered(client.name, reply.code, performance.now() - origin.receivedAt);
    this.send(origin, replyBytes);
  }

  private send(origin: Origin, bytes: Uint8Array): void {
    if (this.closed) return;
    origin.socket.send(bytes, origin.port, origin.rawAddress, (err) => {
      this.log.warn({ ...this.fields(origin), err: err.message }, 'sending RADIUS reply failed');
    });
  }
}
