/** `HOST:PORT` or `[IPv6]:PORT` of a RADIUS server our peers talk to; undefined if malformed. */
export function parseServer(s: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  return Number.isInteger(port) && port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}
