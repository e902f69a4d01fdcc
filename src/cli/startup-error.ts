import { join } from 'node:path';
import { CONFIG_FILE, type GangwayConfig } from '../config/config.js';
import { StoreOpenError } from '../store/open-stores.js';

interface SystemError extends Error {
  code?: string;
  address?: string;
  port?: number;
  syscall?: string;
}

/**
 * A start-up failure the operator can fix, as one plain line saying what to do; undefined for
 * failures that are not about the environment (those are bugs, logged with their stack).
 */
export function describeStartupError(err: unknown, config: GangwayConfig): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err instanceof StoreOpenError) return `${err.message} (${err.key} in ${join(config.dataDir, CONFIG_FILE)}; docs/scaling.md).`;
  const e = err as SystemError;
  const file = join(config.dataDir, CONFIG_FILE);
  const isPortal = config.portal !== undefined && e.port === config.portal.listen.port && e.port !== 0 && !config.listen.some((l) => l.port === e.port);
  const isAccounting = !isPortal && e.port !== 0 && config.accounting.listen.some((l) => l.port === e.port) && !config.listen.some((l) => l.port === e.port);
  const key = isPortal ? 'portal.listen' : isAccounting ? 'accounting.listen' : 'server.listen';
  const where = e.address !== undefined && e.port !== undefined ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}` : 'the configured address';
  const protocol = isPortal ? 'TCP' : 'UDP';
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where} (${protocol}): the address is already in use, by another Gangway (an earlier "npm start" still running?) or another RADIUS server such as freeradius. ` +
        `Stop it ("ss -lnp${protocol === 'UDP' ? 'u' : 't'} sport = :${e.port ?? ''}" shows the process), or choose another address with ${key} in ${file}${key === 'server.listen' ? ' or --listen HOST:PORT' : ''}.`;
    case 'EACCES':
      return `cannot listen on ${where} (${protocol}): permission denied. Ports below 1024 need root or the capability CAP_NET_BIND_SERVICE (deploy/systemd/gangway.service grants it); or use a port above 1023 in ${key} of ${file}.`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where} (${protocol}): no network interface of this machine has that address. Fix ${key} in ${file}.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${where}: the host name does not resolve. Use an IP address in ${key} of ${file}.`;
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
      return `cannot open the database ${sqlitePath(config)} (${e.code}): check that the directory and file exist and are writable by this user (store.sqlite in ${file}).`;
    case 'SQLITE_BUSY':
      return `the database ${sqlitePath(config)} is locked by another process: is another Gangway running from ${config.dataDir}?`;
    default:
      return undefined;
  }
}

function sqlitePath(config: GangwayConfig): string {
  return config.store.kind === 'sqlite' ? config.store.path : '(store.sqlite)';
}
