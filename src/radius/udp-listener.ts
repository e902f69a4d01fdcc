import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

/**
 * Binds one UDP socket for a RADIUS port (authentication or accounting). A bind failure rejects
 * with the socket already closed; after binding, socket errors go to `onError` so one bad send
 * cannot take the process down.
 */
export function bindUdpListener(
  host: string,
  port: number,
  onMessage: (msg: Buffer, rinfo: RemoteInfo) => void,
  onError: (err: Error) => void,
): Promise<Socket> {
  const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    const onBindError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onBindError);
    socket.bind(port, host, () => {
      socket.off('error', onBindError);
      socket.on('error', onError);
      socket.on('message', onMessage);
      resolve(socket);
    });
  });
}

export function closeUdpListeners(sockets: Socket[]): Promise<void> {
  return Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
}

/** Dual-stack sockets report IPv4 senders as ::ffff:a.b.c.d; client tables and logs want a.b.c.d. */
export function unmapIpv4Address(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
