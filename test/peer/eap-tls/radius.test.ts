/** Our EAP-TLS peer through the generic RADIUS runner against a whole Gangway server on loopback. */
import { readFileSync } from 'node:fs';
import { EapTlsEapPeer } from '../../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../../../src/peer/radius-runner.js';
import { startTestGangway, type TestGangway } from '../../helpers/gangway.js';

describe('EapTlsEapPeer over RADIUS (runEapOverRadius) against Gangway', () => {
  let g: TestGangway;
  beforeAll(async () => {
    g = await startTestGangway();
  });
  afterAll(async () => {
    await g.close();
  });

  const peer = (version: 'TLSv1.2' | 'TLSv1.3', cert = g.init.files.clientCert): EapTlsEapPeer =>
    new EapTlsEapPeer({
      identity: 'demo-client',
      tls: { cert: readFileSync(cert), key: readFileSync(g.init.files.clientKey), ca: readFileSync(g.init.files.caCert), servername: 'radius.test.example', minVersion: version, maxVersion: version },
    });

  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: Access-Accept, MS-MPPE keys = MSK halves, EAP-Key-Name = Session-Id', async (version) => {
    const p = peer(version);
    const r = await runEapOverRadius(p, { host: '127.0.0.1', port: g.port, secret: g.secret, userName: 'demo-client', callingStationId: '02-00-00-00-00-01' });
    expect(r).toMatchObject({ outcome: 'accept', mppeMatches: true });
    if (r.peer?.kind !== 'success') throw new Error(`no success: ${r.reason}`);
    expect(r.peer.msk).toHaveLength(64);
    expect(Buffer.from(r.eapKeyName!).equals(Buffer.from(r.peer.sessionId))).toBe(true);
    expect(r.rounds).toBeGreaterThanOrEqual(3);
  });

  test('a server certificate the peer does not trust ends the conversation with a failure verdict', async () => {
    // The server's own certificate is no CA for itself: the peer refuses the server.
    const p = new EapTlsEapPeer({
      identity: 'demo-client',
      tls: { cert: readFileSync(g.init.files.clientCert), key: readFileSync(g.init.files.clientKey), ca: readFileSync(g.init.files.serverCert), servername: 'radius.test.example' },
    });
    const r = await runEapOverRadius(p, { host: '127.0.0.1', port: g.port, secret: g.secret, userName: 'demo-client' });
    expect(r.outcome).not.toBe('accept');
    expect(r.peer?.kind).toBe('failure');
  });
});
