/**
 * The monitoring listener (config `health.listen`), plain HTTP for a load balancer and a scraper:
 *
 * `GET /healthz`: 200 while the server serves everything it is sent and its store answers; 503
 * while it sheds load (evicts or refuses conversations for want of room, or drops requests for
 * overload) or its store fails. The shedding signal also gates Status-Server, so a load balancer
 * and a RADIUS proxy pool see one truth about load.
 *
 * `GET /metrics`: the Prometheus text format (server/metrics.ts).
 *
 * Counts and configured names only: no identity, address or key ever appears here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionTableStats } from '../eap-methods/session-table.js';
import { EXPOSITION_CONTENT_TYPE } from '../metrics/registry.js';
import type { StoreLiveness } from '../store/liveness.js';
import { capConnections, MONITORING_CONNECTION_CAPS, type ConnectionCaps, type ConnectionLimit } from '../util/connection-cap.js';
import { describeStoreError } from './store-faults.js';
import type { Log } from '../util/log.js';
import type { SheddingMonitor, SheddingSnapshot } from '../util/shedding.js';

export interface HealthSources {
  shedding: SheddingMonitor;
  conversations: () => SessionTableStats;
  store: StoreLiveness;
  /** The exposition text of `GET /metrics`. */
  metrics: () => Promise<string>;
}

export interface HealthReport {
  /** The first that applies: a failing store, then shedding. */
  status: 'serving' | 'shedding' | 'store-failing';
  shedding: SheddingSnapshot;
  conversations: SessionTableStats;
  store: { ok: true } | { ok: false; error: string };
}

/** How many connections the listener holds open (src/util/connection-cap.ts), and who hears of refusals. */
export interface HealthConnections {
  caps: ConnectionCaps;
  onRefused?: (limit: ConnectionLimit) => void;
}

export interface RunningHealthEndpoint {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function healthReport(sources: HealthSources): Promise<HealthReport> {
  const store = await sources.store.check().then(
    () => ({ ok: true }) as const,
    (err: unknown) => ({ ok: false, error: describeStoreError(err) }) as const,
  );
  const shedding = sources.shedding.snapshot();
  const status = !store.ok ? 'store-failing' : shedding.shedding ? 'shedding' : 'serving';
  return { status, shedding, conversations: sources.conversations(), store };
}


type Route = (sources: HealthSources) => Promise<{ status: number; type: string; body: string }>;

const ROUTES: Record<string, Route> = {
  '/healthz': async (sources) => {
    const report = await healthReport(sources);
    return { status: report.status === 'serving' ? 200 : 503, type: 'application/json', body: `${JSON.stringify(report)}\n` };
  },
  '/metrics': async (sources) => ({ status: 200, type: EXPOSITION_CONTENT_TYPE, body: await sources.metrics() }),
};

export async function startHealthEndpoint(
  listen: { host: string; port: number },
  sources: HealthSources,
  log: Log,
  connections: HealthConnections = { caps: MONITORING_CONNECTION_CAPS },
): Promise<RunningHealthEndpoint> {
  // A monitor asks, reads and goes: nothing here needs a slow client kept around. Node looks for
  // connections past these limits every 30 s by default, which would let one stay six times longer.
  const server = createServer({ requestTimeout: 5000, headersTimeout: 5000, keepAliveTimeout: 1000, connectionsCheckingInterval: 1000 }, (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    route(sources).then(
      ({ status, type, body }) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        log.error({ err, path }, 'monitoring endpoint failed to answer');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      },
    );
  });
  server.maxHeadersCount = 50;
  capConnections(server, { listener: 'health', log, ...connections });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err: err.message }, 'health endpoint error'));
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  log.info(address, 'monitoring endpoint listening (GET /healthz, GET /metrics)');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
