/**
 * Method negotiation with a real peer: the server proposes EAP-TLS first (its default), the
 * TEAP-configured wpa_supplicant answers with a Legacy Nak listing TEAP (RFC 3748 §5.3.1), and
 * the conversation continues with TEAP to SUCCESS.
 */
import { join } from 'node:path';
import { describeEapolFailure, hostapTools, runEapolTest } from '../helpers/eapol-test.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { userWithPassword } from '../teap-brski/helpers.js';
import { ALICE_PASSWORD } from '../helpers/test-secrets.js';

const tools = hostapTools();
const maybe = tools ? describe : describe.skip;

maybe('Legacy Nak from wpa_supplicant selects the next allowed method', () => {
  let g: TestGangway;
  beforeAll(async () => {
    g = await startTestGangway({ configure: (doc) => { doc.eap = { defaultMethods: ['eap-tls', 'teap'] }; } });
    await userWithPassword(g.running.stores.users, 'alice', ALICE_PASSWORD);
  });
  afterAll(async () => {
    await g.close();
  });

  test('EAP-TLS proposed, peer Naks to TEAP, inner MSCHAPv2 succeeds with MPPE keys OK', async () => {
    const r = await runEapolTest({
      binary: tools!.eapolTest,
      config: (dir) => `network={
  key_mgmt=WPA-EAP
  eap=TEAP
  identity="alice"
  anonymous_identity="anonymous@example.com"
  password="${ALICE_PASSWORD}"
  phase2="auth=MSCHAPV2"
  ca_cert="${g.init.files.caCert}"
  pac_file="${join(dir, 'teap.pac')}"
}
`,
      port: g.port,
      secret: g.secret,
      timeoutSec: 15,
    });
    expect({ success: r.success, detail: r.success ? '' : describeEapolFailure(r) }).toEqual({ success: true, detail: '' });
    expect(r.output).toContain('CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=13 -> NAK');
    expect(r.mppeOk).toBe(1);
  });

  test('a peer that offers nothing the policy allows gets Access-Reject', async () => {
    const r = await runEapolTest({
      binary: tools!.eapolTest,
      config: `network={
  key_mgmt=WPA-EAP
  eap=MD5
  identity="alice"
  password="${ALICE_PASSWORD}"
}
`,
      port: g.port,
      secret: g.secret,
      timeoutSec: 10,
    });
    expect(r.success).toBe(false);
    expect(r.rejectCount).toBe(1);
  });
});
