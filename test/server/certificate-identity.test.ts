/**
 * Issue 7, point 5, through the whole server over UDP: the Access-Accept's User-Name is what the
 * client certificate names, never the request's User-Name (which the peer and the NAS choose). A
 * certificate with an empty subject and a SAN is valid and named by its SAN; one that names no one
 * is refused with the reason in the log.
 */
import { encodeEap, decodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import { readFileSync } from 'node:fs';
import { EapTlsPeer } from '../../src/peer/eap-tls/eap-tls-peer.js';
import type { NasIdentity } from '../../src/peer/nas-request.js';
import {
  AttributeType, RadiusCode, getAttribute, getAttributes, getMppeKeys, getStringAttribute, joinEapMessage, type RadiusPacket,
} from '../../src/radius/index.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { issueOddClientCert, type OddNames } from '../helpers/odd-certs.js';
import { UdpNas } from '../helpers/udp-nas.js';

/** What a supplicant (and a NAS that copies its EAP identity) would like to be called. */
const CLAIMED: NasIdentity = { userName: 'ceo@corp.example', nasIdentifier: 'ap-1', callingStationId: '02-00-00-00-00-07' };

describe('Access-Accept User-Name comes from the client certificate only (over UDP)', () => {
  let g: TestGangway;
  let nas: UdpNas;
  beforeAll(async () => {
    g = await startTestGangway();
    nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
  });
  afterAll(async () => {
    nas.close();
    await g.close();
  });

  async function authenticate(names: OddNames, version: 'TLSv1.2' | 'TLSv1.3'): Promise<{ reply: RadiusPacket; msk?: Uint8Array; mppe: { recv?: Uint8Array; send?: Uint8Array } }> {
    const cert = await issueOddClientCert(readFileSync(g.init.files.caCert, 'utf8'), readFileSync(g.init.files.caKey, 'utf8'), names);
    const peer = new EapTlsPeer({ cert: cert.certPem, key: cert.keyPem, ca: readFileSync(g.init.files.caCert), servername: 'radius.test.example', minVersion: version, maxVersion: version });
    try {
      let eap = encodeEap({ code: 2, identifier: 0, type: EapType.Identity, data: Buffer.from(CLAIMED.userName) });
      let state: Uint8Array | undefined;
      for (let round = 0; round < 30; round++) {
        const { reply, authenticator } = await nas.send(CLAIMED, eap, state);
        if (reply.code !== RadiusCode.AccessChallenge) {
          return { reply, ...(peer.keys ? { msk: peer.keys.msk } : {}), mppe: getMppeKeys(reply, g.secret, authenticator) };
        }
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

  const rejectLogged = (pattern: RegExp): boolean =>
    g.log.lines.some((l) => l.msg === 'Access-Reject' && pattern.test(String((l.obj as { reason?: string }).reason)));

  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: an empty subject with a SAN: Access-Accept with User-Name = the SAN name and the MSK', async (version) => {
    const { reply, msk, mppe } = await authenticate({ subject: '', san: [{ type: 'dns', value: 'sensor-1.devices.example' }, { type: 'email', value: 'sensor-1@devices.example' }] }, version);
    expect(reply.code).toBe(RadiusCode.AccessAccept);
    expect(getAttributes(reply, AttributeType.UserName).map((v) => Buffer.from(v).toString())).toEqual(['sensor-1@devices.example']);
    expect(Buffer.from(mppe.recv!).equals(Buffer.from(msk!.subarray(0, 32)))).toBe(true);
    expect(Buffer.from(mppe.send!).equals(Buffer.from(msk!.subarray(32, 64)))).toBe(true);
  });

  test('a certificate with CN= and a request User-Name "ceo@corp.example": Access-Reject, never that User-Name', async () => {
    const { reply, mppe } = await authenticate({ subject: 'CN=' }, 'TLSv1.3');
    expect(reply.code).toBe(RadiusCode.AccessReject);
    expect(getStringAttribute(reply, AttributeType.UserName)).toBeUndefined();
    expect(mppe).toEqual({});
    expect(decodeEap(joinEapMessage(reply)!).code).toBe(4);
    expect(rejectLogged(/^client certificate has no usable name: a subject with no usable value \(CN\) and no subjectAltName$/)).toBe(true);
  });

  test('a certificate with no names at all: Access-Reject with the reason logged, no exception', async () => {
    const { reply } = await authenticate({ subject: '' }, 'TLSv1.2');
    expect(reply.code).toBe(RadiusCode.AccessReject);
    expect(rejectLogged(/^client certificate has no usable name: an empty subject and no subjectAltName$/)).toBe(true);
    const refused = g.log.lines.filter((l) => l.msg === 'EAP-TLS: client certificate refused');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((l) => l.level === 'warn')).toBe(true);
    expect(g.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
