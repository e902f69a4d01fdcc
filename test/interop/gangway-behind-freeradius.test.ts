/**
 * Gangway as the home server of the FreeRADIUS proxy configured in deploy/freeradius/ (the setup
 * docs/freeradius.md describes): Debian's eapol_test -> FreeRADIUS 3.2 -> Gangway, EAP-TLS.
 * The harness itself is validated without Gangway in freeradius-proxy.test.ts.
 */
import { describeEapolFailure, runEapolTest } from '../helpers/eapol-test.js';
import { type FreeradiusProxy, freeradiusTools, startFreeradiusProxy } from '../helpers/freeradius-proxy.js';
import { startTestGangway, type TestGangway, useServerTlsEngine } from '../helpers/gangway.js';
import { requireTool } from '../helpers/require-tool.js';
import { serverTlsEngines } from '../helpers/tls-engines.js';

const eapolTest = requireTool('eapol_test');
const fr = freeradiusTools();
const describeInterop = eapolTest && fr ? describe : describe.skip;

describeInterop.each(serverTlsEngines())('Gangway behind the FreeRADIUS proxy, %s TLS engine', (engine) => {
  beforeAll(() => useServerTlsEngine(engine));
  afterAll(() => useServerTlsEngine(undefined));
  let g: TestGangway | undefined;
  let proxy: FreeradiusProxy | undefined;

  beforeAll(async () => {
    g = await startTestGangway();
    proxy = await startFreeradiusProxy({
      homeHost: '127.0.0.1',
      homePort: g.port,
      homeSecret: g.secret,
      clientSecret: 'nas-to-proxy-5d1e',
      tools: fr!,
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await g?.close();
  });

  test.each([
    ['TLS 1.2', ''],
    ['TLS 1.3', 'phase1="tls_disable_tlsv1_3=0"'],
  ])('EAP-TLS %s through the proxy: three authentications, SUCCESS, MS-MPPE keys usable with the NAS secret', async (version, phase1) => {
    const files = g!.init.files;
    const r = await runEapolTest({
      binary: eapolTest!,
      config: `network={
	key_mgmt=WPA-EAP
	eap=TLS
	identity="demo-client"
	ca_cert="${files.caCert}"
	client_cert="${files.clientCert}"
	private_key="${files.clientKey}"
	${phase1}
}
`,
      port: proxy!.port,
      secret: proxy!.secret,
      reauths: 2,
      timeoutSec: 15,
    });
    if (!r.success) throw new Error(`${describeEapolFailure(r)}\n--- proxy log ---\n${proxy!.logTail()}`);
    expect(r.authSuccessCount).toBe(3);
    expect({ mppeOk: r.mppeOk, mppeMismatch: r.mppeMismatch }).toEqual({ mppeOk: 3, mppeMismatch: 0 });
    expect(r.output).toContain(`Using TLS version TLSv1.${version === 'TLS 1.3' ? 3 : 2}`);
  });
});
