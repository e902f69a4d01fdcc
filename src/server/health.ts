/**
 * `GET /healthz`: 200 while the server serves everything it is sent, 503 while it sheds load
 * (evicts or refuses conversations for want of room, or drops requests for overload). The same
 * signal gates Status-Server, so a load balancer and a RADIUS proxy pool see one truth.
 * Counts only: no identity, address or key ever appears here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionTableStats } from '../eap-methods/session-table.js';
import type { Log } from '../util/log.js';
import type { SheddingMonitor, SheddingSnapshot } from '../util/shedding.js';

export interface HealthSources {
  shedding: SheddingMonitor;
  conversations: () => SessionTableStats;
}

export interface HealthReport {
  status: 'serving' | 'shedding';
  shedding: SheddingSnapshot;
  conversations: SessionTableStats;
}

export interface RunningHealthEndpoint {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export function healthReport(sources: HealthSources): HealthReport {
  const shedding = sources.shedding.snapshot();
  return { status: shedding.shedding ? 'shedding' : 'serving', shedding, conversations: sources.conversations() };
}

export async function startHealthEndpoint(listen: { host: string; port: number }, sources: HealthSources, log: Log): Promise<RunningHealthEndpoint> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const report = healthReport(sources);
    res.writeHead(report.status === 'serving' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify(report)}\n`);
  });
  // A monitor asks, reads and goes: nothing here needs a slow client kept around.
  server.requestTimeout = 5000;
  server.headersTimeout = 5000;
  server.keepAliveTimeout = 1000;
  server.maxHeadersCount = 50;
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
  log.info(address, 'health endpoint listening (GET /healthz)');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
