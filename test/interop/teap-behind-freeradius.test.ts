/**
 * TEAP (inner EAP-MSCHAPv2) through the FreeRADIUS 3.2 proxy of deploy/freeradius/ to Gangway:
 * TEAP-capable eapol_test -> FreeRADIUS -> Gangway.
 */
import { join } from 'node:path';
import { describeEapolFailure, hostapTools, runEapolTest } from '../helpers/eapol-test.js';
import { type FreeradiusProxy, freeradiusTools, startFreeradiusProxy } from '../helpers/freeradius-proxy.js';
import { SECRET, startTeapRadius, type TeapRadius } from '../teap-brski/radius-harness.js';
import { serverTlsEngines } from '../helpers/tls-engines.js';
import { useServerTlsEngine } from '../helpers/gangway.js';
import { ALICE_PASSWORD, WRONG_PASSWORD } from '../helpers/test-secrets.js';

const tools = hostapTools();
const fr = freeradiusTools();
const maybe = tools && fr ? describe : describe.skip;

maybe.each(serverTlsEngines())('TEAP to Gangway behind the FreeRADIUS proxy, %s TLS engine', (engine) => {
  beforeAll(() => useServerTlsEngine(engine));
  afterAll(() => useServerTlsEngine(undefined));
  let g: TeapRadius | undefined;
  let proxy: FreeradiusProxy | undefined;

  beforeAll(async () => {
    g = await startTeapRadius();
    proxy = await startFreeradiusProxy({ homeHost: '127.0.0.1', homePort: g.port, homeSecret: SECRET, clientSecret: 'nas-to-proxy-teap', tools: fr! });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await g?.close();
  });

  const network = (password: string) => (dir: string): string => `network={
  key_mgmt=WPA-EAP
  eap=TEAP
  identity="alice"
  anonymous_identity="anonymous@example.com"
  password="${password}"
  phase2="auth=MSCHAPV2"
  ca_cert="${join(g!.dir, 'ca.pem')}"
  domain_suffix_match="radius.test.example"
  pac_file="${join(dir, 'teap.pac')}"
}
`;

  test('inner EAP-MSCHAPv2 through the proxy: SUCCESS twice with MPPE keys OK', async () => {
    const r = await runEapolTest({ binary: tools!.eapolTest, config: network(ALICE_PASSWORD), port: proxy!.port, secret: proxy!.secret, reauths: 1, timeoutSec: 15 });
    if (!r.success) throw new Error(`${describeEapolFailure(r)}\n--- proxy log ---\n${proxy!.logTail()}`);
    expect(r.authSuccessCount).toBe(2);
    expect({ mppeOk: r.mppeOk, mppeMismatch: r.mppeMismatch }).toEqual({ mppeOk: 2, mppeMismatch: 0 });
  });

  test('a wrong password comes back through the proxy as Access-Reject', async () => {
    const r = await runEapolTest({ binary: tools!.eapolTest, config: network(WRONG_PASSWORD), port: proxy!.port, secret: proxy!.secret, timeoutSec: 15 });
    expect(r.success).toBe(false);
    expect(r.rejectCount).toBe(1);
  });
});
