import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

/** A bare UDP endpoint standing in for a NAS or a server: send raw octets, read raw replies. */
export class UdpPeer {
  private readonly queue: Array<{ msg: Uint8Array; rinfo: RemoteInfo }> = [];
  private waiter: (() => void) | undefined;

  private constructor(readonly socket: Socket, readonly port: number) {
    socket.on('message', (msg, rinfo) => {
      this.queue.push({ msg: new Uint8Array(msg), rinfo });
      this.waiter?.();
    });
  }

  static async open(host = '127.0.0.1'): Promise<UdpPeer> {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    return new UdpPeer(socket, socket.address().port);
  }

  send(bytes: Uint8Array, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, port, host, (err) => (err ? reject(err) : resolve())));
  }

  /** Next datagram, or undefined when none arrives within timeoutMs. */
  async next(timeoutMs = 5000): Promise<{ msg: Uint8Array; rinfo: RemoteInfo } | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift();
  }

  async nextMessage(timeoutMs = 5000): Promise<Uint8Array | undefined> {
    return (await this.next(timeoutMs))?.msg;
  }

  get pending(): number {
    return this.queue.length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A promise with its resolver exposed, to hold a handler in flight. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
