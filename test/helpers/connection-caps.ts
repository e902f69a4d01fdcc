/**
 * The connection caps of an HTTP(S) listener (src/util/connection-cap.ts) shown over real loopback
 * TCP, the same way for every listener. Linux routes all of 127.0.0.0/8 to lo, so a client socket
 * bound to 127.0.0.2 is another source address.
 *
 * Connections are held idle (connected, nothing sent); the one that should be refused asks for a
 * page, so that without a cap it would be answered, and with one it is closed before any answer.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { connect, type Socket } from 'node:net';

export interface CapTarget {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  /** A GET the listener answers without a client certificate or a session. */
  path: string;
  /** What it answers. */
  status: number;
}

/** What a GET got: an answer, or the connection closed under it (the error's code). */
export type Outcome = { status: number } | { refused: string };

/** A TCP connection that sends nothing. */
export class HeldConnection {
  private isClosed = false;
  private readonly whenClosed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('error', () => undefined);
    this.whenClosed = new Promise((resolve) => socket.on('close', () => {
      this.isClosed = true;
      resolve();
    }));
    socket.resume();
  }

  static open(target: CapTarget, from: string): Promise<HeldConnection> {
    const u = new URL(target.url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: u.hostname, port: Number(u.port), localAddress: from }, () => {
        socket.off('error', reject);
        resolve(new HeldConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Ends the connection and waits for the server to close its side: by then it has said what it
   * says about a client that left (a TLS listener logs a handshake that never came), so that
   * nothing is logged after the test.
   */
  close(): Promise<void> {
    this.socket.end();
    return this.whenClosed;
  }
}

export async function holdConnections(target: CapTarget, from: string, count: number): Promise<HeldConnection[]> {
  const held: HeldConnection[] = [];
  for (let i = 0; i < count; i++) held.push(await HeldConnection.open(target, from));
  return held;
}

/** One GET on a connection of its own from `from`. */
export function ask(target: CapTarget, from: string): Promise<Outcome> {
  const u = new URL(target.url);
  const options = { host: u.hostname, port: Number(u.port), path: target.path, localAddress: from, agent: false, rejectUnauthorized: false };
  return new Promise((resolve) => {
    const onAnswer = (res: http.IncomingMessage): void => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (err: Error & { code?: string }) => resolve({ refused: err.code ?? err.message }));
    };
    const req = u.protocol === 'https:' ? https.get(options, onAnswer) : http.get(options, onAnswer);
    req.on('error', (err: Error & { code?: string }) => resolve({ refused: err.code ?? err.message }));
  });
}

/**
 * GETs until one is answered: the server counts a place free when it has seen the connection
 * close, which may come a turn of its event loop after the client closed it.
 */
export async function askUntilAnswered(target: CapTarget, from: string, attempts = 50): Promise<Outcome> {
  let outcome = await ask(target, from);
  for (let i = 1; i < attempts && 'refused' in outcome; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    outcome = await ask(target, from);
  }
  return outcome;
}

/** What a refused GET looks like: the connection reset under it, never an answer (nor a refused connect). */
export const REFUSED = { refused: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) as unknown as string };

/**
 * `perAddress` idle connections from 127.0.0.1 fill its share: its next connection is closed
 * unanswered, while 127.0.0.2 is answered and the held ones stay open; closing one frees a place.
 */
export async function showPerAddressCap(target: CapTarget, perAddress: number): Promise<void> {
  const held = await holdConnections(target, '127.0.0.1', perAddress);
  try {
    expect(await ask(target, '127.0.0.1')).toEqual(REFUSED);
    expect(await ask(target, '127.0.0.1')).toEqual(REFUSED);
    expect(await ask(target, '127.0.0.2')).toEqual({ status: target.status });
    expect(held.filter((c) => c.closed)).toHaveLength(0);
    await held.pop()!.close();
    expect(await askUntilAnswered(target, '127.0.0.1')).toEqual({ status: target.status });
  } finally {
    await Promise.all(held.map((c) => c.close()));
  }
}

/**
 * A listener of `total` connections, `perAddress` of them from one address, filled from 127.0.0.1
 * and 127.0.0.2: a third address is refused too, and served once one of them closes.
 */
export async function showTotalCap(target: CapTarget, caps: { total: number; perAddress: number }): Promise<void> {
  if (caps.total <= caps.perAddress || caps.total > 2 * caps.perAddress) throw new Error('showTotalCap fills the listener from two addresses');
  const held = [
    ...(await holdConnections(target, '127.0.0.1', caps.perAddress)),
    ...(await holdConnections(target, '127.0.0.2', caps.total - caps.perAddress)),
  ];
  try {
    expect(await ask(target, '127.0.0.3')).toEqual(REFUSED);
    expect(await ask(target, '127.0.0.3')).toEqual(REFUSED);
    expect(held.filter((c) => c.closed)).toHaveLength(0);
    await held.pop()!.close();
    expect(await askUntilAnswered(target, '127.0.0.3')).toEqual({ status: target.status });
  } finally {
    await Promise.all(held.map((c) => c.close()));
  }
}
