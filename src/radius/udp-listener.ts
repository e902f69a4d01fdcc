import { createSocket, type Socket } from 'node:dgram';
import { isIP, isIPv6 } from 'node:net';
import { nativeAddonPart } from '../util/native-addon.js';

/** One bound UDP socket of a RADIUS port, whichever implementation reads it. */
export interface UdpListener {
  /** native: native/udp.c (recvmmsg, one sendto per reply); node: node:dgram. */
  readonly engine: UdpEngine;
  /** Errors (a full socket buffer, an unreachable network) are reported, never thrown: the reply is lost, as UDP allows. */
  send(bytes: Uint8Array, port: number, address: string, onError: (err: Error) => void): void;
  address(): { address: string; port: number };
  close(): Promise<void>;
}

export type UdpEngine = 'native' | 'node';
/**
 * The sender's address as the socket reports it (an IPv6 socket reports IPv4 senders as ::ffff:a.b.c.d).
 * `msg` is the handler's own: a Buffer of its own per datagram, never reused by the listener, so
 * the RADIUS server decodes it without a copy (`decodeOwnedPacket`).
 */
export type DatagramHandler = (msg: Buffer, address: string, port: number) => void;

interface UdpAddon {
  udpOpen(host: string, port: number, onDatagram: DatagramHandler, onError: (code: string, message: string) => void): NativeUdpHandle;
  udpSend(handle: NativeUdpHandle, bytes: Uint8Array, port: number, address: string): string | undefined;
  udpAddress(handle: NativeUdpHandle): [string, number, string];
  udpClose(handle: NativeUdpHandle): void;
}
declare const nativeUdpHandle: unique symbol;
type NativeUdpHandle = { readonly [nativeUdpHandle]: true };

const native = process.platform === 'linux' ? nativeAddonPart<UdpAddon>('GANGWAY_NATIVE_UDP', ['udpOpen', 'udpSend', 'udpAddress', 'udpClose']) : undefined;

/**
 * Which implementation the RADIUS listeners use in this process (the `gangway listening` log line
 * says). A listener on a host name rather than an IP address always uses node:dgram, which resolves it.
 */
export const udpEngine: UdpEngine = native ? 'native' : 'node';

class NativeUdpListener implements UdpListener {
  readonly engine = 'native';
  private handle: NativeUdpHandle | undefined;

  constructor(private readonly addon: UdpAddon, host: string, port: number, onMessage: DatagramHandler, onError: (err: Error) => void) {
    try {
      this.handle = addon.udpOpen(host, port, onMessage, (code, message) => onError(Object.assign(new Error(message), { code })));
    } catch (err) {
      // As node:dgram's bind errors: the start-up message names the address (src/cli/startup-error.ts).
      const code = (err as NodeJS.ErrnoException).code;
      throw Object.assign(new Error(`bind ${code ?? 'failed'} ${host}:${port}`), { code, syscall: 'bind', address: host, port });
    }
  }

  send(bytes: Uint8Array, port: number, address: string, onError: (err: Error) => void): void {
    if (!this.handle) return;
    const code = this.addon.udpSend(this.handle, bytes, port, address);
    if (code !== undefined) onError(Object.assign(new Error(`send ${code}`), { code }));
  }

  address(): { address: string; port: number } {
    if (!this.handle) throw new Error('UDP socket is closed');
    const [address, port] = this.addon.udpAddress(this.handle);
    return { address, port };
  }

  close(): Promise<void> {
    // The descriptor is closed before udpClose returns: nothing is delivered after it, the port is free.
    if (this.handle) this.addon.udpClose(this.handle);
    this.handle = undefined;
    return Promise.resolve();
  }
}

class NodeUdpListener implements UdpListener {
  readonly engine = 'node';
  private closed = false;
  constructor(private readonly socket: Socket) {}

  send(bytes: Uint8Array, port: number, address: string, onError: (err: Error) => void): void {
    // node:dgram throws on a closed socket; a reply finished after close is dropped, as the native listener does.
    if (this.closed) return;
    this.socket.send(bytes, port, address, (err) => {
      if (err) onError(err);
    });
  }

  address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * Binds one UDP socket for a RADIUS port (authentication or accounting). A bind failure rejects
 * with the socket already closed; after binding, socket errors go to `onError` so one bad send
 * cannot take the process down.
 */
export async function bindUdpListener(
  host: string,
  port: number,
  onMessage: DatagramHandler,
  onError: (err: Error) => void,
  engine: UdpEngine = udpEngine,
): Promise<UdpListener> {
  if (engine === 'native' && native && isIP(host) !== 0) return new NativeUdpListener(native, host, port, onMessage, onError);
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
      socket.on('message', (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port));
      resolve(new NodeUdpListener(socket));
    });
  });
}

export function closeUdpListeners(listeners: UdpListener[]): Promise<void> {
  return Promise.all(listeners.map((l) => l.close())).then(() => undefined);
}

