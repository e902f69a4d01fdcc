import { performance } from 'node:perf_hooks';
import type { Log } from '../util/log.js';
import { ClientTable, type RadiusClientConfig, type ResolvedClient } from './client-table.js';
import { AttributeType } from './dictionary.js';
import { RadiusProtocolError } from './errors.js';
import { LogLimiter } from '../util/log-limiter.js';
import { checkMessageAuthenticator } from './message-authenticator.js';
import { RadiusCode, decodePacket, readPacketLength, type RadiusPacket } from './packet.js';
import { ReplyCache, replyCacheKey, requestFingerprint, type CacheTicket } from './reply-cache.js';
import { verifyAccountingStyleRequest } from './request.js';
import { encodeResponse } from './response.js';
import { bindUdpListener, closeUdpListeners, type UdpListener } from './udp-listener.js';
import { unmapIpv4Address } from '../util/ip-address.js';
import { NO_RADIUS_OBSERVER, type RadiusObserver } from './observer.js';

export interface AccountingRequestContext {
  packet: RadiusPacket;
  client: { name: string; address: string; port: number };
}

/**
 * Records one Accounting-Request. Resolve true once it is recorded: only then is it answered
 * (RFC 2866 §2: a server that cannot record a request MUST NOT answer, so the NAS retries).
 */
export type AccountingHandler = (req: AccountingRequestContext) => Promise<boolean>;

export interface AccountingServerOptions {
  clients: RadiusClientConfig[];
  handler: AccountingHandler;
  log: Log;
  /** How long replies stay replayable for retransmissions. Default 5000. */
  replyCacheMs?: number;
  replyCacheMaxEntries?: number;
  /** Requests being recorded at once; more are dropped (the NAS retransmits). Default 4096. */
  maxInFlight?: number;
  /** Told of every request, answer and drop, for metrics. */
  observer?: RadiusObserver<AccountingDropReason>;
}

export const ACCOUNTING_DROP_REASONS = [
  'unknown-client',
  'malformed',
  'bad-authenticator',
  'bad-message-authenticator',
  'missing-message-authenticator',
  'unexpected-code',
  'duplicate-in-flight',
  'duplicate-mismatch',
  'overload',
  'not-recorded',
  'internal-error',
] as const;
export type AccountingDropReason = (typeof ACCOUNTING_DROP_REASONS)[number];

export interface AccountingServerStats {
  received: number;
  accountingRequests: number;
  statusServer: number;
  responses: number;
  duplicates: number;
  dropped: Record<AccountingDropReason, number>;
}

interface Origin {
  socketIndex: number;
  socket: UdpListener;
  address: string;
  rawAddress: string;
  port: number;
  client: ResolvedClient;
  /** performance.now() when the datagram was handed to us. */
  receivedAt: number;
}

/**
 * The accounting port (RFC 2866, usually 1813): Accounting-Requests are verified (Request
 * Authenticator, and Message-Authenticator when present), recorded by the handler, and answered
 * with Accounting-Response; retransmissions get the cached reply (RFC 5080 §2.2.2); Status-Server
 * gets an Accounting-Response (RFC 5997 §3). Everything else is dropped.
 */
export class AccountingServer {
  private clients: ClientTable;
  private readonly handler: AccountingHandler;
  private readonly log: Log;
  private readonly cache: ReplyCache;
  private readonly maxInFlight: number;
  private readonly limiter = new LogLimiter(10_000);
  private readonly sockets: UdpListener[] = [];
  private inFlight = 0;
  private closed = false;
  private readonly counters: AccountingServerStats;
  private readonly observer: RadiusObserver<AccountingDropReason>;

  constructor(opts: AccountingServerOptions) {
    this.clients = new ClientTable(opts.clients);
    this.handler = opts.handler;
    this.log = opts.log.child({ module: 'accounting' });
    this.cache = new ReplyCache({ ttlMs: opts.replyCacheMs ?? 5000, maxEntries: opts.replyCacheMaxEntries ?? 10000 });
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4096);
    this.observer = opts.observer ?? NO_RADIUS_OBSERVER;
    const dropped = Object.fromEntries(ACCOUNTING_DROP_REASONS.map((r) => [r, 0])) as Record<AccountingDropReason, number>;
    this.counters = { received: 0, accountingRequests: 0, statusServer: 0, responses: 0, duplicates: 0, dropped };
  }

  get stats(): AccountingServerStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  /** Replaces the client table (configuration reload); requests already being recorded finish as they began. */
  setClients(clients: RadiusClientConfig[]): void {
    this.clients = new ClientTable(clients);
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    if (this.closed) throw new Error('accounting server is closed');
    const socketIndex = this.sockets.length;
    const socket: UdpListener = await bindUdpListener(
      host,
      port,
      (msg, address, port) => this.onDatagram(socketIndex, socket, msg, address, port),
      (err) => this.log.error({ err: err.message }, 'accounting socket error'),
    );
    this.sockets.push(socket);
    const bound = socket.address();
    this.log.info({ host: bound.address, port: bound.port, udp: socket.engine }, 'RADIUS accounting listening');
    return { host: bound.address, port: bound.port };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeUdpListeners(this.sockets);
    this.sockets.length = 0;
    this.cache.clear();
  }

  private drop(reason: AccountingDropReason, level: 'debug' | 'warn' | 'error', fields: Record<string, unknown>, msg: string): void {
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

  private fields(origin: Origin, packet?: RadiusPacket): Record<string, unknown> {
    return { client: origin.client.name, address: origin.address, port: origin.port, ...(packet ? { id: packet.identifier } : {}) };
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
        packet = decodePacket(bytes);
      } catch (e) {
        if (!(e instanceof RadiusProtocolError)) throw e;
        this.drop('malformed', 'warn', this.fields(origin), `malformed RADIUS packet dropped: ${e.code}`);
        return;
      }
      this.observer.request(client.name, packet.code);
      if (packet.code === RadiusCode.AccountingRequest) this.onAccountingRequest(origin, bytes, packet);
      else if (packet.code === RadiusCode.StatusServer) this.onStatusServer(origin, bytes, packet);
      else this.drop('unexpected-code', 'debug', { ...this.fields(origin, packet), code: packet.code }, 'RADIUS code other than Accounting-Request or Status-Server on the accounting port dropped');
    } catch (e) {
      this.drop('internal-error', 'error', { address: rawAddress, err: e instanceof Error ? e.message : String(e) }, 'internal error handling accounting datagram');
    }
  }

  /** RFC 5997 §3: an Accounting-Response without attributes; Message-Authenticator mandatory in the query. */
  private onStatusServer(origin: Origin, bytes: Uint8Array, packet: RadiusPacket): void {
    this.counters.statusServer++;
    const ma = checkMessageAuthenticator(bytes, origin.client.secret);
    if (ma !== 'valid') {
      const reason = ma === 'absent' ? 'missing-message-authenticator' : 'bad-message-authenticator';
      this.drop(reason, 'warn', this.fields(origin, packet), `Status-Server dropped: ${reason}`);
      return;
    }
    this.observer.statusServerAnswered(origin.client.name);
    this.send(origin, encodeResponse({
      code: RadiusCode.AccountingResponse,
      identifier: packet.identifier,
      requestAuthenticator: packet.authenticator,
      attributes: [],
      secret: origin.client.secret,
      messageAuthenticator: false,
    }));
  }

  private onAccountingRequest(origin: Origin, bytes: Uint8Array, packet: RadiusPacket): void {
    this.counters.accountingRequests++;
    try {
      verifyAccountingStyleRequest(bytes, origin.client.secret);
    } catch (e) {
      if (!(e instanceof RadiusProtocolError)) throw e;
      const reason = e.code === 'bad-message-authenticator' ? 'bad-message-authenticator' : 'bad-authenticator';
      this.drop(reason, 'warn', this.fields(origin, packet), `Accounting-Request dropped: ${e.message} (wrong secret?)`);
      return;
    }
    // Verified first: a forged packet must not touch the cache.
    const key = replyCacheKey(origin.socketIndex, origin.address, origin.port, packet.identifier);
    const fingerprint = requestFingerprint(bytes);
    const hit = this.cache.lookup(key, packet.authenticator, fingerprint);
    if (hit.kind === 'replay') {
      this.counters.duplicates++;
      this.observer.replayed(origin.client.name);
      this.log.debug(this.fields(origin, packet), 'accounting retransmission answered from reply cache');
      this.send(origin, hit.reply);
      return;
    }
    if (hit.kind === 'in-flight') {
      this.counters.duplicates++;
      this.drop('duplicate-in-flight', 'debug', this.fields(origin, packet), 'retransmission of an Accounting-Request still being recorded dropped');
      return;
    }
    if (hit.kind === 'mismatch') {
      this.drop('duplicate-mismatch', 'warn', this.fields(origin, packet), 'Accounting-Request reuses Identifier and authenticator with different content; dropped');
      return;
    }
    if (this.inFlight >= this.maxInFlight) {
      this.drop('overload', 'warn', this.fields(origin, packet), 'too many Accounting-Requests being recorded; dropped');
      return;
    }
    const ticket = this.cache.begin(key, packet.authenticator, fingerprint);
    this.inFlight++;
    void this.record(origin, packet, ticket);
  }

  private async record(origin: Origin, packet: RadiusPacket, ticket: CacheTicket): Promise<void> {
    let recorded: boolean;
    try {
      recorded = await this.handler({ packet, client: { name: origin.client.name, address: origin.address, port: origin.port } });
    } catch (e) {
      recorded = false;
      this.log.error({ ...this.fields(origin, packet), err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'accounting handler failed');
    } finally {
      this.inFlight--;
    }
    if (!recorded) {
      this.cache.abandon(ticket);
      this.drop('not-recorded', 'debug', this.fields(origin, packet), 'Accounting-Request not recorded; no Accounting-Response (the NAS will retransmit)');
      return;
    }
    // Proxy-State is echoed in order (RFC 2865 §5.33); nothing else goes back.
    const reply = encodeResponse({
      code: RadiusCode.AccountingResponse,
      identifier: packet.identifier,
      requestAuthenticator: packet.authenticator,
      attributes: packet.attributes.filter((a) => a.type === AttributeType.ProxyState),
      secret: origin.client.secret,
      messageAuthenticator: false,
    });
    this.cache.complete(ticket, reply);
    this.counters.responses++;
    this.observer.answered(origin.client.name, RadiusCode.AccountingResponse, performance.now() - origin.receivedAt);
    this.send(origin, reply);
  }

  private send(origin: Origin, bytes: Uint8Array): void {
    if (this.closed) return;
    origin.socket.send(bytes, origin.port, origin.rawAddress, (err) => {
      this.log.warn({ ...this.fields(origin), err: err.message }, 'sending Accounting-Response failed');
    });
  }
}
