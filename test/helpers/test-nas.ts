/**
 * A NAS's Dynamic Authorization Server (RFC 5176) for tests: a UDP listener that checks each
 * Disconnect-Request's authenticator and Message-Authenticator with the shared secret, keeps the
 * decoded request, and answers Disconnect-ACK (or NAK with an Error-Cause when told to).
 */
import { createSocket, type Socket } from 'node:dgram';
import { verifyAccountingAuthenticator } from '../../src/radius/authenticator.js';
import { integerAttribute } from '../../src/radius/attributes.js';
import { AttributeType } from '../../src/radius/dictionary.js';
import { checkMessageAuthenticator } from '../../src/radius/message-authenticator.js';
import { RadiusCode, decodePacket, type RadiusPacket } from '../../src/radius/packet.js';
import { encodeResponse } from '../../src/radius/response.js';

export interface ReceivedDisconnect {
  packet: RadiusPacket;
  messageAuthenticator: string;
}

export class TestDynamicAuthorizationServer {
  readonly received: ReceivedDisconnect[] = [];
  /** Undefined: ACK. A number: NAK with that Error-Cause. */
  nakWith: number | undefined;
  /** Called with each Disconnect-Request before it is answered (a test's hook for what happens meanwhile). */
  onRequest: ((packet: RadiusPacket) => void) | undefined;
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: Socket, readonly port: number, private readonly secret: string) {
    socket.on('message', (msg, rinfo) => {
      const bytes = new Uint8Array(msg);
      if (!verifyAccountingAuthenticator(bytes, secret)) return;
      const packet = decodePacket(bytes);
      if (packet.code !== RadiusCode.DisconnectRequest) return;
      const ma = checkMessageAuthenticator(bytes, secret, new Uint8Array(16));
      this.received.push({ packet, messageAuthenticator: String(ma) });
      this.onRequest?.(packet);
      const reply = encodeResponse({
        code: this.nakWith === undefined ? RadiusCode.DisconnectAck : RadiusCode.DisconnectNak,
        identifier: packet.identifier,
        requestAuthenticator: packet.authenticator,
        attributes: this.nakWith === undefined ? [] : [integerAttribute(AttributeType.ErrorCause, this.nakWith)],
        secret,
      });
      socket.send(reply, rinfo.port, rinfo.address);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(secret: string): Promise<TestDynamicAuthorizationServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new TestDynamicAuthorizationServer(socket, socket.address().port, secret);
  }

  /** Resolves once `count` requests have arrived, or rejects after timeoutMs. */
  async waitFor(count: number, timeoutMs = 5000): Promise<ReceivedDisconnect[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} Disconnect-Request(s), got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received.slice(0, count);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
