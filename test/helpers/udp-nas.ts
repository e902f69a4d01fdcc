/**
 * A NAS on its own loopback address and secret, for tests that need several RADIUS clients: one
 * Access-Request at a time, reply verified with this NAS's secret.
 */
import { createSocket, type Socket } from 'node:dgram';
import { nasAccessRequestAttributes, type NasIdentity } from '../../src/peer/nas-request.js';
import { buildAccessRequest, verifyResponse, type RadiusPacket } from '../../src/radius/index.js';

export class UdpNas {
  private id = 0;
  private constructor(private readonly sock: Socket, readonly secret: string, private readonly port: number) {}

  static async bind(address: string, secret: string, port: number): Promise<UdpNas> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, address, resolve));
    return new UdpNas(sock, secret, port);
  }

  /** One Access-Request to 127.0.0.1 and its verified reply (and the authenticator, for MPPE keys). */
  async send(nas: NasIdentity, eap: Uint8Array, state: Uint8Array | undefined): Promise<{ reply: RadiusPacket; authenticator: Uint8Array }> {
    const request = buildAccessRequest({ identifier: this.id++ & 0xff, attributes: nasAccessRequestAttributes(nas, eap, state), secret: this.secret });
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply')), 3000);
      this.sock.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      this.sock.send(request.bytes, this.port, '127.0.0.1');
    });
    return { reply: verifyResponse(new Uint8Array(bytes), request.authenticator, this.secret), authenticator: request.authenticator };
  }

  close(): void {
    this.sock.close();
  }
}
