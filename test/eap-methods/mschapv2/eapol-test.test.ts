/**
 * Plain EAP-MSCHAPv2 (outside any tunnel) against Debian's eapol_test: its 32-octet MSK becomes two
 * 16-octet MS-MPPE keys, which the peer checks against its own MSK.
 */
import { describeEapolFailure, runEapolTest } from '../../helpers/eapol-test.js';
import { startTestGangway, type TestGangway } from '../../helpers/gangway.js';
import { requireTool } from '../../helpers/require-tool.js';
import { userWithPassword } from '../../teap-brski/helpers.js';

const eapolTest = requireTool('eapol_test');
const maybe = eapolTest ? describe : describe.skip;

const network = (password: string): string => `network={
  key_mgmt=WPA-EAP
  eap=MSCHAPV2
  identity="alice"
  password="${password}"
}
`;

maybe('EAP-MSCHAPv2 against eapol_test 2.10', () => {
  let g: TestGangway;
  beforeAll(async () => {
    g = await startTestGangway({ configure: (doc) => { doc.eap = { defaultMethods: ['eap-mschapv2'] }; } });
    await userWithPassword(g.running.stores.users, 'alice', 'password');
  });
  afterAll(async () => {
    await g.close();
  });

  test('right password: SUCCESS twice, 16-octet MPPE keys OK', async () => {
    const r = await runEapolTest({ binary: eapolTest!, config: network('password'), port: g.port, secret: g.secret, reauths: 1, timeoutSec: 10 });
    expect({ success: r.success, detail: r.success ? '' : describeEapolFailure(r) }).toEqual({ success: true, detail: '' });
    expect(r.mppeOk).toBe(2);
    expect(r.output).toContain('MS-MPPE-Recv-Key (crypt) - hexdump(len=16)');
  });

  test('wrong password: Failure Request with E=691, then Access-Reject', async () => {
    const r = await runEapolTest({ binary: eapolTest!, config: network('wrong'), port: g.port, secret: g.secret, timeoutSec: 10 });
    expect(r.success).toBe(false);
    expect(r.rejectCount).toBe(1);
    expect(r.output).toContain('E=691');
  });
});
