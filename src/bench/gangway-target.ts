/**
 * Gangway as the server under test: `node dist/cli/main.js serve --data DIR`, a separate process so
 * that its CPU time is its own, on a free loopback port, logging at warn, with its monitoring
 * listener on another free loopback port so that the bench can read its own request timing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { dirname, join } from 'node:path';
import { RadiusClient } from '../radius/client.js';
import { ChildServer } from './child-server.js';
import type { BenchFixture } from './fixture.js';
import type { ServerTarget } from './target.js';
import { freeTcpPort, freeUdpPort } from './udp-port.js';

/** A start includes its warm-up (server.warmup, at most 15 s of it: src/cli/warmup.ts). */
const START_TIMEOUT_MS = 45_000;
const ATTEMPTS = 3;

/**
 * Answers a Status-Server (RFC 5997): the server is listening and its EAP side is wired up.
 * FreeRADIUS 3.2 answers it without a Message-Authenticator (RFC 5997 only recommends one), so
 * that check can be relaxed for this probe; EAP replies are always checked.
 */
async function answersStatusServer(port: number, secret: string, requireMessageAuthenticator = true): Promise<boolean> {
  const client = new RadiusClient({ host: '127.0.0.1', port, secret, initialTimeoutMs: 300, maxRetransmissions: 0, maxDurationMs: 300, requireMessageAuthenticator });
  try {
    await client.statusServer();
    return true;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

function packageVersion(main: string): string {
  // dist/cli/main.js -> package.json two levels up.
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(main), '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
    return `gangway ${typeof pkg.version === 'string' ? pkg.version : '?'}`;
  } catch {
    return 'gangway';
  }
}

/** `health.listen` in the data directory's gangway.yaml (docs/configuration.md, `health`). */
function enableMonitoring(config: string, port: number): void {
  const doc = parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
  doc.health = { listen: `127.0.0.1:${port}` };
  writeFileSync(config, stringify(doc), { mode: 0o600 });
}

async function answersHttp(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(300) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/** Also used by other targets that answer Status-Server (FreeRADIUS). */
export { answersStatusServer };

/**
 * `nodeArgs` go before the script on node's command line (e.g. `--cpu-prof --cpu-prof-dir=DIR`,
 * whose profile is written when the server exits on the SIGTERM of `stop()`).
 */
export async function startGangwayTarget(main: string, fixture: BenchFixture, engine?: 'openssl' | 'node', nodeArgs: string[] = [], workers?: number): Promise<ServerTarget> {
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const port = await freeUdpPort();
    const metricsPort = await freeTcpPort();
    enableMonitoring(fixture.init.config, metricsPort);
    const child = new ChildServer('gangway serve', process.execPath, [...nodeArgs, main, 'serve', '--data', fixture.init.dataDir, '--listen', `127.0.0.1:${port}`, ...(workers !== undefined ? ['--workers', String(workers)] : [])], {
      ...process.env,
      GANGWAY_LOG_LEVEL: 'warn',
    });
    try {
      await child.waitReady(async () => (await answersStatusServer(port, fixture.secret)) && (await answersHttp(metricsPort)), START_TIMEOUT_MS);
    } catch (err) {
      await child.stop();
      lastError = err as Error;
      // Someone took the port between our probe and the server's bind: try another one.
      if (/EADDRINUSE/.test(child.tail())) continue;
      throw err;
    }
    return {
      kind: 'gangway',
      ...(engine ? { engine } : {}),
      host: '127.0.0.1',
      port,
      secret: fixture.secret,
      pid: child.pid,
      metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      version: `${packageVersion(main)}${workers !== undefined ? ` (--workers ${workers})` : ''}`,
      stop: () => child.stop(),
      tail: () => child.tail(),
    };
  }
  throw lastError ?? new Error('gangway did not start');
}
