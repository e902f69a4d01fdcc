import { X509Certificate } from 'node:crypto';
import { createTeapMethod } from '../../../src/teap-brski/teap/method.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import { TeapPeer, type TeapPeerConfig } from '../../../src/peer/teap/teap-peer.js';
import { generateDemoPki, type DemoPki } from '../../../src/pki/demo-pki.js';
import { testPki } from '../../helpers/pki.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore, converse, methodContext, userWithPassword } from '../helpers.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';
import type { TlsEngineName } from '../../../src/eap-methods/tls-tunnel.js';

/** The server's TLS engine, set per engine by the describe.each blocks below. */
let engine: TlsEngineName = 'node';

/**
 * Review of issue 7 (e): where a Phase-1 certificate counts. A manufacturer whose IDevID CA we trust
 * for pledges is a third party; it chooses its certificates' names.
 */
let makerPki: Promise<DemoPki> | undefined;
/** A manufacturer whose IDevID happens to (or is made to) carry the CN of one of our accounts. */
const maker = (): Promise<DemoPki> => (makerPki ??= generateDemoPki('maker.test.example', 'alice'));

async function setup(tlsMax: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.2') {
  const pki = await testPki();
  const m = await maker();
  const users = new MemoryUserStore();
  await userWithPassword(users, 'alice', 'password');
  const method = createTeapMethod({
    tls: { engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxVersion: tlsMax },
    users,
    innerMethods: [createMschapV2Method({ users, serverName: 'gangway-test' })],
    policy: { sequence: [{ methods: ['eap-mschapv2'] }] },
    policies: {
      pledge: { clientCertificate: 'required', sequence: [{ identityType: 'machine', methods: ['client-certificate'] }] },
    },
    rules: [{ certificate: 'manufacturer:acme', policy: 'pledge' }],
    manufacturers: [{ name: 'acme', anchors: [new X509Certificate(m.ca.certPem)] }],
  });
  return { method };
}

async function peer(cfg: Partial<TeapPeerConfig>): Promise<TeapPeer> {
  const pki = await testPki();
  return new TeapPeer({ outerIdentity: 'anonymous@example.com', ...cfg, tls: { ca: pki.ca.certPem, servername: 'radius.test.example', ...cfg.tls } });
}

describe.each(serverTlsEngines())('review: Phase-1 certificates from a manufacturer, %s TLS engine', (e: TlsEngineName) => {
  beforeAll(() => {
    engine = e;
  });
  // FAILS at 915639d: the pledge is accepted with grant identity "alice" — the CN its manufacturer
  // wrote — indistinguishable (User-Name, grant.identity) from our own account alice. A trusted
  // manufacturer, or anyone who can get an IDevID with a chosen CN, names the authenticated identity.
  test('an IDevID whose CN equals one of our accounts is not accepted as that account', async () => {
    const m = await maker();
    const { method } = await setup();
    const c = await converse(method, await peer({ tls: { cert: m.client.certPem, key: m.client.keyPem } }), methodContext(new MemoryLog()));
    expect(c.server.kind).toBe('success'); // the pledge policy does admit the pledge...
    if (c.server.kind === 'success') expect(c.server.grant.identity).not.toBe('alice'); // ...but not as alice
  });

  // FAILS at 915639d: certificateOnlyTls13 is false (RFC 9427 §2.2.1: under TLS 1.3 a client
  // certificate must be followed by a Phase-2 authentication), yet a policy whose only step is
  // `client-certificate` is certificate-only in all but name and succeeds under TLS 1.3.
  test('under TLS 1.3 without certificateOnlyTls13, a client-certificate-only sequence does not authenticate alone', async () => {
    const m = await maker();
    const { method } = await setup('TLSv1.3');
    const log = new MemoryLog();
    const c = await converse(method, await peer({ tls: { cert: m.client.certPem, key: m.client.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } }), methodContext(log));
    expect(log.lines.some((l) => /TLSv1\.3/.test(JSON.stringify(l.obj)))).toBe(true);
    expect(c.server.kind).toBe('failure');
  });
});
