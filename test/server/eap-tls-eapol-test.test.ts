import { requireTool } from '../helpers/require-tool.js';
import { describeEapolFailure, runEapolTest } from '../helpers/eapol-test.js';
import { startTestGangway, type TestGangway, useServerTlsEngine } from '../helpers/gangway.js';
import { serverTlsEngines } from '../helpers/tls-engines.js';

const eapolTest = requireTool('eapol_test');
const maybe = eapolTest ? describe : describe.skip;

function tlsNetwork(g: TestGangway, phase1 = ''): string {
  return `network={
  key_mgmt=WPA-EAP
  eap=TLS
  identity="demo-client"
  ca_cert="${g.init.files.caCert}"
  client_cert="${g.init.files.clientCert}"
  private_key="${g.init.files.clientKey}"
  ${phase1 ? `phase1="${phase1}"` : ''}
}
`;
}

maybe.each(serverTlsEngines())('EAP-TLS against wpa_supplicant eapol_test (Debian 2.10), %s TLS engine', (engine) => {
  beforeAll(() => useServerTlsEngine(engine));
  afterAll(() => useServerTlsEngine(undefined));
  let g: TestGangway;
  beforeAll(async () => {
    g = await startTestGangway({ configure: (doc) => { doc.authorization = { vlan: 100, sessionTimeout: 3600 }; } });
  });
  afterAll(async () => {
    await g.close();
  });

  test.each([
    ['TLS 1.2', ''],
    ['TLS 1.3', 'tls_disable_tlsv1_3=0'],
  ])('%s: three authentications in a row, each SUCCESS with MPPE keys OK', async (name, phase1) => {
    const r = await runEapolTest({ binary: eapolTest!, config: tlsNetwork(g, phase1), port: g.port, secret: g.secret, reauths: 2, timeoutSec: 20 });
    expect({ success: r.success, detail: r.success ? '' : describeEapolFailure(r) }).toEqual({ success: true, detail: '' });
    expect(r.authSuccessCount).toBe(3);
    expect(r.mppeOk).toBe(3);
    expect(r.mppeMismatch).toBe(0);
    expect(r.output).toContain(name === 'TLS 1.3' ? 'Using TLS version TLSv1.3' : 'Using TLS version TLSv1.2');
    expect(r.output).toContain('Locally derived EAP Session-Id matches EAP-Key-Name from server');
    // The grant's authorization reaches the NAS: RFC 3580 VLAN attributes and Session-Timeout.
    expect(r.output).toContain('Attribute 64 (Tunnel-Type) length=6');
    expect(r.output).toContain('Attribute 65 (Tunnel-Medium-Type) length=6');
    expect(r.output).toContain('Attribute 81 (Tunnel-Private-Group-Id) length=6');
    expect(r.output).toContain('Attribute 27 (Session-Timeout) length=6');
    expect(r.output).toContain('Attribute 1 (User-Name) length=13');
    expect(g.log.lines.find((l) => l.msg === 'TLS engine')?.obj).toEqual({ engine });
  });

  test('a client certificate from an untrusted CA is rejected', async () => {
    const other = await startTestGangway();
    try {
      // The other server's client certificate chains to a CA this server does not trust.
      const config = tlsNetwork(g).replace(g.init.files.clientCert, other.init.files.clientCert).replace(g.init.files.clientKey, other.init.files.clientKey);
      const r = await runEapolTest({ binary: eapolTest!, config, port: g.port, secret: g.secret, timeoutSec: 10 });
      expect(r.success).toBe(false);
      expect(r.output).toContain('Access-Reject');
      expect(g.log.lines.some((l) => l.msg === 'Access-Reject')).toBe(true);
    } finally {
      await other.close();
    }
  });

  test('over IPv6: the server listens on [::1] and the ::1 client entry applies', async () => {
    const v6 = await startTestGangway({ configure: (doc) => { (doc.server as { listen: string[] }).listen = ['[::1]:0']; } });
    try {
      expect(v6.running.addresses[0]!.host).toBe('::1');
      const r = await runEapolTest({ binary: eapolTest!, config: tlsNetwork(v6), port: v6.port, secret: v6.secret, host: '::1', timeoutSec: 10 });
      expect({ success: r.success, detail: r.success ? '' : describeEapolFailure(r) }).toEqual({ success: true, detail: '' });
      expect(r.mppeOk).toBe(1);
    } finally {
      await v6.close();
    }
  });

  test('a wrong shared secret gets no answer at all', async () => {
    const r = await runEapolTest({ binary: eapolTest!, config: tlsNetwork(g), port: g.port, secret: 'not-the-secret', timeoutSec: 3 });
    expect(r.success).toBe(false);
    expect(r.output).not.toContain('Access-Challenge');
  });
});
