/**
 * Caps on the TCP connections one HTTP(S) listener holds open: in all, and from one source address.
 * The listeners' timeouts close a slow client's connection after seconds, but nothing else bounds
 * how many a client opens meanwhile, and every one is a file descriptor of the process that the
 * database, the RADIUS sockets and the other listeners need too.
 *
 * The total is Node's `server.maxConnections` (Node closes a socket past it as it accepts it); the
 * per-address count is kept here. One is used by the portal, the BRSKI HTTPS registrar, the MASA
 * and the monitoring listener.
 */
import type { DropArgument, Server, Socket } from 'node:net';
import { unmapIpv4Address } from './ip-address.js';
import type { Log } from './log.js';
import { LogLimiter } from './log-limiter.js';

export interface ConnectionCaps {
  /** Connections open at once on the listener. */
  readonly total: number;
  /** Connections open at once from one source address (an IPv4-mapped IPv6 address counts as its IPv4 form). */
  readonly perAddress: number;
}

/**
 * The portal, the BRSKI registrar and the MASA: a browser opens about six connections to a site,
 * a pledge one, so 64 leaves room for about ten people behind one NAT address; 1024 of them are a
 * sixty-fourth of the descriptors the systemd unit allows (LimitNOFILE=65536).
 */
export const SERVICE_CONNECTION_CAPS: ConnectionCaps = Object.freeze({ total: 1024, perAddress: 64 });
/** The monitoring listener: a load balancer and a scraper, which ask, read and go. */
export const MONITORING_CONNECTION_CAPS: ConnectionCaps = Object.freeze({ total: 64, perAddress: 16 });

/** Which cap refused a connection: fixed words, for metrics. */
export const CONNECTION_LIMITS = ['address', 'total'] as const;
export type ConnectionLimit = (typeof CONNECTION_LIMITS)[number];

export interface ConnectionCapOptions {
  /** Names the listener in log lines (`portal`, `brski-https`, `masa`, `health`). */
  listener: string;
  caps: ConnectionCaps;
  log: Log;
  /** Told of every refused connection (a metric); the log hears of them within its budget. */
  onRefused?: (limit: ConnectionLimit) => void;
  now?: () => number;
}

/** One warning per listener and address (and one for the listener being full) in this window. */
const REPORT_WINDOW_MS = 60_000;


/** Applies both caps to `server`; call before it listens. */
export function capConnections(server: Server, opts: ConnectionCapOptions): void {
  const { listener, caps, log } = opts;
  for (const [name, value] of Object.entries(caps)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`connection cap ${name} must be a whole number of at least 1, not ${String(value)}`);
  }
  const reports = new LogLimiter(REPORT_WINDOW_MS, opts.now);
  const open = new Map<string, number>();

  server.maxConnections = caps.total;
  // Keyed by the listener alone: the address is not why the listener is full, and keying by it
  // would let a client with many addresses buy itself a log line with each.
  server.on('drop', (data?: DropArgument) => {
    opts.onRefused?.('total');
    const remote = data?.remoteAddress !== undefined ? { remote: unmapIpv4Address(data.remoteAddress) } : {};
    reports.warn(log, `${listener} total`, { listener, ...remote, limit: caps.total }, `${listener}: connection refused: the listener holds as many connections as it may`);
  });

  // Ahead of the listener's own handler (HTTP parser, TLS), which then finds the socket destroyed.
  server.prependListener('connection', (socket: Socket) => {
    // Undefined once the client has already reset the connection: nothing left to count.
    if (socket.remoteAddress === undefined) return;
    const address = unmapIpv4Address(socket.remoteAddress);
    const count = open.get(address) ?? 0;
    if (count >= caps.perAddress) {
      socket.destroy();
      opts.onRefused?.('address');
      reports.warn(log, `${listener} ${address}`, { listener, remote: address, limit: caps.perAddress }, `${listener}: connection refused: too many open from one address`);
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
