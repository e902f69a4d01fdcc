/**
 * RFC 5080 duplicate detection on the whole server: every Access-Request of a full EAP-TLS
 * conversation is sent twice with identical bytes (what a NAS does when a reply is lost). Each
 * duplicate gets the byte-identical cached reply — including the final Access-Accept, whose
 * MS-MPPE salts would differ if it were re-encoded — and the method never sees the duplicate.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { decodeEap, encodeEap } from '../../src/eap-methods/eap-packet.js';
import { EapTlsPeer } from '../../src/peer/eap-tls/eap-tls-peer.js';
import {
  AttributeType, RadiusCode, buildAccessRequest, getAttribute, getMppeKeys, joinEapMessage, splitEapMessage, stringAttribute, verifyResponse,
  type RadiusAttribute,
} from '../../src/radius/index.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';

function exchange(sock: Socket, port: number, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply')), 3000);
    sock.once('message', (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    sock.send(bytes, port, '127.0.0.1');
  });
}

describe('retransmitted Access-Requests through a whole EAP-TLS conversation', () => {
  let g: TestGangway;
  let sock: Socket;
  beforeAll(async () => {
    g = await startTestGangway();
    sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    sock.close();
    await g.close();
  });

  test('every duplicate gets the identical reply; the conversation still succeeds with the right keys', async () => {
    const peer = new EapTlsPeer({
      cert: readFileSync(g.init.files.clientCert),
      key: readFileSync(g.init.files.clientKey),
      ca: readFileSync(g.init.files.caCert),
      servername: 'radius.test.example',
    });
    let eap = encodeEap({ code: 2, identifier: 0, type: 1, data: Buffer.from('demo-client') });
    let state: Uint8Array | undefined;
    let radiusId = 0;
    let rounds = 0;
    for (;;) {
      const attributes: RadiusAttribute[] = [stringAttribute(AttributeType.UserName, 'demo-client'), ...splitEapMessage(eap)];
      if (state) attributes.push({ type: AttributeType.State, value: state });
      const request = buildAccessRequest({ identifier: radiusId++ & 0xff, attributes, secret: g.secret });
      const first = await exchange(sock, g.port, request.bytes);
      const second = await exchange(sock, g.port, request.bytes);
      expect(second.equals(first)).toBe(true);
      const reply = verifyResponse(new Uint8Array(first), request.authenticator, g.secret);
      rounds++;
      if (reply.code === RadiusCode.AccessAccept) {
        const keys = getMppeKeys(reply, g.secret, request.authenticator);
        expect(Buffer.from(keys.recv!).equals(Buffer.from(peer.keys!.msk.subarray(0, 32)))).toBe(true);
        expect(Buffer.from(keys.send!).equals(Buffer.from(peer.keys!.msk.subarray(32, 64)))).toBe(true);
        break;
      }
      expect(reply.code).toBe(RadiusCode.AccessChallenge);
      state = getAttribute(reply, AttributeType.State);
      const req = decodeEap(joinEapMessage(reply)!);
      if (req.code !== 1) throw new Error('expected an EAP-Request');
      const data = req.type === 13 ? await peer.respond(req.data) : new Uint8Array(0);
      eap = encodeEap({ code: 2, identifier: req.identifier, type: 13, data });
      if (rounds > 30) throw new Error('conversation does not end');
    }
    expect(rounds).toBeGreaterThan(3);
    peer.dispose();
  });
});
