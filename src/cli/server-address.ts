import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** `HOST:PORT` or `[IPv6]:PORT` of a RADIUS server our peers talk to; undefined if malformed. */
export function parseServer(s: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  return Number.isInteger(port) && port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

/**
 * The server's address as an IP literal, which is what a RADIUS client needs: replies are matched
 * by source address. A host name is resolved once, IPv4 first (`gangway init` listens on
 * 127.0.0.1, while "localhost" often lists ::1 first).
 */
export async function resolveServer(server: { host: string; port: number }): Promise<{ host: string; port: number }> {
  if (isIP(server.host) !== 0) return server;
  let addresses;
  try {
    addresses = await lookup(server.host, { all: true, order: 'ipv4first' });
  } catch (err) {
    throw new Error(`cannot resolve the server name ${server.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const first = addresses[0];
  if (!first) throw new Error(`the server name ${server.host} has no address`);
  return { host: first.address, port: server.port };
}
