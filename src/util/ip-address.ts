/**
 * A peer's address as the RADIUS client table, the HTTP listeners' connection caps and the logs
 * name it: a dual-stack socket reports an IPv4 sender as `::ffff:a.b.c.d`, which is a.b.c.d.
 */
export function unmapIpv4Address(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}
