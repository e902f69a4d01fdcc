import type { ConnectionCaps } from '../util/connection-cap.js';
import { ConfigError } from './config-error.js';
import type { ConfigReader } from './reader.js';

/** The descriptors the systemd unit allows the whole process (LimitNOFILE): no listener may want more. */
export const MAX_CONNECTIONS = 65_536;

/**
 * The connection caps of an HTTP(S) listener (src/util/connection-cap.ts), from the section that
 * configures it:
 *
 *   maxConnections: 1024            # open at once on the listener
 *   maxConnectionsPerAddress: 64    # open at once from one source address; at most maxConnections
 *
 * A total set below the default share lowers the share with it, so that setting one key alone is
 * never an error. `defaults.perAddress` 'total': the share defaults to the total (a listener whose
 * clients all arrive through one reverse proxy).
 */
export function parseConnectionCaps(
  r: ConfigReader,
  defaults: ConnectionCaps | { total: number; perAddress: 'total' },
  keys: { total: string; perAddress: string } = { total: 'maxConnections', perAddress: 'maxConnectionsPerAddress' },
): ConnectionCaps {
  const total = r.integer(keys.total, defaults.total, 1, MAX_CONNECTIONS);
  const share = defaults.perAddress === 'total' ? total : Math.min(defaults.perAddress, total);
  const perAddress = r.integer(keys.perAddress, share, 1, MAX_CONNECTIONS);
  if (perAddress > total) throw new ConfigError(r.key(keys.perAddress), `must not be above ${keys.total} (${total})`);
  return { total, perAddress };
}
