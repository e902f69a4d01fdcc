/**
 * A MASA from a data directory: configuration, keys, HTTPS server. What `gangway masa` runs and
 * what tests start in-process.
 */
import { readFileSync } from 'node:fs';
import type { Log } from '../util/log.js';
import type { MasaConfig } from './config.js';
import { startMasaServer, type RunningMasaServer } from './http-server.js';
import { Masa } from './masa.js';

export interface RunningMasa extends RunningMasaServer {
  readonly masa: Masa;
}

export async function runMasa(config: MasaConfig, log: Log, now?: () => Date): Promise<RunningMasa> {
  const masa = await Masa.open(config, log, now);
  const server = await startMasaServer({
    host: config.listen.host,
    port: config.listen.port,
    cert: readFileSync(config.tls.certPath),
    key: readFileSync(config.tls.keyPath),
    masa,
    log,
    connections: config.connections,
  });
  return Object.assign(server, { masa });
}
