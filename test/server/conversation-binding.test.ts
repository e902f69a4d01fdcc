/**
 * A stolen State over real UDP (issue 7, point 3). State and the EAP Identifier travel in clear,
 * so a second RADIUS client that sees the first one's traffic can replay the peer's final
 * acknowledgement before the real NAS does. Two clients with different secrets: the second one's
 * replay must get no Access-Accept and no MS-MPPE keys, and the real conversation must still
 * succeed with the peer's MSK. The same for another Calling-Station-Id on the same client.
 */
import { readFileSync } from 'node:fs';
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import { EapTlsPeer } from '../../src/peer/eap-tls/eap-tls-peer.js';
import type { NasIdentity } from '../../src/peer/nas-request.js';
import {
  AttributeType, MicrosoftAttributeType, RadiusCode, VendorId, getAttribute, getMppeKeys, getStringAttribute, getVendorAttributes, joinEapMessage,
  type RadiusPacket,
} from '../../src/radius/index.js';
import { UdpNas } from '../helpers/udp-nas.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';

const SECRET_1 = 'nas-one-secret-0123456789';
const SECRET_2 = 'nas-two-secret-9876543210';

const VICTIM: NasIdentity = { userName: 'demo-client', nasIdentifier: 'ap-1', callingStationId: '02-00-00-00-00-01' };

function expectRefused(reply: RadiusPacket, secret: string, authenticator: Uint8Array): void {
  expect(reply.code).toBe(RadiusCode.AccessReject);
  expect(getVendorAttributes(reply, VendorId.Microsoft, MicrosoftAttributeType.MsMppeSendKey)).toHaveLength(0);
  expect(getVendorAttributes(reply, VendorId.Microsoft, MicrosoftAttributeType.MsMppeRecvKey)).toHaveLength(0);
  expect(getMppeKeys(reply, secret, authenticator)).toEqual({});
  expect(decodeEap(joinEapMessage(reply)!).code).toBe(4);
}

describe('a conversation continues only from the RADIUS client and station that began it (over UDP)', () => {
  let g: TestGangway;
  let nas1: UdpNas;
  let nas2: UdpNas;
  beforeAll(async () => {
    g = await startTestGangway({
      configure: (doc) => {
        (doc.radius as { clients: unknown[] }).clients = [
          { name: 'nas-1', address: '127.0.0.1', secret: SECRET_1 },
          { name: 'nas-2', address: '127.0.0.2', secret: SECRET_2 },
        ];
      },
    });
    nas1 = await UdpNas.bind('127.0.0.1', SECRET_1, g.port);
    nas2 = await UdpNas.bind('127.0.0.2', SECRET_2, g.port);
  });
  afterAll(async () => {
    nas1.close();
    nas2.close();
    await g.close();
  });

  /**
   * Runs EAP-TLS from nas-1; `interfere` is called with the peer's final acknowledgement (the
   * Response that earns the Access-Accept) before nas-1 sends it.
   */
  async function conversation(version: 'TLSv1.2' | 'TLSv1.3', interfere: (eap: Uint8Array, state: Uint8Array) => Promise<void>): Promise<void> {
    const peer = new EapTlsPeer({
      cert: readFileSync(g.init.files.clientCert),
      key: readFileSync(g.init.files.clientKey),
      ca: readFileSync(g.init.files.caCert),
      servername: 'radius.test.example',
      minVersion: version,
      maxVersion: version,
    });
    try {
      let eap = encodeEap({ code: 2, identifier: 0, type: EapType.Identity, data: Buffer.from(VICTIM.userName) });
      let state: Uint8Array | undefined;
      let interfered = false;
      for (let round = 0; round < 30; round++) {
        // The peer's last Response is an empty acknowledgement sent once it holds the keys.
        const finalAck = peer.keys !== undefined && eap.length === 6 && eap[5] === 0;
        if (finalAck && !interfered) {
          await interfere(eap, state!);
          interfered = true;
        }
        const { reply, authenticator } = await nas1.send(VICTIM, eap, state);
        if (reply.code === RadiusCode.AccessAccept) {
          expect(interfered).toBe(true);
          expect(peer.protocol).toBe(version);
          const keys = getMppeKeys(reply, SECRET_1, authenticator);
          expect(Buffer.from(keys.recv!).equals(Buffer.from(peer.keys!.msk.subarray(0, 32)))).toBe(true);
          expect(Buffer.from(keys.send!).equals(Buffer.from(peer.keys!.msk.subarray(32, 64)))).toBe(true);
          expect(getStringAttribute(reply, AttributeType.UserName)).toBe('demo-client');
          return;
        }
        expect(reply.code).toBe(RadiusCode.AccessChallenge);
        state = getAttribute(reply, AttributeType.State);
        const req = decodeEap(joinEapMessage(reply)!);
        if (req.code !== 1 || req.type !== EapType.Tls) throw new Error('expected an EAP-TLS Request');
        eap = encodeEap({ code: 2, identifier: req.identifier, type: EapType.Tls, data: await peer.respond(req.data) });
      }
      throw new Error('conversation does not end');
    } finally {
      peer.dispose();
    }
  }

  const warnings = (fact: string): number =>
    // One warning per window and client; the rest of a burst at debug level (rate-limited like RADIUS's).
    g.log.lines.filter((l) => (l.level === 'warn' || l.level === 'debug') && (l.obj as { fact?: string }).fact === fact && l.msg?.includes('treated as unknown')).length;

  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: another client replays the final acknowledgement and State: refused; the real NAS gets the keys', async (version) => {
    const before = warnings('RADIUS client');
    await conversation(version, async (eap, state) => {
      // A spoofed MAC starting a conversation on the other client must not end the victim's either.
      const own = await nas2.send(VICTIM, encodeEap({ code: 2, identifier: 0, type: EapType.Identity, data: Buffer.from('mallory') }), undefined);
      expect(own.reply.code).toBe(RadiusCode.AccessChallenge);
      // The exact EAP-Message and State, signed with nas-2's own secret, twice (a retransmission too).
      for (let i = 0; i < 2; i++) {
        const { reply, authenticator } = await nas2.send(VICTIM, eap, state);
        expectRefused(reply, SECRET_2, authenticator);
      }
    });
    expect(warnings('RADIUS client')).toBe(before + 2);
  });

  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: the same client with another Calling-Station-Id: refused; the real conversation succeeds', async (version) => {
    const before = warnings('Calling-Station-Id');
    await conversation(version, async (eap, state) => {
      const { reply, authenticator } = await nas1.send({ ...VICTIM, callingStationId: '02-00-00-00-00-66' }, eap, state);
      expectRefused(reply, SECRET_1, authenticator);
    });
    expect(warnings('Calling-Station-Id')).toBe(before + 1);
    const rejects = g.log.lines.filter((l) => l.msg === 'Access-Reject' && String((l.obj as { reason?: string }).reason).includes('another Calling-Station-Id'));
    expect(rejects.length).toBeGreaterThan(0);
  });
});
